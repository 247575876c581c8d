"""A long-running server process's heap, settled once it has loaded what it keeps.

Python's cyclic garbage collector walks every tracked object of the oldest
generation in each full collection, holding the interpreter lock. In a central
server that is mostly what the process keeps for its life: modules, the Flask app,
table metadata, templates, the token memory (~100,000 objects). Measured at 10,000
gates (bench/central_intake.py, docs/benchmarks.md), full collections took 60-80 ms
in the report server and 100-160 ms in gunicorn's workers, every few seconds; the
reports in flight waited that long. Frozen after start-up, the report server's
longest was 14 ms in a 120 s run.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect once, then hide every object alive now from the collector
    (gc.freeze): call when a server process has loaded what it keeps. Objects made
    later are collected as before. Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
