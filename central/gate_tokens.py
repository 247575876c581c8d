"""A short per-process memory of gate tokens found good, so that a gate's
reports (heartbeat, proof of play) and nginx's feed checks skip the gate
look-up while the memory is fresh.

Correctness first: only a token that matched the stored hash is remembered,
for `central_gate_token_cache_s` seconds at most (0: never). A token reissued
in this process (`central.fleet.reissue_token`) is forgotten at once; one
reissued in another process (the CLI, another gunicorn worker or app host)
stops working within that many seconds. A wrong token, an unknown gate or an
expired entry always goes to the database.

The servers (gunicorn's workers, the report servers) also keep every gate's
token hash in memory (`keep_fresh`): a gate reports once a minute, longer than
the lifetime, so without it each report would look its gate up. Every half
lifetime they read only the gates whose token changed since their last read:
every path that issues or changes a token stamps the gate with the next
`gate_token_clock` version (`next_version`, in the same transaction). Writers
take that one row's lock, so versions commit in the order they are numbered: a
read that sees version v also sees every version below it, and the highest
version read is a safe watermark for the next read.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import weakref

from sqlalchemy import or_, select, update

from central import schema as t
from central.db import among
from central.users import hash_token, token_matches

log = logging.getLogger("gatecast.central")

# Every memory of this process, so that a reissued token is forgotten by all.
_all: weakref.WeakSet[GoodTokens] = weakref.WeakSet()
_all_lock = threading.Lock()


def next_version(conn) -> int:
    """The next token version, for a gate whose token is issued or changed in this
    transaction (`gate.token_version`). Holds the clock row's lock until the
    transaction ends: versions commit in order (see the module's comment)."""
    c = t.gate_token_clock.c
    return conn.execute(update(t.gate_token_clock).where(c.id == 1)
                        .values(version=c.version + 1).returning(c.version)).scalar_one()


class GoodTokens:
    """One app's memory: gate id -> (sha256 of the token found good, the gate
    row, expiry, token version). Bounded: only good tokens enter, so made-up ids
    cannot grow it past the fleet.

    Two kinds of entries. One read by `refresh` has no expiry of its own
    (None): it is good while the refreshes keep succeeding (`_fresh_until`, a
    lifetime after the start of the last successful one), because each refresh
    reads every token changed since the one before. One found by a look-up
    (`check`) is good for a lifetime from then."""

    MAX_ENTRIES = 50_000

    def __init__(self, lifetime_s: float, clock=time.monotonic, look_up=None):
        """`look_up(store, gate_id)`: the gate's row, or None for an unknown id; the
        app passes central.fleet.find_gate. Passed in, not imported: fleet imports
        this module (reissue_token forgets a token), and modules never import each
        other (tests/test_house.py). Without it only remembered tokens are good."""
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._look_up = look_up
        self._lock = threading.Lock()
        self._good: dict[str, tuple[str, dict, float | None, int]] = {}
        self._seen = -1  # the highest token version read; -1: read every gate next
        self._fresh_until = float("-inf")  # refreshed entries are good until then
        self._reread: set[str] = set()  # forgotten gates the next refresh reads again
        self._forgotten: set[str | None] | None = None  # forgotten during a refresh's read
        self.last_read = 0  # gates the last refresh read (the bench and tests look)
        with _all_lock:
            _all.add(self)

    def recall(self, gate_id: str, token: str) -> dict | None:
        """The gate, when `token` was found good for it within the lifetime; else None."""
        entry = self._good.get(gate_id)
        if entry is None or not token:
            return None
        token_hash, gate, expires, _version = entry
        if self._clock() >= (self._fresh_until if expires is None else expires):
            if expires is not None:
                self._drop_expired(gate_id, entry)
            return None  # a refreshed entry stays: the next refresh makes it good again
        return gate if hmac.compare_digest(hash_token(token), token_hash) else None

    def _drop_expired(self, gate_id: str, entry) -> None:
        with self._lock:
            if self._good.get(gate_id) is entry:
                del self._good[gate_id]

    def check(self, store, gate_id: str, token: str, cached: bool = True) -> dict | None:
        """The gate when `token` is its token, else None (an unknown gate and a wrong
        token alike). `cached`: a token found good within the lifetime is taken
        from memory; otherwise the gate is looked up in `store` (and remembered)."""
        if not token:
            return None
        if cached and (gate := self.recall(gate_id, token)) is not None:
            return gate
        gate = self._look_up(store, gate_id) if self._look_up else None
        if gate is None or not token_matches(token, gate["token_hash"]):
            return None
        self.remember(gate_id, gate)
        return gate

    def remember(self, gate_id: str, gate: dict) -> None:
        """Keep `gate` (its row, whose token_hash was just matched), for a lifetime.
        An entry of a newer token version, or a refreshed one of the same, stays:
        a look-up that read before a refresh must not bring an old token back."""
        if self.lifetime_s <= 0 or not gate.get("token_hash"):
            return
        version = gate.get("token_version", 0)
        with self._lock:
            known = self._good.get(gate_id)
            if known is not None and (known[3] > version
                                      or (known[3] == version and known[2] is None)):
                return
            if len(self._good) >= self.MAX_ENTRIES:
                self._clear()
            self._good[gate_id] = (gate["token_hash"], gate, self._clock() + self.lifetime_s,
                                   version)

    def refresh(self, store) -> int:
        """Bring the memory up to date with the gate table, reading only the gates
        whose token version is above the highest one read so far (every gate the
        first time), and those forgotten since: refreshed entries are then good for
        a lifetime from this call's start. Called every half lifetime (`keep_fresh`),
        a token changed in another process stops within the lifetime. A refreshed
        entry's gate is its id and token hash only: callers that need the rest look
        the gate up (screenshots do). Returns how many gates the memory holds."""
        if self.lifetime_s <= 0:
            return 0
        started = self._clock()
        g = t.gate.c
        with self._lock:
            self._forgotten = set()
            seen, reread = self._seen, list(self._reread)
        # One statement, so one snapshot: the watermark argument needs it.
        columns = select(g.id, g.token_hash, g.token_version)
        try:
            with store.transaction() as conn:
                if reread:
                    found = conn.execute(columns.where(or_(
                        g.token_version > seen, among(g.id, "reread", conn.dialect.name))),
                        {"reread": reread}).all()
                else:
                    found = conn.execute(columns.where(g.token_version > seen)).all()
        except BaseException:
            with self._lock:
                self._forgotten = None
            raise
        with self._lock:
            forgotten, self._forgotten = self._forgotten, None
            self.last_read = len(found)
            if None in forgotten:  # everything was forgotten while we read
                return len(self._good)
            for gate_id, token_hash, version in found:
                self._seen = max(self._seen, version)
                if gate_id in forgotten:
                    continue  # may have been read before it changed: read again next time
                self._reread.discard(gate_id)
                known = self._good.get(gate_id)
                if known is not None and known[3] > version:
                    continue  # a look-up already found a newer token
                if not token_hash:
                    self._good.pop(gate_id, None)
                elif len(self._good) < self.MAX_ENTRIES or gate_id in self._good:
                    self._good[gate_id] = (token_hash, {"id": gate_id, "token_hash": token_hash},
                                           None, version)
            self._reread -= set(reread) - forgotten
            self._fresh_until = started + self.lifetime_s
            return len(self._good)

    def keep_fresh(self, store, stop: threading.Event | None = None) -> threading.Thread | None:
        """A daemon thread that calls `refresh` every half lifetime (the server's),
        until `stop` is set (None: for the process's life)."""
        if self.lifetime_s <= 0:
            return None
        stop = stop or threading.Event()

        def run():
            while not stop.is_set():
                try:
                    self.refresh(store)
                except Exception:  # a restarting database: looked up per report meanwhile
                    log.warning("could not read the gates' tokens; retrying", exc_info=True)
                stop.wait(self.lifetime_s / 2)

        thread = threading.Thread(target=run, name="gate-tokens", daemon=True)
        thread.start()
        return thread

    def _clear(self) -> None:
        """Forget everything (under the lock): the next refresh reads every gate."""
        self._good.clear()
        self._reread.clear()
        self._seen = -1
        self._fresh_until = float("-inf")
        if self._forgotten is not None:  # a refresh reading now must not set _seen
            self._forgotten.add(None)

    def forget(self, gate_id: str | None = None) -> None:
        """Drop a gate's token (None: every gate's) at once; the next refresh reads
        it again, whatever its version."""
        with self._lock:
            if gate_id is None:
                self._clear()
            else:
                self._good.pop(gate_id, None)
                self._reread.add(gate_id)
                if self._forgotten is not None:
                    self._forgotten.add(gate_id)


def forget(gate_id: str) -> None:
    """A gate's token changed (or the gate left): every memory of this process drops it."""
    with _all_lock:
        memories = list(_all)
    for memory in memories:
        memory.forget(gate_id)
