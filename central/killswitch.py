"""The kill switch from central: an operator blanks a gate's faces (every face
or chosen ones) and releases them again.

It goes through the signed channel and nowhere else: the state is a row of
`gate_blank`, and every release of the gate carries it as the document's
`blank` field (central/publish.py puts it there), so the gate takes it up the
way it takes up content, after TUF has checked the signatures. Blanking
re-signs the gate's release in force with the blank added
(`publish.publish_in_force`): nothing pending rides along, and a later full
publish or emergency keeps the blank until an operator releases it.

Audited on both sides: central's audit log keeps who and why (`blank`,
`unblank`); the gate's event log says that central blanked or released it, by
whom and why (kiosk/sync/activate.py).

How it combines with the technician's local kill switch (`gatecast blank on`
on the gate): they are two separate switches, and a face is black while either
holds it. Releasing one never releases the other: a technician's `blank off`
leaves central's blank in force, and central's release leaves a local blank in
force. docs/operations.md says the same for the people on both ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from kiosk.store import iso, utcnow

from central import schema as t
from central.checks import CentralError, int_list
from central.db import Store, insert_or_update, row, rows, transaction
from central.fleet import get_gate
from central.publish import PublishResult, blank_doc, publish_in_force
from central.repo import Repository
from central.users import audit, require_right

# Who may blank a gate from central.
BLANK_RIGHT = "fleet"  # operator, admin (central/users.py RIGHTS)
MAX_REASON = 500


class KillSwitchError(CentralError):
    pass


@dataclass
class BlankResult:
    gate_id: str
    blank: dict  # the release document's `blank` field now in force
    publication: PublishResult


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise KillSwitchError(_("Say why (the reason is kept in the audit log and on the gate)."))
    if len(reason) > MAX_REASON or any(ord(c) < 32 or ord(c) == 127 for c in reason):
        raise KillSwitchError(_("The reason must be one line of at most %(n)s characters.",
                                 n=MAX_REASON))
    return reason


def blank(store: Store, repo: Repository, gate_id: str, *, by: str, reason: str,
          faces=None, feed=None, now: datetime | None = None) -> BlankResult:
    """Blank `faces` of a gate (None or []: every face) through its signed
    release. Blanking a gate that is already blanked replaces the faces and
    reason (the gate logs the change)."""
    reason = _reason(reason)
    now = now or utcnow()
    with store.transaction(write=True) as conn:
        require_right(conn, by, BLANK_RIGHT)
        gate = get_gate(conn, gate_id)
        try:
            chosen = int_list([] if faces is None else faces, 1, 4, "faces", allow_empty=True)
        except CentralError:
            raise KillSwitchError(_("Faces are numbers from 1 to 4.")) from None
        missing = [f for f in chosen if f not in gate["faces"]]
        if missing:
            raise KillSwitchError(_("Gate %(gate)s has no face %(missing)s (its faces: "
                                    "%(faces)s).", gate=gate_id,
                                    missing=", ".join(map(str, missing)),
                                    faces=", ".join(map(str, gate["faces"]))))
        if sorted(chosen) == sorted(gate["faces"]):
            chosen = []  # every face, also those the gate gets later
        insert_or_update(conn, t.gate_blank, {
            "gate_id": gate_id, "active": 1, "faces": json.dumps(sorted(chosen)), "by": by,
            "reason": reason, "at": iso(now)}, ("gate_id",))
        audit(conn, by, "blank", f"gate:{gate_id}", {"reason": reason, "faces": sorted(chosen)})
    return _publish(store, repo, gate_id, by, f"blank: {reason}", feed, now)


def unblank(store: Store, repo: Repository, gate_id: str, *, by: str, reason: str,
            feed=None, now: datetime | None = None) -> BlankResult:
    """Release central's blank of a gate: its faces show their schedule again
    (unless the technician's local kill switch holds them)."""
    reason = _reason(reason)
    now = now or utcnow()
    with store.transaction(write=True) as conn:
        require_right(conn, by, BLANK_RIGHT)
        get_gate(conn, gate_id)
        current = row(conn.execute(select(t.gate_blank).where(t.gate_blank.c.gate_id == gate_id)))
        if current is None or not current["active"]:
            raise KillSwitchError(_("Gate %(gate)s is not blanked from central.", gate=gate_id))
        insert_or_update(conn, t.gate_blank, {
            "gate_id": gate_id, "active": 0, "faces": "[]", "by": by, "reason": reason,
            "at": iso(now)}, ("gate_id",))
        audit(conn, by, "unblank", f"gate:{gate_id}",
              {"reason": reason, "blanked_by": current["by"], "since": current["at"]})
    return _publish(store, repo, gate_id, by, f"unblank: {reason}", feed, now)


def _publish(store, repo, gate_id, by, note, feed, now) -> BlankResult:
    # The state row is committed first: should signing fail, the next publish
    # of any kind carries it, and the console shows it as not yet delivered.
    result = publish_in_force(store, repo, [gate_id], by=by, note=note, feed=feed, now=now)
    return BlankResult(gate_id, blank_state(store, gate_id), result)


def blank_state(db, gate_id: str) -> dict | None:
    """The gate's central blank as its releases carry it, or None (never blanked)."""
    with transaction(db) as conn:
        r = row(conn.execute(select(t.gate_blank).where(t.gate_blank.c.gate_id == gate_id)))
    return None if r is None else blank_doc(r)


def blanked_gates(db) -> dict[str, dict]:
    """Every gate central holds blanked: gate id -> its `blank` field."""
    with transaction(db) as conn:
        return {r["gate_id"]: blank_doc(r) for r in rows(conn.execute(
            select(t.gate_blank).where(t.gate_blank.c.active == 1)))}
