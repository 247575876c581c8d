"""Gates and groups of gates at the central server: registration, API tokens,
and the fleet overview (online/offline, release, latest screenshot).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, insert, select, update

from kiosk.store import iso, parse_iso, utcnow

from central import schema as t
from central.checks import CentralError, NotFound, check_id, check_name, int_list
from central.db import insert_or_update, row, rows, transaction
from central import fleetmap, gate_tokens
from central.users import audit, hash_token, new_token

# A gate is offline after this many heartbeat intervals without one.
OFFLINE_AFTER_INTERVALS = 2.5


def _faces(faces) -> list[int]:
    return int_list(faces, 1, 4, "a gate's faces", allow_empty=False)


def check_position(latitude, longitude) -> tuple[float | None, float | None]:
    """A gate's place on the map: both degrees (WGS 84) or neither."""
    if latitude is None and longitude is None:
        return None, None
    if latitude is None or longitude is None:
        raise CentralError(_("Give both latitude and longitude, or neither."))
    try:
        # A decimal comma is how Vietnamese write 21,9967.
        lat, lon = (float(v.strip().replace(",", ".")) if isinstance(v, str) else float(v)
                    for v in (latitude, longitude))
    except (TypeError, ValueError):
        raise CentralError(_("Latitude and longitude are numbers in degrees, like 21.9967 "
                             "and 106.7036.")) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also refuses NaN
        raise CentralError(_("Latitude is -90 to 90 and longitude -180 to 180 degrees, got "
                             "%(lat)s and %(lon)s.", lat=latitude, lon=longitude))
    region = fleetmap.region()
    if not region.contains(lon, lat):
        raise CentralError(_("%(lat)s° N, %(lon)s° E is outside the province's map (latitude "
                             "%(south)s to %(north)s° N, longitude %(west)s to %(east)s° E): "
                             "check the numbers, or pick the place on the map.",
                             lat=latitude, lon=longitude, south=region.south,
                             north=region.north, west=region.west, east=region.east))
    return lat, lon


def add_gate(db, gate_id: str, name: str, province: str = "", faces=(1,), by: str = "cli",
             *, latitude=None, longitude=None) -> str:
    """Register a gate; returns its API token, shown this once."""
    check_id(gate_id, "gate")
    name, province = check_name(name, "gate name"), check_name(province, "province")
    faces = json.dumps(_faces(faces))
    latitude, longitude = check_position(latitude, longitude)
    token = new_token()
    now = iso(utcnow())
    with transaction(db, write=True) as conn:
        if conn.execute(select(t.gate.c.id).where(t.gate.c.id == gate_id)).first():
            raise CentralError(f"gate {gate_id!r} is already registered", "gate_exists",
                               gate=gate_id)
        conn.execute(insert(t.gate).values(
            id=gate_id, name=name or gate_id, province=province, faces=faces,
            token_hash=hash_token(token), token_issued_at=now, created_at=now,
            latitude=latitude, longitude=longitude,
            token_version=gate_tokens.next_version(conn)))
        audit(conn, by, "gate.add", gate_id, {"name": name, "province": province,
                                              "latitude": latitude, "longitude": longitude})
    return token


def update_gate(db, gate_id: str, *, name: str | None = None, province: str | None = None,
                position=..., by: str = "cli") -> dict:
    """Change a gate's name, province or map position ((lat, lon); None takes
    it off the map; ... leaves it). Everything is checked before anything is
    stored. Returns the gate."""
    values = {}
    if name is not None:
        values["name"] = check_name(name, "gate name") or gate_id
    if province is not None:
        values["province"] = check_name(province, "province")
    if position is not ...:
        values["latitude"], values["longitude"] = check_position(*(position or (None, None)))
    with transaction(db, write=True) as conn:
        get_gate(conn, gate_id)
        if values:
            conn.execute(update(t.gate).where(t.gate.c.id == gate_id).values(**values))
            audit(conn, by, "gate.update", gate_id, values)
        return get_gate(conn, gate_id)


def reissue_token(db, gate_id: str, by: str = "cli") -> str:
    """A new token for a gate. The old one stops working at once in this process
    and within central_gate_token_cache_s seconds in the others (central.gate_tokens)."""
    token = new_token()
    with transaction(db, write=True) as conn:
        get_gate(conn, gate_id)
        conn.execute(update(t.gate).where(t.gate.c.id == gate_id).values(
            token_hash=hash_token(token), token_issued_at=iso(utcnow()),
            token_version=gate_tokens.next_version(conn)))
        audit(conn, by, "gate.token", gate_id)
    gate_tokens.forget(gate_id)
    return token


def _gate(r: dict) -> dict:
    r["faces"] = json.loads(r["faces"])
    return r


