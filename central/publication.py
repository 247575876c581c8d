"""Publications with a second pair of eyes: an editor submits a publication
for some gates or groups (or the whole province) with the preview they saw;
an approver who is not the submitter approves it, and exactly what was
previewed is published — or nothing is, if anything changed meanwhile.

What makes a request stale (`StaleError`, nothing published): a gate's
content is no longer what was previewed (someone edited an assignment,
playlist or media state since), or its release in force changed (someone
else published it). Emergencies never make one stale: they are layered
onto whatever is published (central.publish).

A request's scope is its gates that had something to publish; a gate held
back at submission (unapproved media) is not in it, so one person's pending
work on one gate never blocks another's publication.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from kiosk.store import iso, utcnow

from central import schema as t
from central.checks import CentralError, NotFound
from central.db import Store, row, rows, transaction
from central.publish import (PublishResult, _content_hash, _latest_releases, base_hash, preview,
                             publish)
from central.users import audit, check_four_eyes, require_role

STATES = ("pending", "published", "rejected", "stale", "withdrawn")
SUBMIT_ROLE = "editor"
APPROVE_ROLE = "approver"


class StaleError(CentralError):
    """What was previewed is no longer what would be published."""

    def __init__(self, gates: list[str]):
        self.gates = gates
        super().__init__("someone changed or published these gates since the preview: "
                         + ", ".join(gates) + "; look at the preview again")


def form_token(previews) -> str:
    """What a preview form carries back: every gate's release in force and
    content, so a submission made from an old page is refused."""
    return json.dumps({p.gate["id"]: [p.base, p.content] for p in previews},
                      sort_keys=True, separators=(",", ":"))


def submit(store: Store, state_dir, *, by: str, gates=(), groups=(), note: str = "",
           token: str | None = None, now: datetime | None = None) -> int:
    """Ask for a publication of the gates in scope that have changes. `token`:
    form_token() of the preview the submitter saw (refused when stale)."""
    now = now or utcnow()
    require_role(store, by, SUBMIT_ROLE)
    previews = preview(store, state_dir, gates=gates, groups=groups, now=now)
    if token is not None and token != form_token(previews):
        seen = json.loads(token)
        now_ = json.loads(form_token(previews))
        raise StaleError(sorted(g for g in set(seen) | set(now_) if seen.get(g) != now_.get(g)))
    wanted = {p.gate["id"]: {"base": p.base, "content": p.content}
              for p in previews if p.changes}
    if not wanted:
        held = [f"{p.gate['id']}: {p.held}" for p in previews if p.held]
        if held:
            raise CentralError(_("Nothing to publish: the gates already show this content or "
                                 "are held back (%(why)s).", why="; ".join(held)))
        raise CentralError(_("Nothing to publish: the gates already show this content."))
    with store.transaction(write=True) as conn:
        rid = conn.execute(insert(t.publication_request).values(
            scope=json.dumps({"gates": list(gates), "groups": list(groups)}),
            note=" ".join(str(note or "").split())[:500], preview=json.dumps(wanted),
            state="pending", submitted_by=by, submitted_at=iso(now))).inserted_primary_key[0]
        audit(conn, by, "publication.submit", str(rid), {"gates": sorted(wanted)})
    return rid


def get(db, request_id) -> dict:
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        raise NotFound(_("No publication request %(id)s.", id=request_id)) from None
    with transaction(db) as conn:
        found = row(conn.execute(select(t.publication_request)
                                 .where(t.publication_request.c.id == request_id)))
    if found is None:
        raise NotFound(_("No publication request %(id)s.", id=request_id))
    return _public(found)


def _public(r: dict) -> dict:
    return {**r, "scope": json.loads(r["scope"]), "preview": json.loads(r["preview"]),
            "gates": sorted(json.loads(r["preview"]))}


def listing(db, state: str | None = None, limit: int = 100) -> list[dict]:
    c = t.publication_request.c
    query = select(t.publication_request).order_by(c.id.desc()).limit(limit)
    if state:
        query = query.where(c.state == state)
    with transaction(db) as conn:
        return [_public(r) for r in rows(conn.execute(query))]


def _decide(conn, request_id: int, state: str, by: str, reason: str, now: datetime,
            publication_id=None) -> None:
    conn.execute(update(t.publication_request).where(t.publication_request.c.id == request_id)
                 .values(state=state, decided_by=by, decided_at=iso(now),
                         decision_reason=reason[:500] or None, publication_id=publication_id))


def _pending(db, request_id, by: str, role: str) -> dict:
    require_role(db, by, role)
    found = get(db, request_id)
    if found["state"] != "pending":
        raise CentralError(_("Request %(id)s was already decided.", id=found["id"]))
    return found


def approve(store: Store, repo, request_id, *, by: str, feed=None,
            now: datetime | None = None) -> PublishResult:
    """Four-eyes: an approver other than the submitter publishes exactly what
    was previewed; if it is stale, the request is marked so and nothing is
    published (StaleError)."""
    found = _pending(store, request_id, by, APPROVE_ROLE)
    check_four_eyes(found["submitted_by"], by)
    wanted = found["preview"]

    def check(built):
        with store.transaction() as conn:
            latest = _latest_releases(conn)
        stale = []
        for gate_id, seen in wanted.items():
            doc = built.docs.get(gate_id)
            content = _content_hash(doc) if doc is not None else None
            if (content != seen["content"]
                    or base_hash(latest.get(gate_id), repo.state_dir) != seen["base"]):
                stale.append(gate_id)
        if stale:
            raise StaleError(sorted(stale))

    def recorded(conn, publication_id):
        _decide(conn, found["id"], "published", by, "", now or utcnow(), publication_id)
        audit(conn, by, "publication.approve", str(found["id"]),
              {"submitted_by": found["submitted_by"], "gates": found["gates"]})

    try:
        return publish(store, repo, by=by, note=found["note"] or f"request {found['id']}",
                       now=now, feed=feed, gates=found["gates"], check=check,
                       on_record=recorded)
    except StaleError as e:
        with store.transaction(write=True) as conn:
            _decide(conn, found["id"], "stale", by, str(e), now or utcnow())
            audit(conn, by, "publication.stale", str(found["id"]), {"gates": e.gates})
        raise


def reject(store: Store, request_id, *, by: str, reason: str,
           now: datetime | None = None) -> None:
    """An approver refuses it (with a reason), or its submitter withdraws it."""
    found = get(store, request_id)
    mine = found["submitted_by"] == by
    _pending(store, request_id, by, SUBMIT_ROLE if mine else APPROVE_ROLE)
    reason = " ".join(str(reason or "").split())
    if not reason and not mine:
        raise CentralError(_("Say why it is rejected (the submitter reads it)."))
    with store.transaction(write=True) as conn:
        _decide(conn, found["id"], "withdrawn" if mine else "rejected", by, reason,
                now or utcnow())
        audit(conn, by, "publication.withdraw" if mine else "publication.reject",
              str(found["id"]), {"reason": reason})
