"""Alerts: nobody misses a dark gate.

Every tick (`tick`) reads what each gate last reported, asks central.alert_rules which
conditions hold, and moves each gate/kind/face through one `alert` row:

    (none) -> pending -> open -> resolved
              condition seen; held long enough: messages queued; clear long enough:
              recovery queued

A pending alert whose condition goes away is forgotten (nobody was told). An open one
is resolved only after its condition has stayed clear for `central_alert_clear_after_s`:
a condition that comes back meanwhile keeps the same alert, so a flapping gate sends
one message, not a storm. Messages go through the `alert_delivery` outbox
(central.alert_delivery sends them, retrying), routed by the subscriptions: a group of
gates (or every gate) and a lowest severity.

Exactly one process works in a tick across every application server: the tick runs
only while it holds `exclusive(store, "alerts")` (a PostgreSQL advisory try-lock, a
file lock with SQLite); the others skip that tick. Every server runs the loop, so when
the one working dies another takes over at its next tick; no extra service to deploy.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Iterable

from flask_babel import gettext as _
from sqlalchemy import case, delete, func, insert, or_, select, update

from kiosk.store import iso, parse_iso, utcnow

from central import jsonread, schema as t
from central.alert_rules import (SEVERITIES, Condition, GateFacts, conditions, frozen_candidates,
                                 heartbeat_view)
from central.checks import CentralError, NotFound, check_id
from central.db import exclusive, rows, transaction
from central.fleet import OFFLINE_AFTER_INTERVALS
from central.users import audit, require_right

log = logging.getLogger("gatecast.central.alerts")

CHANNELS = ("email", "webhook")
STATES = ("pending", "open", "resolved")
# Who may acknowledge an alert and manage who is told.
ACK_RIGHT = "fleet"  # operator, admin (central/users.py RIGHTS)


# ---- reading the fleet ------------------------------------------------------------
_STATUS_COLUMNS = ("gate_id", "last_heartbeat_at", "sent_at", "release_version",
                   "last_good_release_version")


class FleetMemory:
    """What an alert loop keeps between its ticks, so that a quiet tick costs
    milliseconds, not the fleet: the gates and their faces (read again only for gates
    whose token version moved: every new gate stamps one, central.gate_tokens), each
    gate's latest status and the alert view of its heartbeat (gate_status.alert_view,
    written by intake) and its screenshots (only the `gate_status` and `screenshot`
    rows stamped since the last tick are read: migrations 0010, 0011, 0015), and the
    conditions found for each gate, reused while nothing they depend on changed and
    no deadline they depend on passed. Of a heartbeat it keeps only what the rules read
    (alert_rules.heartbeat_view): a gate's new heartbeat whose view, release versions,
    screenshots and untaken release are as before only moves its offline deadline, no
    evaluation (at 10,000 gates x5, ~4,000 heartbeats a tick). The deadlines (a silent gate counting as
    offline) wait in a heap, so a tick looks only at the gates whose time ran out; a
    frozen-picture check, which asks proof of play, is made anew each tick. A fresh
    memory reads and evaluates everything: the CLI's `alerts run` uses one."""

    def __init__(self):
        self.faces: dict[str, tuple[str, list]] = {}  # gate -> (faces as stored, parsed)
        self.status: dict[str, tuple[tuple, dict, dict]] = {}  # gate -> (key, status, view)
        # gate -> (inputs, conditions found, kinds unknown, valid until, last heartbeat at)
        self.found: dict[str, tuple[tuple, list, frozenset, datetime | None, str | None]] = {}
        self.deadlines: list[tuple[datetime, str]] = []  # (valid until, gate): a heap
        self.every_tick: set[str] = set()  # gates whose conditions hold for one tick only
        self.holding: set[str] = set()  # gates with conditions found
        self.untaken: dict[str, tuple] = {}  # gate -> (version, published at) behind it
        self.shot_rows: dict[str, dict[int, dict]] = {}  # gate -> face -> screenshot
        self.shots: dict[str, tuple] = {}  # gate -> its screenshots as compared
        self._shots_mark: int | None = None  # where the next screenshot read starts
        self._gates_seen = -1  # highest gate.token_version read
        self._status_mark: int | None = None  # where the next status read starts
        self.last_read = 0  # status rows the last tick read (tests and the bench look)
        self.last_evaluated = 0  # gates whose rules the last tick ran (the same)

    def gates(self, conn) -> set[str]:
        """Gates added since the last tick (their faces kept); every gate the first time."""
        g = t.gate.c
        added = set()
        for gate_id, faces, version in conn.execute(
                select(g.id, g.faces, g.token_version).where(g.token_version > self._gates_seen)
        ).all():
            self._gates_seen = max(self._gates_seen, version)
            known = self.faces.get(gate_id)
            if known is None or known[0] != faces:
                self.faces[gate_id] = (faces, json.loads(faces))
                added.add(gate_id)
        return added

    def statuses(self, conn) -> set[str]:
        """Read the statuses stamped since the last read; returns the gates whose
        status changed. Of each it reads the alert view intake wrote
        (gate_status.alert_view, ~300 bytes), parsed only when its text changed; the
        whole heartbeat only for a row without one (written before migration 0015,
        or by hand), its view then worked out here."""
        s = t.gate_status.c
        found, self._status_mark = _stamped_since(
            conn, select(*(s[c] for c in _STATUS_COLUMNS), s.alert_view,
                         case((s.alert_view.is_(None), s.heartbeat)), s.changed),
            s.changed, self._status_mark)
        self.last_read = len(found)
        changed = set()
        for r in found:
            gate_id, view_text = r[0], r[5]
            key = (*r[:5], view_text if view_text is not None else r[6])
            known = self.status.get(gate_id)
            if known is not None and known[0] == key:
                continue
            if known is not None and view_text is not None and known[0][5] == view_text:
                view = known[2]  # the same view: the same object, compared at once
            elif view_text is not None:
                view = _parsed(view_text)
            else:
                view = heartbeat_view(_parsed(r[6]))
            self.status[gate_id] = (key, dict(zip(_STATUS_COLUMNS, key)), view)
            changed.add(gate_id)
        return changed

    def screenshots(self, conn) -> set[str]:
        """Read the screenshots the database stamped since the last read (migration
        0011); returns the gates whose screenshots changed."""
        s = t.screenshot.c
        found, self._shots_mark = _stamped_since(
            conn, select(t.screenshot), s.changed, self._shots_mark)
        touched = set()
        for shot in found:
            shot = dict(shot._mapping)
            del shot["changed"]
            self.shot_rows.setdefault(shot["gate_id"], {})[shot["face_id"]] = shot
            touched.add(shot["gate_id"])
        changed = set()
        for gate_id in touched:
            compared = tuple(sorted((f, tuple(v.values()))
                                    for f, v in self.shot_rows[gate_id].items()))
            if self.shots.get(gate_id) != compared:
                self.shots[gate_id] = compared
                changed.add(gate_id)
        return changed

    def due(self, now: datetime) -> set[str]:
        """Gates whose conditions' deadline has passed, and those checked every tick."""
        due = set(self.every_tick)
        while self.deadlines and self.deadlines[0][0] <= now:
            until, gate_id = heapq.heappop(self.deadlines)
            known = self.found.get(gate_id)
            if known is not None and known[3] == until:  # else a newer deadline replaced it
                due.add(gate_id)
        return due