# Built once: every report from a gate looks its gate up first.
_GATE_BY_ID = select(t.gate).where(t.gate.c.id == bindparam("gate_id"))


def get_gate(db, gate_id: str) -> dict:
    with transaction(db) as conn:
        gate = row(conn.execute(_GATE_BY_ID, {"gate_id": gate_id}))
    if gate is None:
        raise NotFound(f"no gate {gate_id!r}", "gate_unknown", value=gate_id)
    return _gate(gate)


def find_gate(db, gate_id: str) -> dict | None:
    """The gate, or None for an id no gate has (the gate token check's look-up)."""
    try:
        return get_gate(db, gate_id)
    except NotFound:
        return None


def list_gates(db) -> list[dict]:
    with transaction(db) as conn:
        return [_gate(r) for r in rows(conn.execute(select(t.gate).order_by(t.gate.c.id)))]


def add_group(db, group_id: str, name: str = "", gate_ids=(), by: str = "cli") -> None:
    check_id(group_id, "group")
    name = check_name(name, "group name")
    with transaction(db, write=True) as conn:
        insert_or_update(conn, t.gate_group, {"id": group_id, "name": name or group_id,
                                              "created_at": iso(utcnow())}, ("id",))
        for gate_id in gate_ids:
            get_gate(conn, gate_id)
            insert_or_update(conn, t.gate_group_member,
                             {"group_id": group_id, "gate_id": gate_id},
                             ("group_id", "gate_id"), update=("gate_id",))
        audit(conn, by, "group.save", group_id, {"gates": list(gate_ids)})


def remove_from_group(db, group_id: str, gate_id: str, by: str = "cli") -> None:
    m = t.gate_group_member.c
    with transaction(db, write=True) as conn:
        conn.execute(delete(t.gate_group_member).where(m.group_id == group_id,
                                                       m.gate_id == gate_id))
        audit(conn, by, "group.remove", group_id, {"gate": gate_id})


def groups_of(db, gate_id: str) -> list[str]:
    m = t.gate_group_member.c
    with transaction(db) as conn:
        return list(conn.execute(select(m.group_id).where(m.gate_id == gate_id)
                                 .order_by(m.group_id)).scalars())


def check_target(db, target_kind: str, target_id: str) -> None:
    """An assignment's target must exist: a gate, a group, or the province
    (every gate; its id is "")."""
    if target_kind == "province":
        if target_id:
            raise CentralError(_("The whole province has no id (got %(v)s).", v=target_id))
    elif target_kind == "gate":
        get_gate(db, target_id)
    elif target_kind == "group":
        with transaction(db) as conn:
            found = conn.execute(select(t.gate_group.c.id)
                                 .where(t.gate_group.c.id == target_id)).first()
        if not found:
            raise NotFound(f"no group {target_id!r}", "group_unknown", value=target_id)
    else:
        raise CentralError(f"assign to a gate, a group or the province, not {target_kind!r}",
                           "target_kind", value=target_kind)


def gates_of_target(db, target_kind: str, target_id: str) -> list[str]:
    if target_kind == "gate":
        return [target_id]
    m = t.gate_group_member.c
    with transaction(db) as conn:
        if target_kind == "province":
            return list(conn.execute(select(t.gate.c.id).order_by(t.gate.c.id)).scalars())
        return list(conn.execute(select(m.gate_id).where(m.group_id == target_id)
                                 .order_by(m.gate_id)).scalars())


def overview(db, heartbeat_interval_s: float, now: datetime | None = None) -> list[dict]:
    """One row per gate, for the fleet list and map: online, last heartbeat,
    release versions (published, offered, last good), position, central's
    blank, health, each face's power and picture, the last errors reported,
    the latest screenshots."""
    now = now or utcnow()
    limit = timedelta(seconds=OFFLINE_AFTER_INTERVALS * heartbeat_interval_s)
    with transaction(db) as conn:
        gates = list_gates(conn)
        statuses = {r["gate_id"]: r for r in rows(conn.execute(select(t.gate_status)))}
        published = dict(conn.execute(select(t.release.c.gate_id, func.max(t.release.c.version))
                                      .group_by(t.release.c.gate_id)).all())
        blanks = {r["gate_id"]: r for r in rows(conn.execute(select(t.gate_blank)))}
        shots: dict[str, list[dict]] = {}
        for shot in rows(conn.execute(select(t.screenshot).order_by(
                t.screenshot.c.gate_id, t.screenshot.c.face_id))):
            shots.setdefault(shot["gate_id"], []).append(shot)
    result = []
    for gate in gates:
        status = statuses.get(gate["id"])
        last = parse_iso(status["last_heartbeat_at"]) if status else None
        heartbeat = _body(status["heartbeat"] if status else None)
        blank = blanks.get(gate["id"])
        result.append({
            "id": gate["id"], "name": gate["name"], "province": gate["province"],
            "faces": gate["faces"],
            "latitude": gate.get("latitude"), "longitude": gate.get("longitude"),
            "online": last is not None and now - last <= limit,
            "last_heartbeat_at": status["last_heartbeat_at"] if status else None,
            "published_version": published.get(gate["id"]),
            "release_version": status["release_version"] if status else None,
            "last_good_release_version": status["last_good_release_version"] if status else None,
            "sync": heartbeat.get("sync") or {},
            "errors": _list(heartbeat.get("errors")),
            "health": health_summary(heartbeat.get("health")),
            "face_states": face_states(gate["faces"], heartbeat.get("faces")),
            "blank": ({"active": bool(blank["active"]), "faces": json.loads(blank["faces"]),
                       "by": blank["by"], "reason": blank["reason"], "at": blank["at"]}
                      if blank else None),
            "screenshots": shots.get(gate["id"], []),
        })
    return result


