"""The alert rules: from what a gate last reported (its heartbeat in `gate_status`,
its screenshots, its proof of play) and what central published for it, the
conditions that hold on it now. central/alerts.py turns conditions into alerts.

Each condition says since when it holds, when the evidence tells (the last
heartbeat, the gate's own `failing_since`, a release's publication time), and how
long it must hold before anyone is told (`hold_s`); when the evidence does not tell,
the alert's first sighting at central is the start.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kiosk.store import parse_iso

from central.fleet import OFFLINE_AFTER_INTERVALS

# kind -> severity. Critical: nothing (or the wrong thing) is on the screens, or nobody
# can tell; warning: the gate needs care before it becomes critical.
KINDS: dict[str, str] = {
    "offline": "critical",
    "face_dark": "critical",
    "temperature": "warning",
    "under_voltage": "warning",
    "disk_low": "warning",
    "clock_unsynced": "warning",
    "sync_failing": "warning",
    "held_last_good": "warning",
    "release_not_taken": "warning",
}
SEVERITIES = ("warning", "critical")
# The gate's own reports: unknown while it is offline, so left as they are.
REPORTED_KINDS = frozenset(KINDS) - {"offline", "release_not_taken"}


@dataclass(frozen=True)
class Condition:
    kind: str
    face_id: int = 0  # 0: the whole gate
    detail: dict[str, Any] = field(default_factory=dict)
    since: datetime | None = None  # None: since central first saw it
    hold_s: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.face_id)

    @property
    def severity(self) -> str:
        return KINDS[self.kind]


@dataclass
class GateFacts:
    """What central knows of one gate, read once per evaluation."""

    gate: dict
    status: dict | None  # gate_status row
    heartbeat: dict  # its parsed body, or the part of it read here (heartbeat_view)
    # The oldest release version newer than what the screens play, and when it was
    # published: (version, published_at) or None.
    untaken_release: tuple[int, str] | None
    screenshots: dict[int, dict]  # face id -> screenshot row
    # face id -> distinct media the gate reported starting on that face since its
    # picture last changed (only asked for faces whose picture is old enough).
    media_since_picture: dict[int, int] = field(default_factory=dict)


_NOTHING: dict = {}


def _object(value) -> dict:
    return value if isinstance(value, dict) else _NOTHING


def heartbeat_view(body) -> dict:
    """The part of a heartbeat's parsed body the rules below read, so that an alert
    loop keeps 10,000 gates' small views, not their whole heartbeats, and can tell that
    a new heartbeat changed nothing the rules look at (central.alerts.FleetMemory).
    Intake stores it with each status (gate_status.alert_view), so it is small: a
    value that is missing, None or malformed (a part that is not an object) is left
    out, which the rules read the same (`.get()`); a face's playing_sha256 only as a
    truth value (`should_show` reads no more: a gate moving to its next item is no
    news). Written out, not generic: it runs for every heartbeat. Add here what a new
    rule reads; tests/central/test_central_alert_rules.py fails until you do."""
    body = _object(body)
    health, sync = _object(body.get("health")), _object(body.get("sync"))
    view: dict = {}
    part = _present(health, ("cpu_temp_c", "clock_synced"))
    if (voltage := _object(health.get("throttling")).get("under_voltage_now")) is not None:
        part["throttling"] = {"under_voltage_now": voltage}
    if (free := _object(health.get("disk")).get("free_mb")) is not None:
        part["disk"] = {"free_mb": free}
    if part:
        view["health"] = part
    part = _present(sync, ("status", "failing_since", "code", "reason"))
    if clock := _present(_object(sync.get("clock")), ("server_skew_s", "skew_suspect")):
        part["clock"] = clock
    if part:
        view["sync"] = part
    faces = body.get("faces")
    if isinstance(faces, list) and faces:
        view["faces"] = [{"face_id": f.get("face_id"), "power": f.get("power"),
                          "blanked": f.get("blanked"),
                          "playing_sha256": bool(f.get("playing_sha256"))}
                         for f in faces if isinstance(f, dict)]
    return view


def _present(part: dict, keys: tuple[str, ...]) -> dict:
    """`part`'s `keys` that hold a value (not None)."""
    return {k: v for k in keys if (v := part.get(k)) is not None}


def picture_facts(image) -> tuple[float, str]:
    """A screenshot's mean brightness (0-255) and the sha256 of its decoded picture,
    from a Pillow image. The hash is of the pixels, not the file: a gate that encodes
    the same picture twice sends two different files of one picture."""
    from PIL import ImageStat

    grey = image.convert("L")
    luma = ImageStat.Stat(grey).mean[0]
    return round(luma, 2), hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


def picture_facts_of(data: bytes) -> tuple[float, str]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return picture_facts(img)


