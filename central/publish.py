"""Publishing: build each gate's release document (docs/sync-protocol.md) from
its assignments and its groups', and sign a new repository version in which
every release and every media file it references is a target.

A release's version is the repository (snapshot) version in which its
content last changed: it only ever grows, it is taken from the signed
repository itself, so a failed database write can never make one version
number name two different documents, and a gate whose content did not change
keeps its version (and its unchanged poll stays unchanged).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select

from kiosk.store import iso, parse_iso, utcnow

from central import assign
from central import schema as t
from central.db import Store, publishing, row, rows, transaction
from central.feed import announce
from central.fleet import groups_of, list_gates
from central.library import get_media, library_store, slide_background
from central.repo import Repository, TargetSpec
from central.checks import CentralError
from central.users import audit

FORMAT = 1


class PublishError(CentralError):
    pass


@dataclass
class PublishResult:
    publication_id: int
    repository_version: int
    changed: dict[str, int] = field(default_factory=dict)  # gate -> new release version
    unchanged: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _json(value: str | None, default):
    return json.loads(value) if value else default


def _on_faces(faces_json: str, gate_faces: list[int]) -> list[int]:
    """An assignment's faces on this gate ([] = all of them)."""
    wanted = _json(faces_json, [])
    return list(gate_faces) if not wanted else [f for f in wanted if f in gate_faces]


def _live(until: str | None, now: datetime) -> bool:
    return until is None or parse_iso(until) > now


def build_release(db, gate: dict, now: datetime, state_dir) -> tuple[dict, list[str]]:
    """The release document of one gate, without version and published_at,
    and warnings for the operator. Raises PublishError on unapproved media.
    `db` is a Connection: one snapshot of the assignments for every gate."""
    groups = groups_of(db, gate["id"])
    faces = gate["faces"]
    warnings: list[str] = []
    assigned = {name: assign.for_gate(db, name, gate["id"], groups)
                for name in assign.ASSIGNMENT_TABLES}

    entries = []
    for row in assigned["schedule_entry"]:
        on = _on_faces(row["faces"], faces)
        if on and _live(row["not_after"], now):
            entries.append((row, on))
    # Per face, the most specific fallback wins: the gate's own for that face,
    # the gate's for every face, then a group's for the face, then a group's.
    fallbacks = {}
    rank = {("gate", False): 0, ("gate", True): 1, ("group", False): 2, ("group", True): 3}
    for face in faces:
        candidates = [r for r in assigned["fallback"] if r["face_id"] in (None, face)]
        if candidates:
            best = min(candidates, key=lambda r: rank[(r["target_kind"], r["face_id"] is None)])
            fallbacks[face] = best["playlist_id"]
    # A gate's own power windows replace its groups' (a gate with a different
    # daylight pattern overrides the province default).
    own_power = [r for r in assigned["power_window"] if r["target_kind"] == "gate"]
    power_rows = own_power or assigned["power_window"]
    power = [{"face_id": face, "weekdays": _json(r["weekdays"], []),
              "start_time": r["start_time"], "end_time": r["end_time"]}
             for r in power_rows for face in (faces if r["face_id"] is None else [r["face_id"]])
             if face in faces]
    notices = [{"id": r["id"], "kind": r["kind"], "level": r["level"],
                "texts": _json(r["texts"], {}), "faces": _json(r["faces"], []),
                "style": _json(r["style"], {}), "starts_at": r["starts_at"],
                "expires_at": r["expires_at"]}
               for r in assigned["notice"] if _live(r["expires_at"], now)]

    playlist_ids = sorted({row["playlist_id"] for row, _ in entries} | set(fallbacks.values()))
    playlists, media, unapproved = [], {}, []
    i, m = t.playlist_item.c, t.media.c
    for pid in playlist_ids:
        name = db.execute(select(t.playlist.c.name).where(t.playlist.c.id == pid)).scalar_one()
        items = []
        for item in rows(db.execute(
                select(i.duration_s.label("item_duration_s"), m.sha256, m.kind, m.name, m.size,
                       m.duration_s, m.width, m.height, m.state)
                .join_from(t.playlist_item, t.media, m.sha256 == i.media_sha256)
                .where(i.playlist_id == pid).order_by(i.position))):
            if item["state"] == "retired":
                warnings.append(f"{gate['id']}: playlist {pid} skips retired {item['name']}")
                continue
            if item["state"] != "approved":
                unapproved.append(f"{item['name']} ({item['sha256'][:12]}) in playlist {pid}")
                continue
            if item["kind"] == "text" and not _background_ok(db, state_dir, item, media, unapproved):
                continue
            items.append({"media_sha256": item["sha256"], "duration_s": item["item_duration_s"]})
            media[item["sha256"]] = _media_entry(item)
        if items:
            playlists.append({"id": pid, "name": name, "items": items})
        else:
            warnings.append(f"{gate['id']}: playlist {pid} has nothing publishable; left out")
    if unapproved:
        raise PublishError(f"gate {gate['id']}: not approved: " + "; ".join(unapproved))
    kept = {p["id"] for p in playlists}
    doc = {
        "format": FORMAT,
        "gate_id": gate["id"],
        "media": [media[sha] for sha in sorted(media)],
        "playlists": playlists,
        "schedule_entries": [
            {"id": row["id"], "name": row["name"], "playlist_id": row["playlist_id"],
             "faces": on, "start_date": row["start_date"], "end_date": row["end_date"],
             "weekdays": _json(row["weekdays"], []), "start_time": row["start_time"],
             "end_time": row["end_time"], "level": row["level"],
             "not_before": row["not_before"], "not_after": row["not_after"]}
            for row, on in entries if row["playlist_id"] in kept],
        "fallbacks": [{"face_id": face, "playlist_id": pid}
                      for face, pid in sorted(fallbacks.items()) if pid in kept],
        "power_windows": power,
        "notices": notices,
    }
    return doc, warnings