def _body(text: str | None) -> dict:
    """A stored heartbeat: it came from the network, so anything unexpected is empty."""
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _list(value) -> list:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def health_summary(health) -> dict:
    """What the fleet shows of a heartbeat's `health` (kiosk/power/health.py):
    CPU temperature, free disk, clock, throttling, alarm codes. Missing
    values are None (an older gate, or a sensor the controller lacks)."""
    health = health if isinstance(health, dict) else {}
    disk = health.get("disk") if isinstance(health.get("disk"), dict) else {}
    throttling = health.get("throttling") if isinstance(health.get("throttling"), dict) else {}
    alarms = [a.get("code") for a in _list(health.get("alarms")) if isinstance(a.get("code"), str)]
    clock = health.get("clock_synced")
    return {
        "cpu_temp_c": _number(health.get("cpu_temp_c")),
        "disk_free_mb": _number(disk.get("free_mb")),
        "disk_total_mb": _number(disk.get("total_mb")),
        "clock_synced": clock if isinstance(clock, bool) else None,
        "throttled_now": bool(throttling.get("throttled_now") or throttling.get("soft_temp_limit_now")),
        "under_voltage_now": bool(throttling.get("under_voltage_now")),
        "throttled_since_boot": bool(throttling.get("throttled_occurred")
                                     or throttling.get("under_voltage_occurred")),
        "alarms": alarms,
    }


def face_states(faces: list[int], reported) -> list[dict]:
    """Each registered face as the gate last reported it (face_state rows)."""
    by_face = {r.get("face_id"): r for r in _list(reported)}
    out = []
    for face in faces:
        r = by_face.get(face, {})
        out.append({"face_id": face, "power": r.get("power") or "unknown",
                    "blanked": bool(r.get("blanked")), "level": r.get("level"),
                    "playing_name": r.get("playing_name"), "last_error": r.get("last_error")})
    return out


# The longest history a gate's page reads at once (about 43,000 heartbeats at the
# default minute); and the most heartbeats it reads to find periods in it.
HISTORY_MAX_DAYS = 31
HISTORY_MAX_BEATS = 50_000