def _health_conditions(health: dict, sync: dict, settings) -> list[Condition]:
    found = []
    temp = health.get("cpu_temp_c")
    if isinstance(temp, (int, float)) and temp > settings["central_alert_temp_c"]:
        found.append(Condition("temperature", detail={
            "temp_c": round(float(temp), 1), "limit_c": settings["central_alert_temp_c"]}))
    if (health.get("throttling") or {}).get("under_voltage_now"):
        found.append(Condition("under_voltage"))
    free = (health.get("disk") or {}).get("free_mb")
    if isinstance(free, (int, float)) and free < settings["central_alert_disk_free_mb"]:
        found.append(Condition("disk_low", detail={
            "free_mb": round(float(free)), "limit_mb": settings["central_alert_disk_free_mb"]}))
    clock = sync.get("clock") or {}
    skew = clock.get("server_skew_s")
    if health.get("clock_synced") is False or clock.get("skew_suspect"):
        found.append(Condition("clock_unsynced", detail={
            "skew_s": skew if isinstance(skew, (int, float)) else None}))
    return found


def _sync_conditions(facts: GateFacts, settings) -> list[Condition]:
    found = []
    sync = facts.heartbeat.get("sync") or {}
    hold = settings["central_alert_sync_failing_s"]
    if sync.get("status") == "failed":
        since = _instant(sync.get("failing_since"))
        found.append(Condition("sync_failing", since=since, hold_s=hold, detail={
            "code": sync.get("code"), "reason": (sync.get("reason") or "")[:300],
            "failing_since": sync.get("failing_since")}))
    status = facts.status or {}
    seen, good = status.get("release_version"), status.get("last_good_release_version")
    if isinstance(seen, int) and isinstance(good, int) and seen > good:
        found.append(Condition("held_last_good", hold_s=hold, detail={
            "offered_version": seen, "playing_version": good}))
    return found


def _release_condition(facts: GateFacts, settings) -> list[Condition]:
    if facts.untaken_release is None:
        return []
    version, published_at = facts.untaken_release
    playing = (facts.status or {}).get("last_good_release_version")
    return [Condition("release_not_taken", since=_instant(published_at),
                      hold_s=settings["central_alert_release_not_taken_s"],
                      detail={"version": version, "published_at": published_at,
                              "playing_version": playing})]


def should_show(face: dict) -> bool:
    """The gate says this face is powered, not blanked, and has something to show."""
    return face.get("power") != "off" and not face.get("blanked") and bool(
        face.get("playing_sha256"))


def frozen_candidates(facts: GateFacts, settings, now: datetime) -> list[int]:
    """Faces whose picture is old enough to ask proof of play whether it should have
    changed."""
    limit = timedelta(seconds=settings["central_alert_frozen_after_s"])
    faces = {f.get("face_id"): f for f in facts.heartbeat.get("faces") or []
             if isinstance(f, dict)}
    found = []
    for face_id, shot in facts.screenshots.items():
        changed = _instant(shot.get("picture_changed_at"))
        if changed is not None and now - changed >= limit and should_show(faces.get(face_id, {})):
            found.append(face_id)
    return found


def _face_conditions(facts: GateFacts, settings, now: datetime) -> list[Condition]:
    found = []
    faces = {f.get("face_id"): f for f in facts.heartbeat.get("faces") or []
             if isinstance(f, dict)}
    for face_id in facts.gate["faces"]:
        face, shot = faces.get(face_id), facts.screenshots.get(face_id)
        if face is None or shot is None or not should_show(face):
            continue
        luma = shot.get("luma")
        if isinstance(luma, (int, float)) and luma < settings["central_alert_dark_luma"]:
            found.append(Condition("face_dark", face_id, hold_s=settings["central_alert_dark_after_s"],
                                   detail={"cause": "black", "luma": luma,
                                           "taken_at": shot.get("taken_at")}))
        elif facts.media_since_picture.get(face_id, 0) >= 2:
            found.append(Condition("face_dark", face_id,
                                   since=_instant(shot.get("picture_changed_at")),
                                   hold_s=settings["central_alert_frozen_after_s"],
                                   detail={"cause": "frozen",
                                           "since": shot.get("picture_changed_at"),
                                           "media": facts.media_since_picture[face_id]}))
    return found


def conditions(facts: GateFacts, settings, now: datetime) -> tuple[list[Condition], frozenset]:
    """The conditions holding on a gate now, and the kinds whose state is unknown
    (left as they are: an offline gate's last temperature is no news)."""
    found = _release_condition(facts, settings)
    status = facts.status
    last = _instant(status["last_heartbeat_at"]) if status else None
    if last is None:
        # Registered but never heard from: nothing to compare with yet.
        return found, REPORTED_KINDS | {"offline"}
    limit = OFFLINE_AFTER_INTERVALS * settings["central_heartbeat_interval_s"]
    if (now - last).total_seconds() > limit:
        found.append(Condition("offline", since=last, hold_s=limit,
                               detail={"last_heartbeat_at": status["last_heartbeat_at"]}))
        return found, REPORTED_KINDS
    health = facts.heartbeat.get("health") or {}
    sync = facts.heartbeat.get("sync") or {}
    found += _health_conditions(health if isinstance(health, dict) else {},
                                sync if isinstance(sync, dict) else {}, settings)
    found += _sync_conditions(facts, settings)
    found += _face_conditions(facts, settings, now)
    return found, frozenset()


def _instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = parse_iso(value)
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        return None  # a gate's naive time says nothing about central's clock
    return when
