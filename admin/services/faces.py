"""Faces & screens: the outputs and the faces' regions on them, read from a
form, checked with the one layout validation (kiosk.settings.check_layout),
said in the reader's language, drawn, and saved like any other setting.

The player reads the layout when it starts; after a save the admin offers to
restart it (SIGTERM to the pid it reports: systemd starts it again), then
watches the player's own record (state 'player': pid, started_at) for a start
after the restart, and says whether it came back.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from flask_babel import gettext as _

from kiosk.settings import LayoutError, Settings, SettingsError, check_layout
from kiosk.store import get_state, iso, parse_iso, utcnow

from admin.events import N_
from admin.services import Actor, AdminError
from admin.services import config as config_service

MAX_OUTPUTS, MAX_FACES = 2, 4
# How long the page waits for the player's fresh start after a restart: systemd
# starts it again 2 s after it stops (RestartSec=2); a busy Pi takes up to ~15 s
# more to stop mpv and start again.
PLAYER_BACK_TIMEOUT_S = 60
ROTATIONS = (0, 90, 180, 270)


def form_rows(settings) -> tuple[list[dict], list[dict]]:
    """The saved layout as the form's rows (two output rows, four face rows)."""
    outputs = [dict(o, used=True) for o in settings["outputs"]][:MAX_OUTPUTS]
    while len(outputs) < MAX_OUTPUTS:
        outputs.append({"used": False, "name": "", "connector": "", "width": 1920, "height": 1080,
                        "rotation": 0})
    by_id = {f.get("id"): f for f in settings["faces"]}
    faces = []
    for fid in range(1, MAX_FACES + 1):
        f = by_id.get(fid)
        faces.append(dict(f, used=True) if f else {"id": fid, "used": False, "name": f"Mặt {fid}",
                                                     "output": outputs[0]["name"]})
    return outputs, faces


