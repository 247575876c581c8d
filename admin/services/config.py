"""Settings an admin may change in the browser, saved over the config file
in the core `setting` table (environment variables still win)."""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _

from kiosk.settings import SETTINGS_BY_NAME, Settings, SettingsError, _coerce, check_layout
from kiosk.store import iso, utcnow, writing

from admin.services import Actor, AdminError, audit

# In page order. Sync settings appear once the sync area defines them.
# Faces and outputs have their own page (Faces & screens); save() still takes them.
EDITABLE = ("gate_name", "gate_id", "timezone", "language",
            "central_url", "sync_interval_s", "image_duration_s", "screenshot_interval_s")
SAVABLE = EDITABLE + ("faces", "outputs")
_GATE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def labels() -> dict[str, tuple[str, str]]:
    """Each editable setting's label and help in the reader's language (the
    settings table's help is English, for the docs and the CLI)."""
    return {
        "gate_name": (_("Gate name"), _("Shown in the admin and in reports, e.g. Cửa khẩu Hữu Nghị.")),
        "gate_id": (_("Gate id"), _("This gate's identifier at the central authority: lower-case letters, "
                                    "digits and dashes, e.g. lang-son-huu-nghi.")),
        "timezone": (_("Time zone"), _("Schedules and power windows follow this zone's clock, e.g. "
                                       "Asia/Ho_Chi_Minh.")),
        "language": (_("Language"), _("The admin's language for users who have not chosen one.")),
        "faces": (_("Faces"), _("Edited on the Faces & screens page.")),
        "outputs": (_("Screen outputs"), _("Edited on the Faces & screens page.")),
        "central_url": (_("Central server address"), _("The province's central server, e.g. "
                                                       "https://cms.sotttt.example.vn. Empty: no sync.")),
        "sync_interval_s": (_("Sync every (seconds)"), _("How often the gate asks central for a new "
                                                         "release; urgent releases arrive sooner.")),
        "image_duration_s": (_("Image duration (seconds)"), _("How long an image or text slide stays "
                                                              "when its playlist does not say.")),
        "screenshot_interval_s": (_("Screenshot every (seconds)"), _("How often each face is "
                                                                     "photographed for the dashboard; 0: "
                                                                     "never.")),
    }


def editable(settings: Settings) -> list[dict]:
    out = []
    words = labels()
    for name in EDITABLE:
        s = SETTINGS_BY_NAME.get(name)
        if s is None:
            continue
        value = settings[name]
        if s.type == "float" and isinstance(value, float) and value.is_integer():
            value = int(value)  # "300", not "300.0": the float setting reads it back the same
        label, help_text = words.get(name, (name, s.help))
        out.append({"name": name, "type": s.type, "label": label, "help": help_text,
                    "origin": settings.origins[name],
                    "value": json.dumps(value, ensure_ascii=False, indent=1) if s.type == "json" else value,
                    "locked": settings.origins[name] in ("environment", "override", "option")})
    return out


def save(db, settings: Settings, actor: Actor, values: dict, action: str = "settings.save") -> dict:
    """Check every submitted value, then save the changed ones together."""
    changes = {}
    for name, raw in values.items():
        s = SETTINGS_BY_NAME.get(name)
        if name not in SAVABLE or s is None:
            raise AdminError(_("%(name)s cannot be changed here.", name=str(name)[:40]), field=name)
        try:
            value = _coerce(s, raw)
        except SettingsError:
            kinds = {"int": _("a whole number"), "float": _("a number"), "bool": _("yes or no"),
                     "json": _("JSON"), "str": _("text")}
            raise AdminError(_("%(name)s: this is not %(type)s.", name=labels().get(name, (name,))[0],
                               type=kinds.get(s.type, s.type)), field=name) from None
        if value != settings[name]:
            changes[name] = value
    _check(settings, changes)
    if not changes:
        return {}
    with writing(db):
        for name, value in changes.items():
            db["setting"].upsert({"name": name, "value": json.dumps(value, ensure_ascii=False),
                                  "updated_at": iso(utcnow()), "updated_by": actor.username}, pk="name")
        audit.record(db, actor, action, ", ".join(changes),
                     {n: settings[n] for n in changes}, changes)
    return changes


def _check(settings: Settings, changes: dict) -> None:
    if "timezone" in changes:
        try:
            ZoneInfo(str(changes["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise AdminError(_("Unknown time zone %(v)s (e.g. Asia/Ho_Chi_Minh).",
                               v=str(changes["timezone"])[:40]), field="timezone") from None
    if "language" in changes and changes["language"] not in ("vi", "en"):
        raise AdminError(_("The language is vi or en."), field="language")
    if "gate_id" in changes and not _GATE_ID_RE.match(str(changes["gate_id"])):
        raise AdminError(_("A gate id has lower-case letters, digits and dashes, e.g. lang-son-huu-nghi."),
                         field="gate_id")
    if "gate_name" in changes and not str(changes["gate_name"]).strip():
        raise AdminError(_("Give the gate a name."), field="gate_name")
    if "faces" in changes or "outputs" in changes:
        merged = Settings({**dict(settings), **changes}, dict(settings.origins))
        try:
            check_layout(merged)
        except (SettingsError, TypeError, KeyError, AttributeError) as e:
            raise AdminError(_("Faces and outputs are not valid: %(e)s", e=str(e)), field="faces") from None
