"""A short per-process memory of gate tokens found good, so that a gate's
reports (heartbeat, proof of play) and nginx's feed checks skip the gate
look-up while the memory is fresh.

Correctness first: only a token that matched the stored hash is remembered,
for `central_gate_token_cache_s` seconds at most (0: never). A token reissued
in this process (`central.fleet.reissue_token`) is forgotten at once; one
reissued in another process (the CLI, another gunicorn worker or app host)
stops working within that many seconds. A wrong token, an unknown gate or an
expired entry always goes to the database.

The server (gunicorn's workers) also reads every gate's token hash every half
lifetime (`keep_fresh`): a gate reports once a minute, longer than the
lifetime, so without it each report would look its gate up.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import weakref

from central.users import hash_token, token_matches

log = logging.getLogger("gatecast.central")

# Every memory of this process, so that a reissued token is forgotten by all.
_all: weakref.WeakSet[GoodTokens] = weakref.WeakSet()
_all_lock = threading.Lock()


class GoodTokens:
    """One app's memory: gate id -> (sha256 of the token found good, the gate
    row, monotonic expiry). Bounded: only good tokens enter, so made-up ids
    cannot grow it past the fleet."""

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
        self._good: dict[str, tuple[str, dict, float]] = {}
        self._forgotten: set[str] | None = None  # forgotten during a refresh's read
        with _all_lock:
            _all.add(self)

    def recall(self, gate_id: str, token: str) -> dict | None:
        """The gate, when `token` was found good for it within the lifetime; else None."""
        entry = self._good.get(gate_id)
        if entry is None or not token:
            return None
        token_hash, gate, expires = entry
        if self._clock() >= expires:
            self.forget(gate_id)
            return None
        return gate if hmac.compare_digest(hash_token(token), token_hash) else None

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
        """Keep `gate` (its row, whose token_hash was just matched)."""
        if self.lifetime_s <= 0 or not gate.get("token_hash"):
            return
        with self._lock:
            if len(self._good) >= self.MAX_ENTRIES:
                self._good.clear()
            self._good[gate_id] = (gate["token_hash"], gate, self._clock() + self.lifetime_s)

    def refresh(self, store) -> int:
        """Remember every gate's current token hash (one read of the gate table), so
        that a gate's reports find it here even when its last report was longer ago
        than the lifetime. Entries get a full lifetime from now: called every half
        lifetime (`keep_fresh`), a token changed in another process still stops
        within the lifetime. A preloaded entry's gate is its id and token hash only:
        callers that need the rest look the gate up (screenshots do). Returns how
        many gates it holds."""
        if self.lifetime_s <= 0:
            return 0
        from sqlalchemy import select

        from central import schema as t

        with self._lock:
            self._forgotten = set()
        with store.transaction() as conn:
            found = conn.execute(select(t.gate.c.id, t.gate.c.token_hash)).all()
        expires = self._clock() + self.lifetime_s
        fresh = {gate_id: (token_hash, {"id": gate_id, "token_hash": token_hash}, expires)
                 for gate_id, token_hash in found[:self.MAX_ENTRIES] if token_hash}
        with self._lock:
            # A token reissued while we read may have been read before it changed.
            if None in self._forgotten:  # everything was forgotten
                fresh = {}
            for gate_id in self._forgotten:
                fresh.pop(gate_id, None)
            self._forgotten = None
            self._good = fresh
        return len(fresh)

    def keep_fresh(self, store) -> threading.Thread | None:
        """A daemon thread that calls `refresh` every half lifetime (the server's)."""
        if self.lifetime_s <= 0:
            return None

        def run():
            while True:
                try:
                    self.refresh(store)
                except Exception:  # a restarting database: looked up per report meanwhile
                    log.warning("could not read the gates' tokens; retrying", exc_info=True)
                time.sleep(self.lifetime_s / 2)

        thread = threading.Thread(target=run, name="gate-tokens", daemon=True)
        thread.start()
        return thread

    def forget(self, gate_id: str | None = None) -> None:
        with self._lock:
            if gate_id is None:
                self._good.clear()
            else:
                self._good.pop(gate_id, None)
            if self._forgotten is not None:
                self._forgotten.add(gate_id)


def forget(gate_id: str) -> None:
    """A gate's token changed (or the gate left): every memory of this process drops it."""
    with _all_lock:
        memories = list(_all)
    for memory in memories:
        memory.forget(gate_id)
