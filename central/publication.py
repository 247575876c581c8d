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
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from kiosk.store import iso, utcnow

from central import schema as t
from central.checks import REQUEST_STATES, CentralError, Forbidden, NotFound, in_words
from central.db import Store, row, rows, transaction
from central.publish import (PublishResult, _content_hash, _latest_releases, _plain, base_hash,
                             preview, publish)
from central.repo import Repository
from central.users import audit, check_four_eyes, require_role

STATES = ("pending", "published", "rejected", "stale", "withdrawn")
SUBMIT_ROLE = "editor"
APPROVE_ROLE = "approver"


class PublicationError(CentralError):
    """A publication request refused; `code` names the refusal for scripts,
    its sentence is SENTENCES' "publication_<code>" (`in_words`: the console
    and the API in the request's language, the CLI in Vietnamese)."""

    sentence_prefix = "publication_"

    def __init__(self, code: str, message: str, **params):
        super().__init__(message, code, **params)


class StaleError(PublicationError):
    """What was previewed is no longer what would be published: a form made
    before someone changed or published its gates (nothing stored), or a
    request whose gates changed since it was submitted (nothing published)."""

    def __init__(self, gates: list[str], request_id: int | None = None):
        self.gates = gates
        named = ", ".join(gates)
        if request_id is None:
            self.sentence = "publication_form_stale"
            message = _("Someone changed or published %(gates)s since this preview was made; "
                        "nothing was stored. Look at the preview again.", gates=named)
        else:
            message = _("Request %(id)s is out of date: someone changed or published "
                        "%(gates)s since it was submitted. Nothing was published; look at "
                        "the preview again and submit a new request.", id=request_id,
                        gates=named)
        super().__init__("stale", message, gates=gates, request=request_id, id=request_id)


class OwnRequest(PublicationError, Forbidden):
    """Four eyes: the submitter may not approve their own request."""


def form_token(previews) -> str:
    """What a preview form carries back: every gate's release in force and
    content, so a submission made from an old page is refused."""
    return json.dumps({p.gate["id"]: [p.base, p.content] for p in previews},
                      sort_keys=True, separators=(",", ":"))


def _stale_gates(token: str, previews) -> list[str]:
    try:
        seen = json.loads(token)
    except ValueError:
        seen = None
    if not isinstance(seen, dict):
        raise PublicationError("token", _("The preview token is not one this server made; "
                                          "look at the preview again."))
    now_ = json.loads(form_token(previews))
    return sorted(g for g in set(seen) | set(now_) if seen.get(g) != now_.get(g))


def submit(store: Store, repo: Repository, *, by: str, gates=(), groups=(), note: str = "",
           token: str | None = None, previews=None, now: datetime | None = None) -> int:
    """Ask for a publication of the gates in scope that have changes.
    `token`: form_token() of the preview the submitter saw (refused, nothing
    stored, when stale); `previews`: that preview itself, just made by the
    caller (the CLI prints it), instead of building it again."""
    now = now or utcnow()
    require_role(store, by, SUBMIT_ROLE)
    if previews is None:
        previews = preview(store, repo, gates=gates, groups=groups, now=now)
    if token is not None:
        stale = _stale_gates(token, previews)
        if stale:
            raise StaleError(stale)
    wanted = {p.gate["id"]: {"base": p.base, "content": p.content}
              for p in previews if p.changes}
    if not wanted:
        held = [in_words(p.held_error).rstrip(".") if p.held_error
                else f"{p.gate['id']}: {p.held}" for p in previews if p.held]
        if held:
            e = PublicationError(
                "nothing_to_publish",
                _("Nothing to publish: the gates already show this content or are held back "
                  "(%(why)s).", why="; ".join(held)), why="; ".join(held))
            e.sentence = "publication_held_back"
            raise e
        raise PublicationError("nothing_to_publish",
                               _("Nothing to publish: the gates already show this content."))
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
        raise NotFound(f"no publication request {request_id!r}", "request_unknown",
                       id=request_id) from None
    with transaction(db) as conn:
        found = row(conn.execute(select(t.publication_request)
                                 .where(t.publication_request.c.id == request_id)))
    if found is None:
        raise NotFound(f"no publication request {request_id}", "request_unknown",
                       id=request_id)
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


def overlapping(pending: list[dict], gates, exclude: int | None = None) -> list[dict]:
    """The pending requests (listing(db, "pending")) other than `exclude` that
    cover some of `gates`, each with `shared`: those gates. Approving one of
    two such requests makes the other stale (it publishes nothing, is not
    lost): the pages say so before anyone acts."""
    gates = set(gates)
    return [{**r, "shared": sorted(gates & set(r["gates"]))} for r in pending
            if r["id"] != exclude and gates & set(r["gates"])]


