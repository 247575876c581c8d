"""Settings an admin may change in the browser, saved over the config file
in the core `setting` table (environment variables still win)."""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _

from kiosk.settings import SETTINGS_BY_NAME, Settings, SettingsError, _coerce, check_layout
from kiosk.store import iso, utcnow

from admin.services import Actor, AdminError, audit, writing

# In page order. Sync settings appear once the sync area defines them.
EDITABLE = ("gate_name", "gate_id", "timezone", "language", "faces", "outputs",
            "central_url", "sync_interval_s", "image_duration_s", "screenshot_interval_s")
_GATE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def editable(settings: Settings) -> list[dict]:
    out = []
    for name in EDITABLE:
        s = SETTINGS_BY_NAME.get(name)
        if s is None:
            continue
        value = settings[name]
        out.append({"name": name, "type": s.type, "help": s.help, "origin": settings.origins[name],
                    "value": json.dumps(value, ensure_ascii=False, indent=1) if s.type == "json" else value,
                    "locked": settings.origins[name] in ("environment", "override", "option")})
    return out


def save(db, settings: Settings, actor: Actor, values: dict) -> dict:
    """Check every submitted value, then save the changed ones together."""
    changes = {}
    for name, raw in values.items():
        s = SETTINGS_BY_NAME.get(name)
        if name not in EDITABLE or s is None:
            raise AdminError(_("%(name)s cannot be changed here.", name=str(name)[:40]), field=name)
        try:
            value = _coerce(s, raw)
        except SettingsError:
            raise AdminError(_("%(name)s: the value is not a valid %(type)s.", name=name, type=s.type),
                             field=name) from None
        if value != settings[name]:
            changes[name] = value
    _check(settings, changes)
    if not changes:
        return {}
    with writing(db):
        for name, value in changes.items():
            db["setting"].upsert({"name": name, "value": json.dumps(value, ensure_ascii=False),
                                  "updated_at": iso(utcnow()), "updated_by": actor.username}, pk="name")
        audit.record(db, actor, "settings.save", ", ".join(changes),
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
