"""A short per-process memory of gate tokens found good, so that a gate's
reports (heartbeat, proof of play) and nginx's feed checks skip the gate
look-up while the memory is fresh.

Correctness first: only a token that matched the stored hash is remembered,
for `central_gate_token_cache_s` seconds at most (0: never). A token reissued
in this process (`central.fleet.reissue_token`) is forgotten at once; one
reissued in another process (the CLI, another gunicorn worker or app host)
stops working within that many seconds. A wrong token, an unknown gate or an
expired entry always goes to the database.
"""

from __future__ import annotations

import hmac
import threading
import time
import weakref

from central.users import hash_token

# Every memory of this process, so that a reissued token is forgotten by all.
_all: weakref.WeakSet[GoodTokens] = weakref.WeakSet()
_all_lock = threading.Lock()


class GoodTokens:
    """One app's memory: gate id -> (sha256 of the token found good, the gate
    row, monotonic expiry). Bounded: only good tokens enter, so made-up ids
    cannot grow it past the fleet."""

    MAX_ENTRIES = 50_000

    def __init__(self, lifetime_s: float, clock=time.monotonic):
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._good: dict[str, tuple[str, dict, float]] = {}
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
        from central.checks import NotFound
        from central.fleet import get_gate
        from central.users import token_matches

        try:
            gate = get_gate(store, gate_id)
        except NotFound:
            return None
        if not token_matches(token, gate["token_hash"]):
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

    def forget(self, gate_id: str | None = None) -> None:
        with self._lock:
            if gate_id is None:
                self._good.clear()
            else:
                self._good.pop(gate_id, None)


def forget(gate_id: str) -> None:
    """A gate's token changed (or the gate left): every memory of this process drops it."""
    with _all_lock:
        memories = list(_all)
    for memory in memories:
        memory.forget(gate_id)
