"""Run the central server under gunicorn (threaded workers: a gate waiting on
the change notification parks one thread, not a process)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from kiosk.settings import Settings

from central import heap
from central.db import database_url, migrate


class CentralServer(BaseApplication):
    def __init__(self, settings: Settings, bind: str, workers: int, threads: int,
                 extra: dict | None = None):
        self.settings = settings
        self.options = {
            "bind": bind,
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            # Each waiting gate is an open connection: allow well beyond the threads.
            "worker_connections": max(1000, 4 * threads),
            # Long polls are held up to central_wait_max_s; the worker itself
            # keeps answering the arbiter meanwhile, so this only catches hangs.
            "timeout": 60,
            # Waiting gates are told nothing on shutdown; they simply retry.
            "graceful_timeout": 5,
            "keepalive": 5,
            "control_socket_disable": True,
            "accesslog": None,
            **(extra or {}),
        }
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Called in each worker after the fork: threads start there.
        from central.app import create_app

        app = create_app(self.settings, background=True, migrate=False)
        heap.settle()
        return app


def serve(settings: Settings, bind: str, workers: int, threads: int) -> None:
    # Migrate here, in the master, once: workers fork from a current schema.
    migrate(database_url(settings))
    CentralServer(settings, bind, workers, threads).run()
