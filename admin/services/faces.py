"""Faces & screens: the outputs and the faces' regions on them, read from a
form, checked with the one layout validation (kiosk.settings.check_layout),
said in the reader's language, drawn, and saved like any other setting.

The player reads the layout when it starts; after a save the admin offers to
restart it (SIGTERM to the pid it reports: systemd starts it again).
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from flask_babel import gettext as _

from kiosk.settings import Settings, SettingsError, check_layout
from kiosk.store import get_state

from admin.services import Actor, AdminError
from admin.services import config as config_service

MAX_OUTPUTS, MAX_FACES = 2, 4
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
    except (SettingsError, TypeError, KeyError) as e:
        raise AdminError(in_words(str(e)), field="layout") from None


# kiosk.settings.check_layout's messages (English, for the CLI and provisioning)
# said again in the reader's language; an unknown one is shown as it is.
_PATTERNS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"faces (\d+) and (\d+) overlap on output '(.+?)'"),
     lambda m: _("Faces %(a)s and %(b)s overlap on output %(o)s: give them the same region to show "
                 "one picture on both (mirrored), or regions that do not overlap.",
                 a=m[1], b=m[2], o=m[3])),
    (re.compile(r"face (\d+): region (\S+) does not fit inside output '(.+?)' \((\d+x\d+)"),
     lambda m: _("The region of face %(f)s (%(r)s) does not fit on output %(o)s (%(size)s).",
                 f=m[1], r=m[2], o=m[3], size=m[4])),
    (re.compile(r"face (\d+) relay_pin \(a BCM GPIO number\) must be"),
     lambda m: _("The relay pin of face %(f)s is a GPIO number (BCM) from 0 to 27.", f=m[1])),
    (re.compile(r"face (\d+) relay_pin"),
     lambda m: _("The relay pin of face %(f)s is a GPIO number (BCM) from 0 to 27.", f=m[1])),
    (re.compile(r"face (\d+) region (\w+) must be"),
     lambda m: _("The region of face %(f)s: %(what)s must be a whole number (pixels).", f=m[1], what=m[2])),
    (re.compile(r"output '(.*?)' (width|height) must be"),
     lambda m: _("Output %(o)s: the %(what)s must be a whole number of pixels (1-16384).", o=m[1],
                 what=_("width") if m[2] == "width" else _("height"))),
    (re.compile(r"face (\d+) names unknown output"),
     lambda m: _("Face %(f)s is on an output that does not exist: choose one of the outputs above.",
                 f=m[1])),
    (re.compile(r"face (\d+): name must be"),
     lambda m: _("Face %(f)s needs a name.", f=m[1])),
    (re.compile(r"output (\d+) needs a name"),
     lambda m: _("Output %(i)s needs a name.", i=m[1])),
    (re.compile(r"two outputs have the same (name|connector)"),
     lambda m: _("Two outputs have the same name or connector.")),
    (re.compile(r"a cluster has 1-4 faces"),
     lambda m: _("A cluster has one to four faces: tick at least one face.")),
    (re.compile(r"a controller drives 1-2 outputs"),
     lambda m: _("A controller drives one or two outputs.")),
    (re.compile(r"output '(.*?)': rotation"),
     lambda m: _("Output %(o)s: rotation is 0, 90, 180 or 270.", o=m[1])),
    (re.compile(r"output '(.*?)': connector"),
     lambda m: _("Output %(o)s: the connector is a name like HDMI-A-1.", o=m[1])),
]


def in_words(message: str) -> str:
    for pattern, say in _PATTERNS:
        m = pattern.search(message)
        if m:
            return say(m)
    return _("The layout is not valid: %(detail)s", detail=message)


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
