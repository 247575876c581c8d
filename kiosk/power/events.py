"""Power facts for the operator: an `event` row (the admin shows them) and, in
the player process, the same fact as a JSON log line (journald keeps it)."""

from __future__ import annotations

import logging

from kiosk.jsonlog import log
from kiosk.store import log_event

logger = logging.getLogger("gatecast.power")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def record(db, level: str, code: str, message: str, face_id: int | None = None,
           detail: dict | None = None, source: str = "power") -> None:
    log_event(db, source, level, code, message, face_id=face_id, detail=detail)
    log(logger, _LEVELS[level], message, code=code, face=face_id, **(detail or {}))
