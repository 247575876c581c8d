"""Power pages' operations over kiosk.power.service: checks the input in the
user's language, then calls the service, and audits."""

from __future__ import annotations

from flask_babel import gettext as _

from kiosk.power import service as power
from kiosk.schedule import ScheduleError, parse_time
from kiosk.settings import faces as configured_faces
from kiosk.store import writing

from admin.services import Actor, AdminError, audit, check_face

# What the page offers; the API also takes any "1h30m"-style duration.
DURATIONS = ("boundary", "30m", "1h", "2h", "4h", "8h", "24h")


def face_ids(settings) -> list[int]:
    return [f["id"] for f in configured_faces(settings)]


def target_face(settings, face) -> int | None:
    """'all'/None -> None (every face); a configured face id -> int; else 400."""
    if face in (None, "", "all"):
        return None
    return check_face(settings, face)


def _duration(text):
    if text in (None, "", "boundary"):
        return None
    try:
        return power.parse_duration(str(text))
    except power.PowerError:
        raise AdminError(_("Not a duration like 30m, 2h or 1h30m: %(v)s", v=str(text)[:40]),
                         field="for") from None


def status(db, settings) -> dict:
    return power.power_status(db, settings)


def switch(db, settings, actor: Actor, face, state: str, duration=None, reason: str = "") -> dict:
    """state on|off: an override until `duration` (or the next boundary); auto: back to schedule."""
    fid = target_face(settings, face)
    reason = (reason or "").strip()[:200]
    if state not in ("on", "off", "auto"):
        raise AdminError(_("Choose on, off or automatic."), field="state")
    until = _duration(duration) if state != "auto" else None
    with writing(db):
        before = _face_snapshot(db, settings, fid)
        if state == "auto":
            power.clear_override(db, fid, actor.username)
        else:
            try:
                power.set_override(db, fid, state, until, actor.username, reason, settings=settings)
            except power.PowerError as e:
                raise AdminError(str(e)) from None
        after = _face_snapshot(db, settings, fid)
        audit.record(db, actor, "power." + state, "all" if fid is None else f"face {fid}",
                     before, {**after, "for": duration, "reason": reason})
    return after


def blank_on(db, actor: Actor, reason: str, power_off: bool = False, confirmed: bool = True) -> dict:
    reason = (reason or "").strip()
    if not reason:
        raise AdminError(_("Say why every face is blanked."), field="reason")
    if not confirmed:
        raise AdminError(_("Tick the confirmation box to blank every face."), field="confirm")
    with writing(db):
        before = dict(db["blank"].get(1))
        row = power.blank_on(db, actor.username, reason[:300], bool(power_off))
        audit.record(db, actor, "blank.on", "every face", before, dict(row))
    return dict(row)


def blank_off(db, actor: Actor) -> dict:
    with writing(db):
        before = dict(db["blank"].get(1))
        row = power.blank_off(db, actor.username)
        audit.record(db, actor, "blank.off", "every face", before, dict(row))
    return dict(row)


def set_windows(db, settings, actor: Actor, face, windows: list[dict]) -> list[dict]:
    fid = target_face(settings, face)
    if fid is None:
        raise AdminError(_("Choose one face for a power schedule."), field="face")
    clean = []
    for i, w in enumerate(windows, 1):
        try:
            parse_time(w.get("start", ""))
            parse_time(w.get("end", ""), allow_24=True)
        except ScheduleError:
            raise AdminError(_("Window %(i)d: a time must be HH:MM between 00:00 and 23:59 "
                               "(24:00 allowed as an end).", i=i), field="windows") from None
        days = w.get("weekdays", list(range(7)))
        if not isinstance(days, list) or not days or not all(
                isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise AdminError(_("Window %(i)d: choose at least one weekday.", i=i), field="windows")
        clean.append({"start": w["start"], "end": w["end"], "weekdays": sorted(set(days))})
    with writing(db):
        before = [w for w in status(db, settings)["faces"] if w["id"] == fid][0]["windows"]
        try:
            power.set_windows(db, fid, clean, actor.username, settings=settings)
        except power.PowerError as e:
            raise AdminError(str(e)) from None
        audit.record(db, actor, "power.windows", f"face {fid}", before, clean)
    return clean


def _face_snapshot(db, settings, fid):
    st = status(db, settings)
    if fid is None:
        return {"overrides": st["overrides"]}
    face = [f for f in st["faces"] if f["id"] == fid][0]
    return {k: face[k] for k in ("want", "source", "until", "override")}