def _decide(conn, request_id: int, state: str, by: str, reason: str, now: datetime,
            publication_id=None, *, only_pending: bool = False) -> bool:
    c = t.publication_request.c
    query = update(t.publication_request).where(c.id == request_id)
    if only_pending:
        query = query.where(c.state == "pending")
    return conn.execute(query.values(
        state=state, decided_by=by, decided_at=iso(now), decision_reason=reason[:500] or None,
        publication_id=publication_id)).rowcount == 1


def _decided(found: dict) -> PublicationError:
    return PublicationError("decided", f"request {found['id']} was already decided "
                            f"({found['state']})", id=found["id"], state=found["state"])


def state_name(state: str) -> str:
    """A request's state in words (the reader's language in the console and API)."""
    return _(REQUEST_STATES[state]) if state in REQUEST_STATES else state


def _pending(db, request_id, by: str, role: str) -> dict:
    require_role(db, by, role)
    found = get(db, request_id)
    if found["state"] != "pending":
        raise _decided(found)
    return found


def approve(store: Store, repo, request_id, *, by: str, feed=None,
            now: datetime | None = None) -> PublishResult:
    """Four-eyes: an approver other than the submitter publishes exactly what
    was previewed; if it is stale, the request is marked so and nothing is
    published (StaleError)."""
    found = _pending(store, request_id, by, APPROVE_ROLE)
    try:
        check_four_eyes(found["submitted_by"], by)
    except Forbidden as e:
        raise OwnRequest("four_eyes", str(e), submitted_by=found["submitted_by"],
                         name=found["submitted_by"]) from None
    wanted = found["preview"]

    def check(built):
        # Under the publishing lock: another approval of the same request
        # (two approvers at once) has either published it or not started.
        again = get(store, found["id"])
        if again["state"] != "pending":
            raise _decided(again)
        with store.transaction() as conn:
            latest = _latest_releases(conn)
        docs = built.docs
        stale = stale_gates(wanted, {
            g: (base_hash(latest.get(g), repo.state_dir),
                _content_hash(docs[g]) if g in docs else None) for g in wanted})
        if stale:
            raise StaleError(stale, found["id"])

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
            if _decide(conn, found["id"], "stale", by, str(e), now or utcnow(),
                       only_pending=True):
                audit(conn, by, "publication.stale", str(found["id"]), {"gates": e.gates})
        raise


def stale_gates(wanted: dict, found: dict[str, tuple]) -> list[str]:
    """The gates of a request (`wanted`: gate -> the base and content it was
    submitted with) for which `found` (gate -> (base, content) now; content
    None when held back) is no longer that."""
    return sorted(g for g, seen in wanted.items()
                  if found.get(g) != (seen["base"], seen["content"]))


@dataclass
class Review:
    """A request as its approver sees it: the request, what approving it now
    would change on each face of its gates, and the gates that changed since
    it was submitted (approving would publish nothing: stale)."""

    request: dict
    previews: list
    stale: list[str]


def review(store: Store, repo: Repository, request_id, *, now: datetime | None = None,
           words=_plain) -> Review:
    """What approving a pending request would publish now, face by face
    (central.publish.preview of its gates): exactly what was submitted
    unless `stale` names a gate. A decided request has nothing to preview."""
    found = get(store, request_id)
    if found["state"] != "pending":
        return Review(found, [], [])
    previews = preview(store, repo, gates=found["gates"], now=now, words=words)
    stale = stale_gates(found["preview"], {p.gate["id"]: (p.base, p.content) for p in previews})
    return Review(found, previews, stale)


def reject(store: Store, request_id, *, by: str, reason: str,
           now: datetime | None = None) -> None:
    """An approver refuses it (with a reason), or its submitter withdraws it."""
    found = get(store, request_id)
    mine = found["submitted_by"] == by
    _pending(store, request_id, by, SUBMIT_ROLE if mine else APPROVE_ROLE)
    reason = " ".join(str(reason or "").split())
    if not reason and not mine:
        raise PublicationError("reason", _("Say why it is rejected (the submitter reads it)."))
    with store.transaction(write=True) as conn:
        if not _decide(conn, found["id"], "withdrawn" if mine else "rejected", by, reason,
                       now or utcnow(), only_pending=True):
            raise _decided(get(conn, found["id"]))
        audit(conn, by, "publication.withdraw" if mine else "publication.reject",
              str(found["id"]), {"reason": reason})
