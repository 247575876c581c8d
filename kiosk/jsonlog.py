"""Structured logs: one JSON object per line on stdout (journald keeps them).

Any gatecast process calls `setup()` once; code logs through the standard
`logging` module and passes fields with `extra={"fields": {...}}` or `log()`.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                # A field never hides the record's own keys.
                entry[key if key not in entry else f"field_{key}"] = value
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key != "fields" and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: int = logging.INFO, stream=None) -> None:
    """Send every log record to stdout as JSON lines (idempotent)."""
    root = logging.getLogger()
    for h in root.handlers:
        if getattr(h, "_gatecast_json", False):
            return
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler._gatecast_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def log(_logger: logging.Logger, _level: int, _msg: str, /, **fields) -> None:
    _logger.log(_level, _msg, extra={"fields": fields})