def gate_history(db, gate_id: str, since: datetime, until: datetime | None = None,
                 heartbeat_interval_s: float = 60.0, page: int = 1,
                 per_page: int | None = None) -> dict:
    """A gate's history from `since` to `until` (default now): its heartbeats
    (newest first; page `page` of `per_page` when given, else all), the periods
    each face was powered, blanked or dark and the gate silent (`periods`,
    oldest first), the releases it took up (the first heartbeat that reported
    each new last-good version), the errors those heartbeats carried, the
    releases central published for it, and central's blanks (audit)."""
    gate = get_gate(db, gate_id)
    until = until or utcnow()
    h = t.heartbeat.c
    window = (h.gate_id == gate_id, h.received_at >= iso(since), h.received_at < iso(until))
    with transaction(db) as conn:
        beats = rows(conn.execute(
            select(h.received_at, h.release_version, h.body).where(*window)
            .order_by(h.received_at.desc(), h.id.desc()).limit(HISTORY_MAX_BEATS)))
        before = conn.execute(select(func.max(h.received_at)).where(
            h.gate_id == gate_id, h.received_at < iso(since))).scalar()
        published = rows(conn.execute(
            select(t.release.c.version, t.release.c.published_at, t.publication.c.by,
                   t.publication.c.note)
            .join_from(t.release, t.publication,
                       t.publication.c.id == t.release.c.publication_id, isouter=True)
            .where(t.release.c.gate_id == gate_id, t.release.c.published_at >= iso(since),
                   t.release.c.published_at < iso(until))
            .order_by(t.release.c.version.desc()).limit(200)))
        a = t.audit.c
        blanks = rows(conn.execute(
            select(a.at, a.who, a.action, a.detail)
            .where(a.subject == f"gate:{gate_id}", a.action.in_(("blank", "unblank")),
                   a.at >= iso(since), a.at < iso(until))
            .order_by(a.id.desc()).limit(200)))
    heartbeats, taken_up, errors, seen_errors, states = [], [], [], set(), []
    previous_good = None
    for beat in reversed(beats):  # oldest first, to see each change once
        body = _body(beat["body"])
        states.append((parse_iso(beat["received_at"]),
                       {f["face_id"]: f for f in face_states(gate["faces"],
                                                              body.get("faces"))}))
        good = body.get("last_good_release_version")
        if isinstance(good, int) and good != previous_good:
            taken_up.append({"version": good, "at": beat["received_at"]})
            previous_good = good
        for e in _list(body.get("errors")):
            key = (e.get("id"), e.get("at"), e.get("code"))
            if key not in seen_errors:
                seen_errors.add(key)
                errors.append({"at": e.get("at"), "level": e.get("level"), "code": e.get("code"),
                               "message": e.get("message"), "face_id": e.get("face_id"),
                               "detail": e.get("detail") if isinstance(e.get("detail"), dict)
                               else {}, "received_at": beat["received_at"]})
        health = health_summary(body.get("health"))
        heartbeats.append({"received_at": beat["received_at"],
                           "release_version": beat["release_version"],
                           "last_good_release_version": good if isinstance(good, int) else None,
                           "sync": {k: v for k, v in body["sync"].items()
                                    if k in ("status", "code", "reason") and isinstance(v, str)}
                           if isinstance(body.get("sync"), dict) else {},
                           "cpu_temp_c": health["cpu_temp_c"],
                           "disk_free_mb": health["disk_free_mb"], "alarms": health["alarms"]})
    for b in blanks:
        b["detail"] = _body(b["detail"])
    heartbeats.reverse()
    count = len(heartbeats)
    pages = max(1, -(-count // per_page)) if per_page else 1
    page = min(max(1, page), pages)
    if per_page:
        heartbeats = heartbeats[(page - 1) * per_page:page * per_page]
    silent_after = timedelta(seconds=OFFLINE_AFTER_INTERVALS * heartbeat_interval_s)
    return {"heartbeats": heartbeats, "heartbeat_count": count, "page": page, "pages": pages,
            "truncated": count >= HISTORY_MAX_BEATS,
            "periods": periods(gate["faces"], states, since, until, silent_after,
                               heard_before=before is not None),
            "taken_up": taken_up[::-1], "errors": errors[::-1],
            "published": published, "blanks": blanks}


def _face_word(state: dict) -> str:
    """One word for what a face was doing: the periods' state."""
    if state["power"] == "off":
        return "off"
    if state["blanked"]:
        return "blanked"
    return "on" if state["power"] == "on" else "unknown"


def periods(faces, states, since: datetime, until: datetime, silent_after: timedelta,
            heard_before: bool = False) -> list[dict]:
    """From heartbeats (received time, {face: state}, oldest first): the
    periods the gate was silent (no heartbeat for longer than `silent_after`;
    at the start of the range only if it was `heard_before` it, a gate added
    meanwhile is not "silent") and, per face, the runs of one state ("on",
    "off", "blanked", "unknown").
    Each period: kind ("silent" or "face"), face, state, start, end (datetimes;
    end None while it lasts at `until`), seconds."""
    out: list[dict] = []

    def add(kind, face, state, start, end):
        stop = end or until
        out.append({"kind": kind, "face": face, "state": state, "start": start, "end": end,
                    "seconds": max(0.0, (stop - start).total_seconds())})

    now = utcnow()
    ongoing = until >= now - silent_after  # the range reaches the present
    if not states:
        if heard_before:
            add("silent", None, None, since, None if ongoing else until)
        return out
    times = [when for when, _ in states]
    if heard_before and times[0] - since > silent_after:
        add("silent", None, None, since, times[0])
    for before, after in zip(times, times[1:]):
        if after - before > silent_after:
            add("silent", None, None, before, after)
    if min(until, now) - times[-1] > silent_after:
        add("silent", None, None, times[-1], None if ongoing else until)
    for face in faces:
        start, last, current = None, None, None
        for when, by_face in states:
            word = _face_word(by_face[face])
            gap = last is not None and when - last > silent_after
            if current is not None and (word != current or gap):
                add("face", face, current, start, last if gap else when)
                current = None
            if current is None:
                start, current = when, word
            last = when
        if current is not None:
            lasting = ongoing and min(until, now) - last <= silent_after
            add("face", face, current, start, None if lasting else last)
    out.sort(key=lambda p: (p["start"], p["face"] or 0))
    return out