def _media_entry(row: dict) -> dict:
    return {k: row[k] for k in ("sha256", "kind", "name", "size", "duration_s", "width", "height")}


def _background_ok(db, state_dir, slide: dict, media: dict, unapproved: list) -> bool:
    """A text slide drawn on an image brings that image into the release (the
    gate needs it signed like any media); it must be approved too."""
    sha = slide_background(state_dir, slide["sha256"])
    if sha is None:
        return True
    background = get_media(db, sha)
    if background["state"] != "approved":
        unapproved.append(f"{background['name']} ({sha[:12]}), background of {slide['name']}")
        return False
    media[sha] = _media_entry(background)
    return True


def _content_hash(doc: dict) -> str:
    body = {k: v for k, v in doc.items() if k not in ("version", "published_at")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _encode(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def current_release(db, gate_id: str) -> dict | None:
    r = t.release.c
    with transaction(db) as conn:
        return row(conn.execute(select(t.release).where(r.gate_id == gate_id)
                                .order_by(r.version.desc()).limit(1)))


def publish(store: Store, repo: Repository, by: str = "cli", note: str = "",
            now: datetime | None = None, feed=None) -> PublishResult:
    """Build every gate's release and sign a new repository version, then
    tell the changed gates through `feed` (central/feed.py; None: the
    application's own wait endpoint watches the database).

    One publisher at a time across every application server (the
    `publishing` lock); releases are built from one read snapshot, and the
    publication is recorded in a short write transaction after signing, so
    reports keep flowing meanwhile."""
    with publishing(store), repo.lock():
        result = _publish(store, repo, by, note, now or utcnow())
        # Only now: every file is written, fsynced and renamed (timestamp.json
        # last, by repo.publish) and the publication is committed, so a gate
        # told here finds the new version wherever it reads. Still under the
        # lock, so announcements reach a channel in publication order.
        announce(feed, result)
        return result


def _publish(store: Store, repo: Repository, by: str, note: str,
             now: datetime) -> PublishResult:
    state_dir = repo.state_dir
    library = library_store(state_dir)
    release_dir = Path(state_dir) / "releases"
    release_dir.mkdir(parents=True, exist_ok=True)
    version = repo.version() + 1
    result = PublishResult(0, version)
    new_rows, specs, all_media = [], [], {}
    with store.transaction(snapshot=True) as db:
        for gate in list_gates(db):
            doc, warnings = build_release(db, gate, now, state_dir)
            result.warnings += warnings
            digest = _content_hash(doc)
            last = current_release(db, gate["id"])
            if last and last["content_sha256"] == digest:
                data = last["document"].encode()
                result.unchanged[gate["id"]] = last["version"]
            else:
                doc = {**doc, "version": version, "published_at": iso(now)}
                data = _encode(doc)
                new_rows.append({"gate_id": gate["id"], "version": version,
                                 "content_sha256": digest, "published_at": iso(now),
                                 "document": data.decode()})
                result.changed[gate["id"]] = version
            path = release_dir / f"{gate['id']}.json.{hashlib.sha256(data).hexdigest()}"
            if not path.exists():
                path.write_bytes(data)
            specs.append(TargetSpec(f"releases/{gate['id']}.json", path, len(data),
                                    hashlib.sha256(data).hexdigest()))
            for item in json.loads(data)["media"]:
                all_media[item["sha256"]] = item["size"]
    for sha256, size in sorted(all_media.items()):
        if not library.has(sha256):
            raise PublishError(f"media {sha256} is missing from the library folder")
        specs.append(TargetSpec(f"media/{sha256}", library.path(sha256), size, sha256))
    repo_version = repo.publish(specs, now=now)
    with store.transaction(write=True) as db:
        pub = db.execute(insert(t.publication).values(
            at=iso(now), by=by, repository_version=repo_version,
            gates_changed=len(new_rows), note=note)).inserted_primary_key[0]
        if new_rows:
            db.execute(insert(t.release), [{**r, "publication_id": pub} for r in new_rows])
        audit(db, by, "publish", str(repo_version), {"changed": result.changed})
    result.publication_id, result.repository_version = pub, repo_version
    return result
