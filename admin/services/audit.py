"""The audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

import json
from typing import Any

from kiosk.store import iso, utcnow

from admin.services import Actor


def record(db, actor: Actor | None, action: str, target: str = "",
           before: Any = None, after: Any = None) -> None:
    db["admin_audit"].insert({
        "at": iso(utcnow()),
        "username": actor.username if actor else "",
        "role": actor.role if actor else "",
        "action": action,
        "target": str(target),
        "before": None if before is None else json.dumps(before, ensure_ascii=False, default=str),
        "after": None if after is None else json.dumps(after, ensure_ascii=False, default=str),
        "client": actor.client if actor else "",
    })


def recent(db, limit: int = 200, offset: int = 0, action: str | None = None) -> list[dict]:
    where, params = "", []
    if action:
        where, params = "WHERE action LIKE ?", [action + "%"]
    rows = db.query(
        f"SELECT * FROM admin_audit {where} ORDER BY id DESC LIMIT ? OFFSET ?",
        params + [limit, offset],
    )
    out = []
    for r in rows:
        r["before"] = json.loads(r["before"]) if r["before"] else None
        r["after"] = json.loads(r["after"]) if r["after"] else None
        out.append(r)
    return out
