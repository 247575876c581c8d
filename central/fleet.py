"""Gates and groups of gates at the central server: registration, API tokens,
and the fleet overview (online/offline, release, latest screenshot).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, update

from kiosk.store import iso, parse_iso, utcnow

from central import schema as t
from central.checks import CentralError, NotFound, check_id, check_name, int_list
from central.db import insert_or_update, row, rows, transaction
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
        raise CentralError("give both latitude and longitude, or neither")
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise CentralError(f"latitude and longitude are numbers in degrees, got "
                           f"{latitude!r}, {longitude!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also refuses NaN
        raise CentralError(f"latitude is -90..90 and longitude -180..180 degrees, got "
                           f"{latitude}, {longitude}")
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
            raise CentralError(f"gate {gate_id!r} is already registered")
        conn.execute(insert(t.gate).values(
            id=gate_id, name=name or gate_id, province=province, faces=faces,
            token_hash=hash_token(token), token_issued_at=now, created_at=now,
            latitude=latitude, longitude=longitude))
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
    """A new token for a gate (the old one stops working at once)."""
    token = new_token()
    with transaction(db, write=True) as conn:
        get_gate(conn, gate_id)
        conn.execute(update(t.gate).where(t.gate.c.id == gate_id).values(
            token_hash=hash_token(token), token_issued_at=iso(utcnow())))
        audit(conn, by, "gate.token", gate_id)
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
        raise NotFound(f"no gate {gate_id!r}")
    return _gate(gate)


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
    """An assignment's target must exist: a gate or a group."""
    if target_kind == "gate":
        get_gate(db, target_id)
    elif target_kind == "group":
        with transaction(db) as conn:
            found = conn.execute(select(t.gate_group.c.id)
                                 .where(t.gate_group.c.id == target_id)).first()
        if not found:
            raise NotFound(f"no group {target_id!r}")
    else:
        raise CentralError(f"assign to a gate or a group, not {target_kind!r}")


def gates_of_target(db, target_kind: str, target_id: str) -> list[str]:
    if target_kind == "gate":
        return [target_id]
    m = t.gate_group_member.c
    with transaction(db) as conn:
        return list(conn.execute(select(m.gate_id).where(m.group_id == target_id)
                                 .order_by(m.gate_id)).scalars())


def overview(db, heartbeat_interval_s: float, now: datetime | None = None) -> list[dict]:
    """One row per gate: online, last heartbeat, release versions, screenshots."""
    now = now or utcnow()
    limit = timedelta(seconds=OFFLINE_AFTER_INTERVALS * heartbeat_interval_s)
    with transaction(db) as conn:
        gates = list_gates(conn)
        statuses = {r["gate_id"]: r for r in rows(conn.execute(select(t.gate_status)))}
        published = dict(conn.execute(select(t.release.c.gate_id, func.max(t.release.c.version))
                                      .group_by(t.release.c.gate_id)).all())
        shots: dict[str, list[dict]] = {}
        for shot in rows(conn.execute(select(t.screenshot).order_by(
                t.screenshot.c.gate_id, t.screenshot.c.face_id))):
            shots.setdefault(shot["gate_id"], []).append(shot)
    result = []
    for gate in gates:
        status = statuses.get(gate["id"])
        last = parse_iso(status["last_heartbeat_at"]) if status else None
        heartbeat = json.loads(status["heartbeat"]) if status and status["heartbeat"] else {}
        result.append({
            "id": gate["id"], "name": gate["name"], "province": gate["province"],
            "faces": gate["faces"],
            "online": last is not None and now - last <= limit,
            "last_heartbeat_at": status["last_heartbeat_at"] if status else None,
            "published_version": published.get(gate["id"]),
            "release_version": status["release_version"] if status else None,
            "last_good_release_version": status["last_good_release_version"] if status else None,
            "sync": heartbeat.get("sync") or {},
            "errors": heartbeat.get("errors") or [],
            "screenshots": shots.get(gate["id"], []),
        })
    return result
