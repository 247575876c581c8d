"""A central server process settles its heap once started (central.heap): what it
keeps for its life is frozen, so full collections stop walking it."""

from __future__ import annotations

import asyncio
import gc

from central import heap
from central.report_server import ReportApp


class Writer:
    connected = False

    async def connect(self):
        self.connected = True


def test_the_report_server_freezes_what_it_keeps_once_started():
    # Lists: always tracked by the collector (a dict of strings may not be).
    kept = [[i] for i in range(1000)]  # e.g. the token memory
    app, writer = ReportApp(None, Writer(), 1, 1024), Writer()
    app.writer = writer
    sent = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            # Started: everything alive now is out of the collector's sight.
            assert not any(o is kept[0] for o in gc.get_objects())
            assert gc.get_freeze_count() >= len(kept)

    gc.unfreeze()
    try:
        asyncio.run(app({"type": "lifespan"}, receive, send))
        assert writer.connected
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        # Made after the start: seen and collected as before.
        later = [["made later"]]
        assert any(o is later[0] for o in gc.get_objects())
    finally:
        gc.unfreeze()
        app.pool.shutdown()


def test_settle_counts_what_it_froze():
    gc.unfreeze()
    try:
        assert heap.settle() == gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
