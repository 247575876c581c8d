"""The request's view of the gate: its database connection, the settings
(with what an admin saved in the database) and the media store."""

from __future__ import annotations

import threading

from flask import current_app, g

from kiosk.mediastore import MediaStore
from kiosk.settings import with_database
from kiosk.store import connect

_local = threading.local()


def get_db():
    """This thread's connection, kept across requests (opening one and setting
    its pragmas costs more than a dashboard's queries). gunicorn's gthread
    workers reuse their threads; WAL means readers never block the player."""
    path = current_app.extensions["gatecast_settings"].db_path
    db = getattr(_local, "db", None)
    if db is None or getattr(_local, "path", None) != path:
        if db is not None:
            db.close()
        db = _local.db = connect(path)
        _local.path = path
    return db


def close_db(exc=None):
    db = getattr(_local, "db", None)
    if db is not None and db.conn.in_transaction:
        # A request that failed half-way must not leave a transaction open
        # for the next one on this thread.
        db.conn.rollback()


def get_settings():
    """Settings including values an admin saved in the database."""
    if "settings" not in g:
        g.settings = with_database(current_app.extensions["gatecast_settings"], get_db())
    return g.settings


def media_store() -> MediaStore:
    return MediaStore(get_settings().media_dir)


def init_app(app) -> None:
    app.teardown_appcontext(close_db)