def _parsed(text: str | None):
    """A stored heartbeat's body or alert view as json.loads reads it (central.jsonread:
    orjson where it gives the same objects, about half json's time for ~4,000 bodies a
    tick at 10,000 gates x5; an integer past 64 bits stays an integer); {} for what
    json.loads does not read."""
    if not text:
        return {}
    try:
        return jsonread.loads(text.encode())
    except (ValueError, RecursionError):
        return {}


def _stamped_since(conn, query, stamp, mark: int | None) -> tuple[list, int]:
    """The rows of `query` whose `stamp` column (set on every write: migrations 0010,
    0011, 0015) moved since `mark` (None: every row), and the mark for the next read.
    PostgreSQL reads gate_status's by a scan (0015: no index on a column every report
    changes, so the report's update is heap-only). PostgreSQL: the stamp is the
    writing transaction's id, and the next
    mark the oldest transaction running before this read: every transaction below it
    has ended, so a commit landing late is still read next time (rows of transactions
    at or above it are read again, harmlessly). SQLite: writers go one at a time, so
    stamps commit in order and the highest stamp read is the next mark."""
    if conn.dialect.name == "postgresql":
        following = conn.exec_driver_sql(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").scalar()
        found = conn.execute(query if mark is None else query.where(stamp >= mark)).all()
        return found, following
    found = conn.execute(query if mark is None else query.where(stamp > mark)).all()
    column = stamp.name
    return found, max((r._mapping[column] for r in found), default=mark or 0)


def _untaken_releases(conn) -> dict[str, tuple]:
    """Per gate behind, the oldest release newer than the one its screens play.
    One statement for the fleet: right after a publication every gate is behind,
    and a query per gate made each tick 10,000 round trips (bench/emergency_fanout.py
    saw the application busy for seconds while the gates fetched)."""
    r, s = t.release.c, t.gate_status.c
    oldest_newer = (
        select(r.gate_id, func.min(r.version).label("version"))
        .select_from(t.release.outerjoin(t.gate_status, s.gate_id == r.gate_id))
        .where(r.version > func.coalesce(s.last_good_release_version, 0))
        .group_by(r.gate_id).subquery())
    return {gate_id: (version, published_at) for gate_id, version, published_at in conn.execute(
        select(r.gate_id, r.version, r.published_at).join(
            oldest_newer, (r.gate_id == oldest_newer.c.gate_id)
            & (r.version == oldest_newer.c.version))).all()}


def _facts(conn, settings, now: datetime, memory: FleetMemory) -> dict[str, tuple]:
    """gate -> (conditions found, kinds unknown) for every gate whose conditions are
    not empty or were evaluated this tick; a gate left out has none, as last tick.
    Only gates whose inputs changed or whose deadline passed are evaluated."""
    added = memory.gates(conn)
    dirty = added | memory.statuses(conn) | memory.due(now)
    untaken = _untaken_releases(conn)
    dirty |= {g for g in untaken.keys() | memory.untaken.keys()
              if untaken.get(g) != memory.untaken.get(g)}
    memory.untaken = untaken
    dirty |= memory.screenshots(conn)
    shots, compared = memory.shot_rows, memory.shots
    dirty |= {g for g in added if g not in memory.found}  # never evaluated yet
    limit = timedelta(seconds=OFFLINE_AFTER_INTERVALS * settings["central_heartbeat_interval_s"])
    memory.last_evaluated = 0
    for gate_id in sorted(dirty & memory.faces.keys()):
        faces, parsed_faces = memory.faces[gate_id]
        _key, status, body = memory.status.get(gate_id, ((), None, {}))
        gate_shots = shots.get(gate_id, {})
        # What the conditions depend on, but for the time of the last heartbeat: that
        # only says whether the gate is offline, i.e. when the conditions run out.
        last_at = status["last_heartbeat_at"] if status else None
        inputs = (faces, (status["release_version"], status["last_good_release_version"])
                  if status else None, body, untaken.get(gate_id), compared.get(gate_id, ()))
        known = memory.found.get(gate_id)
        if known is not None and known[0] == inputs:
            if known[4] == last_at and (known[3] is None or now < known[3]):
                continue  # read again, but nothing it depends on changed
            if (known[3] is not None and gate_id not in memory.every_tick and now < known[3]
                    and last_at is not None and known[4] is not None and last_at >= known[4]):
                # Heard from again before its deadline: the deadline only moves later.
                # The new one is worked out when the old one comes due (below), not
                # for each of ~4,000 heartbeats a tick.
                memory.found[gate_id] = (inputs, *known[1:3], known[3], last_at)
                continue
            if known[3] is not None and gate_id not in memory.every_tick and (
                    (until := _offline_at(last_at, limit)) is not None and now < until):
                # Not offline before, not offline now, nothing else changed: the same
                # conditions, valid until the new deadline.
                heapq.heappush(memory.deadlines, (until, gate_id))
                memory.found[gate_id] = (inputs, *known[1:3], until, last_at)
                continue
        memory.last_evaluated += 1
        facts = GateFacts({"id": gate_id, "faces": parsed_faces}, status, body,
                          untaken.get(gate_id), gate_shots)
        candidates = frozen_candidates(facts, settings, now)
        for face_id in candidates:
            facts.media_since_picture[face_id] = _media_started(
                conn, gate_id, face_id, facts.screenshots[face_id])
        found, unknown = conditions(facts, settings, now)
        # Valid until the gate would count as offline, or only for this tick when a
        # picture's freshness is checked against proof of play.
        memory.every_tick.discard(gate_id)
        if candidates:
            until = now
            memory.every_tick.add(gate_id)
        elif (until := _offline_at(last_at, limit)) is None or any(
                c.kind == "offline" for c in found):
            until = None  # nothing here changes with time alone
        else:
            heapq.heappush(memory.deadlines, (until, gate_id))
        memory.found[gate_id] = (inputs, found, unknown, until, last_at)
        if found:
            memory.holding.add(gate_id)
        else:
            memory.holding.discard(gate_id)
    return {gate_id: memory.found[gate_id][1:3]
            for gate_id in (memory.holding | dirty) & memory.found.keys()}


def _offline_at(last_heartbeat_at: str | None, limit: timedelta) -> datetime | None:
    """When a gate heard from at `last_heartbeat_at` counts as offline (None: never
    heard from, or a time without its zone: no deadline)."""
    last = parse_iso(last_heartbeat_at) if last_heartbeat_at else None
    return None if last is None or last.tzinfo is None else last + limit


def _media_started(conn, gate_id: str, face_id: int, shot: dict) -> int:
    """Distinct media the gate says it started on a face between the picture's last
    change and its latest screenshot: two or more, and the picture should have changed."""
    p = t.proof_of_play.c
    return conn.execute(select(func.count(func.distinct(p.media_sha256))).where(
        p.gate_id == gate_id, p.face_id == face_id,
        p.started_at > shot["picture_changed_at"],
        p.started_at < (shot["taken_at"] or shot["received_at"]))).scalar() or 0


# ---- the state machine ---------------------------------------------------------------
def _held(cond: Condition, first_seen: datetime, now: datetime) -> bool:
    return (now - (cond.since or first_seen)).total_seconds() >= cond.hold_s


def _subscribers(conn, gate_id: str, severity: str) -> list[int]:
    s, m = t.alert_subscription.c, t.gate_group_member.c
    allowed = SEVERITIES[:SEVERITIES.index(severity) + 1]
    groups = select(m.group_id).where(m.gate_id == gate_id)
    return list(conn.execute(select(s.id).where(
        s.min_severity.in_(allowed),
        or_(s.group_id.is_(None), s.group_id.in_(groups))).order_by(s.id)).scalars())


def _queue(conn, alert_id: int, event: str, subscription_ids: Iterable[int], now: datetime) -> int:
    values = [{"alert_id": alert_id, "subscription_id": sid, "event": event, "state": "pending",
               "attempts": 0, "queued_at": iso(now), "next_attempt_at": iso(now)}
              for sid in subscription_ids]
    if values:
        conn.execute(insert(t.alert_delivery), values)
    return len(values)


def _told(conn, alert_id: int) -> list[int]:
    """Subscriptions an alert's opening was queued for: they get its recovery."""
    d = t.alert_delivery.c
    return list(conn.execute(select(d.subscription_id).where(
        d.alert_id == alert_id, d.event == "opened").order_by(d.subscription_id)).scalars())


def _open(conn, alert_id: int, gate_id: str, cond: Condition, now: datetime) -> None:
    conn.execute(update(t.alert).where(t.alert.c.id == alert_id).values(
        state="open", opened_at=iso(now), clear_since=None,
        detail=json.dumps(cond.detail, ensure_ascii=False)))
    _queue(conn, alert_id, "opened", _subscribers(conn, gate_id, cond.severity), now)


def _plan(conn, settings, now: datetime, memory: FleetMemory) -> list[tuple]:
    """What one pass changes, decided from a read: (action, ...) tuples."""
    clear_after = settings["central_alert_clear_after_s"]
    a = t.alert.c
    unresolved: dict[str, dict[tuple[str, int], dict]] = {}
    for r in rows(conn.execute(select(t.alert).where(a.state != "resolved"))):
        unresolved.setdefault(r["gate_id"], {})[(r["kind"], r["face_id"])] = r
    plan: list[tuple] = []
    facts = _facts(conn, settings, now, memory)
    for gate_id in sorted(facts.keys() | (unresolved.keys() & memory.faces.keys())):
        found, unknown = facts.get(gate_id) or memory.found[gate_id][1:3]
        alerts = unresolved.get(gate_id, {})
        if not found and not alerts:
            continue  # most of a healthy fleet: nothing holds and nothing is open
        holding = {c.key: c for c in found}
        for key, cond in holding.items():
            alert = alerts.get(key)
            if alert is None:
                plan.append(("new", gate_id, cond, _held(cond, now, now)))
            elif alert["state"] == "pending":
                if _held(cond, parse_iso(alert["first_seen_at"]), now):
                    plan.append(("open", alert["id"], gate_id, cond))
            elif alert["clear_since"] is not None:
                # It came back before it counted as cleared: the same alert goes on.
                plan.append(("unclear", alert["id"]))
        for (kind, face_id), alert in alerts.items():
            if (kind, face_id) in holding or kind in unknown:
                continue
            if alert["state"] == "pending":
                plan.append(("forget", alert["id"]))
            elif alert["clear_since"] is None:
                plan.append(("clear", alert["id"]))
            elif (now - parse_iso(alert["clear_since"])).total_seconds() >= clear_after:
                plan.append(("resolve", alert["id"]))
    return plan


def evaluate(db, settings, now: datetime | None = None,
             memory: FleetMemory | None = None) -> dict[str, int]:
    """One pass of the rules over every gate; returns what changed. Call it only
    while holding the alerts lock (`tick` does): the fleet is read in a read
    transaction (reports keep flowing meanwhile), and only the changes are written.
    `memory`: the loop's FleetMemory (None: read and evaluate everything)."""
    now = now or utcnow()
    changed = {"pending": 0, "opened": 0, "resolved": 0, "forgotten": 0}
    with transaction(db) as conn:
        plan = _plan(conn, settings, now, memory or FleetMemory())
    if not plan:
        return changed
    a = t.alert.c
    with transaction(db, write=True) as conn:
        for action, *args in plan:
            if action == "new":
                gate_id, cond, held = args
                alert_id = conn.execute(insert(t.alert).values(
                    gate_id=gate_id, kind=cond.kind, face_id=cond.face_id,
                    severity=cond.severity, state="pending", first_seen_at=iso(now),
                    detail=json.dumps(cond.detail, ensure_ascii=False))
                    .returning(a.id)).scalar_one()
                changed["pending"] += 1
                if held:
                    _open(conn, alert_id, gate_id, cond, now)
                    changed["opened"] += 1
            elif action == "open":
                _open(conn, *args, now)
                changed["opened"] += 1
            elif action == "unclear":
                conn.execute(update(t.alert).where(a.id == args[0]).values(clear_since=None))
            elif action == "forget":
                conn.execute(delete(t.alert).where(a.id == args[0], a.state == "pending"))
                changed["forgotten"] += 1
            elif action == "clear":
                conn.execute(update(t.alert).where(a.id == args[0]).values(clear_since=iso(now)))
            elif action == "resolve":
                conn.execute(update(t.alert).where(a.id == args[0]).values(
                    state="resolved", resolved_at=iso(now)))
                _queue(conn, args[0], "resolved", _told(conn, args[0]), now)
                changed["resolved"] += 1
    return changed


# ---- the loop ----------------------------------------------------------------------
def tick(db, settings, now: datetime | None = None, sender=None,
         memory: FleetMemory | None = None) -> dict | None:
    """Evaluate and deliver, if no other process is doing so; None when another was."""
    with exclusive(db, "alerts") as mine:
        if not mine:
            return None
        return _work(db, settings, now, sender, memory)


def _work(db, settings, now, sender, memory) -> dict:
    from central.alert_delivery import Sender, deliver_due

    changed = evaluate(db, settings, now, memory)
    changed["delivery"] = deliver_due(db, settings, sender or Sender(settings), now)
    return changed


class AlertLoop:
    """`tick` every `central_alert_interval_s` in a daemon thread (each application
    server runs one; the lock makes one of them work).

    The server that gets the lock keeps it for up to HOLD_TICKS ticks: were the
    servers to take turns every tick, each would evaluate as often as the one did
    (the lock only keeps them from working at the same moment), from a memory that
    missed the others' ticks. Any failure (a database restart also breaks the lock's
    connection) lets the lock go at once; another server takes over at its next tick."""

    HOLD_TICKS = 12

    def __init__(self, db, settings):
        self.db, self.settings = db, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "AlertLoop":
        self._thread = threading.Thread(target=self.run, name="central-alerts", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        from central.alert_delivery import Sender

        sender = Sender(self.settings)
        memory = FleetMemory()
        interval = self.settings["central_alert_interval_s"]
        while not self._stop.is_set():
            held = False
            try:
                with exclusive(self.db, "alerts") as held:
                    for _ in range(self.HOLD_TICKS if held else 0):
                        _work(self.db, self.settings, None, sender, memory)
                        if self._stop.wait(interval):
                            return
            except Exception:
                log.exception("alert evaluation failed; trying again next tick")
                held = False
            if not held:  # after holding it, ask again at once (another may get it)
                self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


# ---- people: list, acknowledge, subscriptions ------------------------------------
def list_alerts(db, include_resolved: bool = False, limit: int = 200,
                gate_id: str | None = None) -> list[dict]:
    """Open alerts first (newest first), then, if asked, resolved ones; never pending."""
    a, g = t.alert.c, t.gate.c
    query = (select(t.alert, g.name.label("gate_name")).join(t.gate, g.id == a.gate_id)
             .where(a.state != "pending"))
    if not include_resolved:
        query = query.where(a.state == "open")
    if gate_id:
        query = query.where(a.gate_id == gate_id)
    query = query.order_by((a.state == "open").desc(), a.opened_at.desc(), a.id.desc()).limit(limit)
    with transaction(db) as conn:
        found = rows(conn.execute(query))
        d = t.alert_delivery.c
        ids = [r["id"] for r in found]
        deliveries: dict[int, dict[str, int]] = {}
        if ids:
            for alert_id, state, n in conn.execute(
                    select(d.alert_id, d.state, func.count()).where(d.alert_id.in_(ids))
                    .group_by(d.alert_id, d.state)).all():
                deliveries.setdefault(alert_id, {})[state] = n
    for r in found:
        r["detail"] = json.loads(r["detail"] or "{}")
        r["deliveries"] = deliveries.get(r["id"], {})
    return found


def get_alert(db, alert_id: int) -> dict:
    with transaction(db) as conn:
        found = rows(conn.execute(select(t.alert).where(t.alert.c.id == alert_id)))
    if not found or found[0]["state"] == "pending":
        raise NotFound(_("There is no alert %(id)s.", id=alert_id))
    alert = found[0]
    alert["detail"] = json.loads(alert["detail"] or "{}")
    return alert


def acknowledge(db, alert_id: int, by: str) -> dict:
    """Someone has seen the alert and is on it: who and when, in the alert and the
    audit log. Acknowledging again changes nothing."""
    require_right(db, by, ACK_RIGHT)
    with transaction(db, write=True) as conn:
        alert = get_alert(conn, alert_id)
        if alert["acknowledged_at"] is None:
            now = iso(utcnow())
            conn.execute(update(t.alert).where(t.alert.c.id == alert_id, t.alert.c.acknowledged_at.is_(None))
                         .values(acknowledged_at=now, acknowledged_by=by))
            audit(conn, by, "alert.ack", str(alert_id),
                  {"gate": alert["gate_id"], "kind": alert["kind"], "face": alert["face_id"]})
        return get_alert(conn, alert_id)


def _check_address(channel: str, address) -> str:
    from email.headerregistry import Address
    from urllib.parse import urlsplit

    if not isinstance(address, str) or not address.strip() or len(address) > 500:
        raise CentralError(_("Give an email address or a webhook URL."))
    address = address.strip()
    if channel == "email":
        try:
            parsed = Address(addr_spec=address)
        except (ValueError, IndexError, TypeError):
            parsed = None
        if parsed is None or not parsed.domain or "@" not in address:
            raise CentralError(_("%(address)s is not an email address.", address=address))
    else:
        url = urlsplit(address)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise CentralError(_("A webhook is an http:// or https:// URL, not %(address)s.", address=address))
    return address


def add_subscription(db, channel: str, address: str, group_id: str | None = None,
                     min_severity: str = "warning", by: str = "cli") -> int:
    """Tell `address` (email or webhook) of alerts of at least `min_severity` on the
    gates of `group_id` (None: every gate). Returns its id."""
    if channel not in CHANNELS:
        raise CentralError(_("Alerts are sent by email or webhook, not %(channel)s.", channel=channel))
    if min_severity not in SEVERITIES:
        raise CentralError(_("The severity is warning or critical, not %(severity)s.", severity=min_severity))
    address = _check_address(channel, address)
    with transaction(db, write=True) as conn:
        if group_id:
            check_id(group_id, "group")
            if conn.execute(select(t.gate_group.c.id).where(t.gate_group.c.id == group_id)).first() is None:
                raise NotFound(_("There is no group %(group)s.", group=group_id))
        sub_id = conn.execute(insert(t.alert_subscription).values(
            channel=channel, address=address, group_id=group_id or None,
            min_severity=min_severity, created_at=iso(utcnow()), created_by=by)
            .returning(t.alert_subscription.c.id)).scalar_one()
        audit(conn, by, "alert.subscribe", str(sub_id), {
            "channel": channel, "address": address, "group": group_id, "severity": min_severity})
    return sub_id


def list_subscriptions(db) -> list[dict]:
    """Every subscription, with its group's name (group_name; None: every gate)."""
    s, g = t.alert_subscription.c, t.gate_group.c
    with transaction(db) as conn:
        return rows(conn.execute(
            select(t.alert_subscription, g.name.label("group_name"))
            .outerjoin(t.gate_group, g.id == s.group_id).order_by(s.id)))


def subscription_groups(db) -> list[dict]:
    """The groups a subscription can name (id and name)."""
    g = t.gate_group.c
    with transaction(db) as conn:
        return rows(conn.execute(select(g.id, g.name).order_by(g.name)))


def remove_subscription(db, sub_id: int, by: str = "cli") -> None:
    """Stop telling a subscriber; messages still waiting for it are dropped."""
    s = t.alert_subscription.c
    with transaction(db, write=True) as conn:
        found = rows(conn.execute(select(t.alert_subscription).where(s.id == sub_id)))
        if not found:
            raise NotFound(_("There is no subscription %(id)s.", id=sub_id))
        conn.execute(delete(t.alert_delivery).where(t.alert_delivery.c.subscription_id == sub_id))
        conn.execute(delete(t.alert_subscription).where(s.id == sub_id))
        audit(conn, by, "alert.unsubscribe", str(sub_id),
              {"channel": found[0]["channel"], "address": found[0]["address"]})


def deliveries(db, alert_id: int | None = None) -> list[dict]:
    d = t.alert_delivery.c
    query = select(t.alert_delivery).order_by(d.id)
    if alert_id is not None:
        query = query.where(d.alert_id == alert_id)
    with transaction(db) as conn:
        return rows(conn.execute(query))

