"""Gates and groups of gates at the central server: registration, API tokens,
and the fleet overview (online/offline, release, latest screenshot).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from kiosk.store import iso, parse_iso, utcnow

from central.checks import CentralError, NotFound, check_id, check_name, int_list
from central.users import audit, hash_token, new_token

# A gate is offline after this many heartbeat intervals without one.
OFFLINE_AFTER_INTERVALS = 2.5


def _faces(faces) -> list[int]:
    return int_list(faces, 1, 4, "a gate's faces", allow_empty=False)


def add_gate(db, gate_id: str, name: str, province: str = "", faces=(1,), by: str = "cli") -> str:
    """Register a gate; returns its API token, shown this once."""
    check_id(gate_id, "gate")
    name, province = check_name(name, "gate name"), check_name(province, "province")
    if db["gate"].count_where("id = ?", [gate_id]):
        raise CentralError(f"gate {gate_id!r} is already registered")
    token = new_token()
    now = iso(utcnow())
    db["gate"].insert({"id": gate_id, "name": name or gate_id, "province": province,
                       "faces": json.dumps(_faces(faces)), "token_hash": hash_token(token),
                       "token_issued_at": now, "created_at": now})
    audit(db, by, "gate.add", gate_id, {"name": name, "province": province})
    return token


def reissue_token(db, gate_id: str, by: str = "cli") -> str:
    """A new token for a gate (the old one stops working at once)."""
    get_gate(db, gate_id)
    token = new_token()
    db["gate"].update(gate_id, {"token_hash": hash_token(token), "token_issued_at": iso(utcnow())})
    audit(db, by, "gate.token", gate_id)
    return token


def get_gate(db, gate_id: str) -> dict:
    rows = list(db["gate"].rows_where("id = ?", [gate_id]))
    if not rows:
        raise NotFound(f"no gate {gate_id!r}")
    gate = rows[0]
    gate["faces"] = json.loads(gate["faces"])
    return gate


def list_gates(db) -> list[dict]:
    gates = list(db["gate"].rows_where(order_by="id"))
    for gate in gates:
        gate["faces"] = json.loads(gate["faces"])
    return gates


def add_group(db, group_id: str, name: str = "", gate_ids=(), by: str = "cli") -> None:
    check_id(group_id, "group")
    name = check_name(name, "group name")
    with db.atomic():
        db["gate_group"].upsert({"id": group_id, "name": name or group_id,
                                 "created_at": iso(utcnow())}, pk="id")
        for gate_id in gate_ids:
            get_gate(db, gate_id)
            db["gate_group_member"].upsert({"group_id": group_id, "gate_id": gate_id},
                                           pk=("group_id", "gate_id"))
        audit(db, by, "group.save", group_id, {"gates": list(gate_ids)})


def remove_from_group(db, group_id: str, gate_id: str, by: str = "cli") -> None:
    db.execute("DELETE FROM gate_group_member WHERE group_id = ? AND gate_id = ?",
               [group_id, gate_id])
    audit(db, by, "group.remove", group_id, {"gate": gate_id})


def groups_of(db, gate_id: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT group_id FROM gate_group_member WHERE gate_id = ? ORDER BY group_id", [gate_id])]


def check_target(db, target_kind: str, target_id: str) -> None:
    """An assignment's target must exist: a gate or a group."""
    if target_kind == "gate":
        get_gate(db, target_id)
    elif target_kind == "group":
        if not db["gate_group"].count_where("id = ?", [target_id]):
            raise NotFound(f"no group {target_id!r}")
    else:
        raise CentralError(f"assign to a gate or a group, not {target_kind!r}")


def gates_of_target(db, target_kind: str, target_id: str) -> list[str]:
    if target_kind == "gate":
        return [target_id]
    return [r[0] for r in db.execute(
        "SELECT gate_id FROM gate_group_member WHERE group_id = ? ORDER BY gate_id", [target_id])]


def overview(db, heartbeat_interval_s: float, now: datetime | None = None) -> list[dict]:
    """One row per gate: online, last heartbeat, release versions, screenshots."""
    now = now or utcnow()
    limit = timedelta(seconds=OFFLINE_AFTER_INTERVALS * heartbeat_interval_s)
    rows = []
    for gate in list_gates(db):
        status = next(iter(db["gate_status"].rows_where("gate_id = ?", [gate["id"]])), None)
        last = parse_iso(status["last_heartbeat_at"]) if status else None
        current = db.execute("SELECT max(version) FROM release WHERE gate_id = ?",
                             [gate["id"]]).fetchone()[0]
        heartbeat = json.loads(status["heartbeat"]) if status and status["heartbeat"] else {}
        rows.append({
            "id": gate["id"], "name": gate["name"], "province": gate["province"],
            "faces": gate["faces"],
            "online": last is not None and now - last <= limit,
            "last_heartbeat_at": status["last_heartbeat_at"] if status else None,
            "published_version": current,
            "release_version": status["release_version"] if status else None,
            "last_good_release_version": status["last_good_release_version"] if status else None,
            "sync": heartbeat.get("sync") or {},
            "errors": heartbeat.get("errors") or [],
            "screenshots": list(db["screenshot"].rows_where(
                "gate_id = ?", [gate["id"]], order_by="face_id")),
        })
    return rows