def read_form(form, settings) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(outputs, faces) as settings values, and the rows as typed (kept on a refusal).
    Numbers that are not numbers are kept as typed: the check names them."""
    saved_outputs = {o.get("name"): o for o in settings["outputs"]}
    out_rows, outputs = [], []
    for i in range(MAX_OUTPUTS):
        row = {"used": form.get(f"out_used_{i}") == "1" or i == 0,
               "name": form.get(f"out_name_{i}", "").strip(),
               "connector": form.get(f"out_connector_{i}", "").strip(),
               "width": _number(form.get(f"out_width_{i}", "")),
               "height": _number(form.get(f"out_height_{i}", "")),
               "rotation": _number(form.get(f"out_rotation_{i}", "0"))}
        out_rows.append(row)
        if row["used"]:
            # Keys the form does not show (refresh, mpv_args) stay as saved.
            extra = {k: v for k, v in saved_outputs.get(row["name"], {}).items()
                     if k not in ("name", "connector", "width", "height", "rotation")}
            value = {**extra, "name": row["name"], "width": row["width"], "height": row["height"]}
            if row["connector"]:
                value["connector"] = row["connector"]
            if row["rotation"]:
                value["rotation"] = row["rotation"]
            outputs.append(value)
    face_rows, faces = [], []
    for i in range(MAX_FACES):
        fid = i + 1
        region = {k: _number(form.get(f"face_{k}_{fid}", "")) for k in ("x", "y", "width", "height")}
        row = {"id": fid, "used": form.get(f"face_used_{fid}") == "1",
               "name": form.get(f"face_name_{fid}", "").strip(),
               "output": form.get(f"face_output_{fid}", ""),
               "region": region if any(v != "" for v in region.values()) else None,
               "relay_pin": _number(form.get(f"face_pin_{fid}", "")),
               "relay_active_high": form.get(f"face_high_{fid}") == "1"}
        face_rows.append(row)
        if row["used"]:
            value = {"id": fid, "name": row["name"], "output": row["output"]}
            if row["region"] is not None:
                value["region"] = row["region"]
            if row["relay_pin"] != "":
                value["relay_pin"] = row["relay_pin"]
                value["relay_active_high"] = row["relay_active_high"]
            faces.append(value)
    return outputs, faces, out_rows, face_rows


def _number(text):
    text = str(text).strip()
    if text == "":
        return ""
    try:
        return int(text)
    except ValueError:
        return text  # kept as typed; the check says it is not a number


def check(settings, outputs: list[dict], faces: list[dict]):
    """The layout these values make, or AdminError with the reason in words."""
    merged = Settings({**dict(settings), "outputs": outputs, "faces": faces}, dict(settings.origins))
    try:
        return check_layout(merged)
    except LayoutError as e:
        raise AdminError(in_words(e), field="layout") from None
    except (SettingsError, TypeError, KeyError) as e:
        raise AdminError(_("The layout is not valid: %(detail)s", detail=str(e)), field="layout") from None


# kiosk.settings.check_layout's refusals (LayoutError codes; str() is English,
# for the CLI and provisioning) in the reader's language. A test fails when
# check_layout raises a code that has no sentence here.
LAYOUT_ERRORS: dict[str, str] = {
    "display_unknown": N_("The display must be one of %(choices)s (not %(value)s)."),
    "outputs_count": N_("A controller drives one or two outputs."),
    "output_not_table": N_("Output %(output)s must have a name, connector, width and height."),
    "output_no_name": N_("Output %(output)s needs a name."),
    "output_unknown_keys": N_("Output %(output)s has settings the player does not know: %(keys)s "
                              "(known: %(known)s)."),
    "output_connector": N_("Output %(output)s: the connector is a name like HDMI-A-1."),
    "output_width": N_("Output %(output)s: the width must be a whole number of pixels from %(low)s "
                       "to %(high)s (not %(value)s)."),
    "output_height": N_("Output %(output)s: the height must be a whole number of pixels from %(low)s "
                        "to %(high)s (not %(value)s)."),
    "output_refresh": N_("Output %(output)s: the refresh rate is in Hz, e.g. 60 (not %(value)s)."),
    "output_rotation": N_("Output %(output)s: rotation is 0, 90, 180 or 270."),
    "output_mpv_args": N_("Output %(output)s: the extra mpv options must be a list of texts."),
    "outputs_same_name": N_("Two outputs have the same name (%(value)s)."),
    "outputs_same_connector": N_("Two outputs have the same connector (%(value)s)."),
    "faces_count": N_("A cluster has one to four faces: tick at least one face."),
    "face_not_table": N_("Each face must have a number, a name and an output."),
    "face_id": N_("Faces are numbered 1 to 4 (not %(value)s)."),
    "face_unknown_keys": N_("Face %(face)s has settings the player does not know: %(keys)s "
                            "(known: %(known)s)."),
    "face_unknown_output": N_("Face %(face)s is on output %(output)s, which does not exist: choose one "
                              "of the outputs above (%(outputs)s)."),
    "face_no_name": N_("Face %(face)s needs a name."),
    "face_relay_pin": N_("The relay pin of face %(face)s is a GPIO number (BCM) from 0 to 27 "
                         "(not %(value)s)."),
    "face_relay_polarity": N_("Face %(face)s: say whether the relay switches on at high or low level."),
    "face_region_shape": N_("The region of face %(face)s needs x, y, width and height, or none of them "
                            "for the whole output."),
    "face_region_x": N_("The region of face %(face)s: x must be a whole number of pixels, %(low)s or "
                        "more (not %(value)s)."),
    "face_region_y": N_("The region of face %(face)s: y must be a whole number of pixels, %(low)s or "
                        "more (not %(value)s)."),
    "face_region_width": N_("The region of face %(face)s: the width must be a whole number of pixels, "
                            "%(low)s or more (not %(value)s)."),
    "face_region_height": N_("The region of face %(face)s: the height must be a whole number of pixels, "
                             "%(low)s or more (not %(value)s)."),
    "face_region_outside": N_("The region of face %(face)s (%(region)s at %(x)s, %(y)s) does not fit on "
                              "output %(output)s (%(size)s)."),
    "face_ids_unique": N_("Each face number is used once (got %(ids)s)."),
    "faces_overlap": N_("Faces %(a)s and %(b)s overlap on output %(output)s: give them the same region "
                        "to show one picture on both (mirrored), or regions that do not overlap."),
}


def in_words(error: LayoutError) -> str:
    template = LAYOUT_ERRORS.get(error.code)
    params = {k: ("—" if v is None or v == "" else v) for k, v in error.params.items()}
    try:
        return _(template, **params) if template else _("The layout is not valid: %(detail)s",
                                                         detail=str(error))
    except (KeyError, ValueError, TypeError):
        return _("The layout is not valid: %(detail)s", detail=str(error))


def save(db, settings, actor: Actor, outputs: list[dict], faces: list[dict]) -> dict:
    check(settings, outputs, faces)
    return config_service.save(db, settings, actor, {"outputs": outputs, "faces": faces},
                               action="faces.save")


def drawing(layout) -> list[dict]:
    """Each output to scale with its pictures (regions) and their faces, for the page's SVG."""
    out = []
    for o in layout.outputs:
        w, h = o.size
        pictures = []
        for i, p in enumerate(q for q in layout.pictures if q.output.name == o.name):
            faces = [f for f in layout.faces if f["id"] in p.faces]
            pictures.append({"name": p.name, "x": p.region.x, "y": p.region.y, "width": p.region.width,
                             "height": p.region.height, "faces": faces, "mirrored": len(faces) > 1,
                             "colour": ("#0b5cad", "#1e7a34", "#a05a00", "#7b2cbf")[i % 4]})
        out.append({"name": o.name, "connector": o.connector, "width": w, "height": h,
                    "rotation": o.rotation, "pictures": pictures, "font": max(12, h // 14)})
    return out


def player_pid(db) -> int | None:
    """The running player's pid, when it is a gatecast player (checked in /proc)."""
    pid = (get_state(db, "player") or {}).get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [c.decode(errors="replace") for c in cmdline]
    if "player" in words and any(w.endswith("gatecast") for w in words):
        return pid
    return None


def restart_player(db) -> int:
    """Ask the player to stop cleanly; under systemd (Restart=always) it starts
    again at once and reads the new layout."""
    pid = player_pid(db)
    if pid is None:
        raise AdminError(_("The player is not running on this controller: start it (systemctl "
                           "start gatecast-player) and it reads the new layout."), 409)
    try:
        os.kill(pid, signal.SIGTERM)
    except PermissionError:
        raise AdminError(_("The admin may not stop the player (it runs as another user)."), 409) from None
    except ProcessLookupError:
        raise AdminError(_("The player stopped just now; it reads the new layout when it starts."),
                         409) from None
    return pid


def player_back(db, since: str) -> dict:
    """Whether a player started after `since` (ISO UTC, when the restart was
    asked) and runs now: {"state": "back" | "waiting" | "not_back", "started_at",
    "display_problem", "waited_s"}. "not_back" once PLAYER_BACK_TIMEOUT_S passed."""
    asked = parse_iso(since)
    player = get_state(db, "player") or {}
    started = player.get("started_at")
    waited = max(0.0, (utcnow() - asked).total_seconds())
    fresh = bool(started) and parse_iso(started) > asked and player.get("running") is True
    if fresh and player_pid(db) is not None:
        display = player.get("display") or {}
        return {"state": "back", "started_at": started, "waited_s": waited,
                "display_problem": None if display.get("ok", True) else (display.get("problem") or "")}
    state = "not_back" if waited >= PLAYER_BACK_TIMEOUT_S else "waiting"
    return {"state": state, "started_at": started, "waited_s": waited, "display_problem": None}


def restart_requested_at() -> str:
    return iso(utcnow())

