"""The one way tests wait for something to happen: poll a predicate.

CI runs on a small machine that other jobs share, so no wait is shorter than
MIN_TIMEOUT: a slow machine makes a test slower, never red. Speed is measured in
bench/, not here.
"""

from __future__ import annotations

import time

# Floor for every wait: a caller's shorter timeout says "soon", not "within N s".
MIN_TIMEOUT = 30.0


def wait_for(predicate, timeout: float = 60.0, what: str = "condition", *, interval: float = 0.05):
    """Call predicate() until it returns something truthy and return that value;
    raise AssertionError naming `what` after max(timeout, MIN_TIMEOUT) seconds.
    Exceptions raised by the predicate propagate (a dead process can fail fast)."""
    timeout = max(timeout, MIN_TIMEOUT)
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
