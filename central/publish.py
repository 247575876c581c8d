"""Publishing: build each gate's release document (docs/sync-protocol.md) from
its assignments and its groups', and sign a new repository version in which
every release and every media file it references is a target.

A publish can be scoped to some gates or groups (the others keep the release
they have), and one gate's unapproved media holds back that gate only: it
keeps its release, the reason is reported, every other gate in scope is
published. An emergency is published by itself (`publish_emergency`): its
targets get the release they already have plus the emergency, whatever is
pending anywhere, so nobody's unfinished work can delay or ride along with it.

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

from sqlalchemy import func, insert, select

from kiosk.store import iso, parse_iso, utcnow

from central import assign
from central import schema as t
from central.db import Store, publishing, row, rows, transaction
from central.feed import announce
from central.fleet import check_target, gates_of_target, list_gates
from central.library import (central_id, get_media, get_playlist, library_store,
                             slide_background)
from central.repo import Repository, TargetSpec
from central.checks import CentralError
from central.users import audit, require_role

# Who may publish an emergency alone (no second pair of eyes): the role the
# management API and the CLI both check.
EMERGENCY_ROLE = "editor"

FORMAT = 1


class PublishError(CentralError):
    pass


@dataclass
class PublishResult:
    publication_id: int
    repository_version: int
    changed: dict[str, int] = field(default_factory=dict)  # gate -> new release version
    unchanged: dict[str, int] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)  # gate -> why it kept its release
    warnings: list[str] = field(default_factory=list)


def _json(value: str | None, default):
    return json.loads(value) if value else default


def _on_faces(faces_json: str, gate_faces: list[int]) -> list[int]:
    """An assignment's faces on this gate ([] = all of them)."""
    wanted = _json(faces_json, [])
    return list(gate_faces) if not wanted else [f for f in wanted if f in gate_faces]


def _live(until: str | None, now: datetime) -> bool:
    return until is None or parse_iso(until) > now


class Snapshot:
    """What every gate's release is built from, read once per publication
    (a query per gate and table cost seconds at a thousand gates)."""

    def __init__(self, db):
        # table -> (target_kind, target_id) -> rows
        self.tables: dict[str, dict[tuple[str, str], list[dict]]] = {}
        for name in assign.ASSIGNMENT_TABLES:
            by_target = self.tables[name] = {}
            for r in rows(db.execute(select(t.metadata.tables[name]))):
                by_target.setdefault((r["target_kind"], r["target_id"]), []).append(r)
        m = t.gate_group_member.c
        self.groups: dict[str, list[str]] = {}
        for gate_id, group_id in db.execute(select(m.gate_id, m.group_id)
                                            .order_by(m.gate_id, m.group_id)):
            self.groups.setdefault(gate_id, []).append(group_id)
        # Central's kill switch (central/killswitch.py) rides every release.
        self.blanks = {r["gate_id"]: blank_doc(r) for r in rows(db.execute(select(t.gate_blank)))}

    def for_gate(self, table: str, gate_id: str) -> list[dict]:
        """Like assign.for_gate: the gate's own rows and its groups', by id."""
        by_target = self.tables[table]
        found = list(by_target.get(("gate", gate_id), ()))
        for group_id in self.groups.get(gate_id, ()):
            found += by_target.get(("group", group_id), ())
        return sorted(found, key=lambda r: r["id"])


def build_release(db, gate: dict, now: datetime, state_dir,
                  snapshot: Snapshot | None = None) -> tuple[dict, list[str]]:
    """The release document of one gate, without version and published_at,
    and warnings for the operator. Raises PublishError on unapproved media.
    `db` is a Connection; `snapshot` what was read for every gate at once."""
    snapshot = snapshot or Snapshot(db)
    faces = gate["faces"]
    warnings: list[str] = []
    assigned = {name: snapshot.for_gate(name, gate["id"]) for name in assign.ASSIGNMENT_TABLES}

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
    notices = [_notice_doc(r) for r in assigned["notice"] if _live(r["expires_at"], now)]

    playlist_ids = sorted({row["playlist_id"] for row, _ in entries} | set(fallbacks.values()))
    playlists, media, unapproved = [], {}, []
    for pid in playlist_ids:
        playlist = _playlist_doc(db, pid, gate["id"], state_dir, media, unapproved, warnings)
        if playlist:
            playlists.append(playlist)
    if unapproved:
        raise PublishError(f"gate {gate['id']}: not approved: " + "; ".join(unapproved))
    kept = {p["id"] for p in playlists}
    doc = {
        "format": FORMAT,
        "gate_id": gate["id"],
        "media": [media[sha] for sha in sorted(media)],
        "playlists": playlists,
        "schedule_entries": [_entry_doc(row, on) for row, on in entries
                             if row["playlist_id"] in kept],
        "fallbacks": [{"face_id": face, "playlist_id": pid}
                      for face, pid in sorted(fallbacks.items()) if pid in kept],
        "power_windows": power,
        "notices": notices,
    }
    return doc, warnings


def blank_doc(r: dict) -> dict:
    """A `gate_blank` row as the release document's `blank` field
    (docs/sync-protocol.md): faces [] means every face."""
    return {"active": bool(r["active"]), "faces": _json(r["faces"], []), "by": r["by"],
            "reason": r["reason"], "at": r["at"]}


def _notice_doc(r: dict) -> dict:
    return {"id": r["id"], "kind": r["kind"], "level": r["level"],
            "texts": _json(r["texts"], {}), "faces": _json(r["faces"], []),
            "style": _json(r["style"], {}), "starts_at": r["starts_at"],
            "expires_at": r["expires_at"]}


def _entry_doc(row: dict, on: list[int]) -> dict:
    return {"id": row["id"], "name": row["name"], "playlist_id": row["playlist_id"],
            "faces": on, "start_date": row["start_date"], "end_date": row["end_date"],
            "weekdays": _json(row["weekdays"], []), "start_time": row["start_time"],
            "end_time": row["end_time"], "level": row["level"],
            "not_before": row["not_before"], "not_after": row["not_after"]}


def _playlist_doc(db, pid: str, gate_id: str, state_dir, media: dict, unapproved: list,
                  warnings: list) -> dict | None:
    """A playlist as a release carries it: approved items only (the others
    are added to `unapproved`, retired ones skipped with a warning), their
    media added to `media`. None when nothing in it can be published."""
    i, m = t.playlist_item.c, t.media.c
    name = db.execute(select(t.playlist.c.name).where(t.playlist.c.id == pid)).scalar_one()
    items = []
    for item in rows(db.execute(
            select(i.duration_s.label("item_duration_s"), m.sha256, m.kind, m.name, m.size,
                   m.duration_s, m.width, m.height, m.state)
            .join_from(t.playlist_item, t.media, m.sha256 == i.media_sha256)
            .where(i.playlist_id == pid).order_by(i.position))):
        if item["state"] == "retired":
            warnings.append(f"{gate_id}: playlist {pid} skips retired {item['name']}")
            continue
        if item["state"] != "approved":
            unapproved.append(f"{item['name']} ({item['sha256'][:12]}) in playlist {pid}")
            continue
        if item["kind"] == "text" and not _background_ok(db, state_dir, item, media, unapproved):
            continue
        items.append({"media_sha256": item["sha256"], "duration_s": item["item_duration_s"]})
        media[item["sha256"]] = _media_entry(item)
    if not items:
        warnings.append(f"{gate_id}: playlist {pid} has nothing publishable; left out")
        return None
    return {"id": pid, "name": name, "items": items}


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


def _latest_releases(db) -> dict[str, dict]:
    """Every gate's current release (its highest version), in one query."""
    r = t.release.c
    newest = (select(r.gate_id, func.max(r.version).label("version"))
              .group_by(r.gate_id).subquery())
    return {row["gate_id"]: row for row in rows(db.execute(
        select(t.release).join(newest, (r.gate_id == newest.c.gate_id)
                               & (r.version == newest.c.version))))}


def publish(store: Store, repo: Repository, by: str = "cli", note: str = "",
            now: datetime | None = None, feed=None, *, gates=(), groups=()) -> PublishResult:
    """Build the releases of the gates in scope (`gates` and the members of
    `groups`; neither: every gate) and sign a new repository version, then
    tell the changed gates through `feed` (central/feed.py; None: the
    application's own wait endpoint watches the database).

    A gate whose content includes unapproved media keeps the release it has
    and is reported in `held` with the reason; the others are published.
    Gates out of scope keep theirs. Raises PublishError only when every gate
    in scope is held back (nothing would be published).

    One publisher at a time across every application server (the
    `publishing` lock); releases are built from one read snapshot, and the
    publication is recorded in a short write transaction after signing, so
    reports keep flowing meanwhile."""
    scope = scope_of(store, gates, groups)
    with publishing(store), repo.lock():
        result = _publish(store, repo, by, note, now or utcnow(), scope=scope)
        # Only now: every file is written, fsynced and renamed (timestamp.json
        # last, by repo.publish) and the publication is committed, so a gate
        # told here finds the new version wherever it reads. Still under the
        # lock, so announcements reach a channel in publication order.
        announce(feed, result)
        return result


def scope_of(db, gates=(), groups=()) -> set[str] | None:
    """The gate ids a publish is for (None: every gate); unknown ids refused."""
    if not gates and not groups:
        return None
    scope: set[str] = set()
    with transaction(db) as conn:
        for kind, ids in (("gate", gates), ("group", groups)):
            for target_id in ids:
                check_target(conn, kind, target_id)
                scope.update(gates_of_target(conn, kind, target_id))
    if not scope:
        raise PublishError("no gate in that scope (an empty group?)")
    return scope


def publish_emergency(store: Store, repo: Repository, target_kind: str, target_id: str, *,
                      by: str, reason: str, minutes: float, texts: dict | None = None,
                      playlist_id: str | None = None, faces=None, feed=None,
                      now: datetime | None = None) -> tuple[list[str], PublishResult]:
    """Make an emergency and publish it by itself, at once: each target gate
    gets the release it already has plus the emergency, whatever is pending
    (unapproved media, unpublished edits) on it or on any other gate; other
    gates keep theirs. Audited with who (`by`, whose role the caller checked)
    and why. Returns the ids made and the publication."""
    reason = (reason or "").strip()
    if not reason:
        raise CentralError("say why (the reason is kept in the audit log)")
    now = now or utcnow()
    with publishing(store), repo.lock():
        with store.transaction(write=True) as conn:
            require_role(conn, by, EMERGENCY_ROLE)
            check_target(conn, target_kind, target_id)
            if playlist_id:
                # The emergency's own media must be approved: checked before
                # anything is stored, so a refused emergency leaves no trace.
                unapproved: list[str] = []
                pid = get_playlist(conn, central_id(playlist_id, "playlist"))["id"]
                _playlist_doc(conn, pid, target_id, repo.state_dir, {}, unapproved, [])
                if unapproved:
                    raise PublishError("emergency playlist not approved: " + "; ".join(unapproved))
            made = assign.add_emergency(conn, target_kind, target_id, minutes=minutes,
                                        texts=texts, playlist_id=playlist_id, faces=faces,
                                        by=by, now=now)
            targets = gates_of_target(conn, target_kind, target_id)
            audit(conn, by, "emergency", f"{target_kind}:{target_id}",
                  {"reason": reason, "made": made, "minutes": minutes, "gates": targets})
        result = _publish(store, repo, by, f"emergency: {reason}"[:500], now,
                          scope=set(targets), emergency=made)
        announce(feed, result)
        return made, result


def publish_in_force(store: Store, repo: Repository, gate_ids, *, by: str, note: str,
                     feed=None, now: datetime | None = None) -> PublishResult:
    """Re-sign `gate_ids`' releases in force as they are, with their current
    kill switch state (central/killswitch.py): nothing pending anywhere rides
    along, and nothing waits for it. The emergency path with nothing added."""
    now = now or utcnow()
    with publishing(store), repo.lock():
        result = _publish(store, repo, by, note[:500], now, scope=set(gate_ids), emergency=[])
        announce(feed, result)
        return result


class EmergencyParts:
    """The emergency's notices and entries and their playlists as releases
    carry them, read once per publication (a query per gate cost most of the
    time an emergency for 10,000 gates took)."""

    def __init__(self, db, made: list[str], state_dir):
        n, e = t.notice.c, t.schedule_entry.c
        self.notices = rows(db.execute(select(t.notice).where(n.id.in_(made)).order_by(n.id)))
        self.entries = rows(db.execute(
            select(t.schedule_entry).where(e.id.in_(made)).order_by(e.id)))
        self.playlists: dict[str, tuple[dict, dict]] = {}  # id -> (playlist, its media)
        for pid in {r["playlist_id"] for r in self.entries}:
            media: dict = {}
            unapproved: list[str] = []
            playlist = _playlist_doc(db, pid, "", state_dir, media, unapproved, [])
            if unapproved or playlist is None:  # approved when made; changed since?
                raise PublishError(f"emergency playlist {pid} has nothing approved to show")
            self.playlists[pid] = (playlist, media)


def _with_emergency(last: dict | None, gate: dict, made: EmergencyParts) -> dict:
    """The gate's release in force (or an empty one) plus the emergency
    notices and entries `made`: nothing else pending goes with it."""
    if last is not None:
        doc = {k: v for k, v in json.loads(last["document"]).items()
               if k not in ("version", "published_at")}
    else:
        doc = {"format": FORMAT, "gate_id": gate["id"], "media": [], "playlists": [],
               "schedule_entries": [], "fallbacks": [], "power_windows": [], "notices": []}
    new_ids = {r["id"] for r in made.notices} | {r["id"] for r in made.entries}
    doc["notices"] = [x for x in doc["notices"] if x["id"] not in new_ids]
    doc["notices"] += [_notice_doc(r) for r in made.notices]
    doc["schedule_entries"] = [x for x in doc["schedule_entries"] if x["id"] not in new_ids]
    media = {m["sha256"]: m for m in doc["media"]}
    for r in made.entries:
        on = _on_faces(r["faces"], gate["faces"])
        if not on:
            continue
        playlist, playlist_media = made.playlists[r["playlist_id"]]
        media.update(playlist_media)
        # The emergency's playlist as it is now (it may differ from a copy
        # the release already carries under the same id).
        doc["playlists"] = [p for p in doc["playlists"] if p["id"] != playlist["id"]] + [playlist]
        doc["schedule_entries"].append(_entry_doc(r, on))
    doc["media"] = [media[sha] for sha in sorted(media)]
    # In build_release's order (by id), so the next full publish that finds
    # the same content keeps this version instead of making a new one.
    for key in ("notices", "schedule_entries", "playlists"):
        doc[key].sort(key=lambda x: x["id"])
    return doc


def _publish(store: Store, repo: Repository, by: str, note: str, now: datetime,
             scope: set[str] | None = None, emergency: list[str] | None = None
             ) -> PublishResult:
    state_dir = repo.state_dir
    library = library_store(state_dir)
    release_dir = Path(state_dir) / "releases"
    release_dir.mkdir(parents=True, exist_ok=True)
    version = repo.version() + 1
    result = PublishResult(0, version)
    new_rows, specs, all_media = [], [], {}
    with store.transaction(snapshot=True) as db:
        snapshot = Snapshot(db)
        parts = EmergencyParts(db, emergency, state_dir) if emergency is not None else None
        latest = _latest_releases(db)
        in_scope = []
        for gate in list_gates(db):
            last = latest.get(gate["id"])
            doc = None
            if scope is None or gate["id"] in scope:
                in_scope.append(gate["id"])
                try:
                    if emergency is not None:
                        doc = _with_emergency(last, gate, parts)
                    else:
                        doc, warnings = build_release(db, gate, now, state_dir, snapshot)
                        result.warnings += warnings
                except PublishError as e:
                    if emergency is not None:
                        raise
                    # This gate's pending work holds back this gate only.
                    result.held[gate["id"]] = str(e)
            if doc is None:  # out of scope or held back: it keeps its release
                if last is None:
                    continue
                data = last["document"].encode()
                if gate["id"] not in result.held:
                    result.unchanged[gate["id"]] = last["version"]
            else:
                # Whatever built the document, the gate's kill switch state
                # goes with it: a publish or an emergency never lifts a blank.
                doc.pop("blank", None)
                if gate["id"] in snapshot.blanks:
                    doc["blank"] = snapshot.blanks[gate["id"]]
                digest = _content_hash(doc)
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
    if result.held and all(g in result.held for g in in_scope):
        raise PublishError("nothing published: " + "; ".join(result.held.values()))
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
        audit(db, by, "publish", str(repo_version),
              {"changed": result.changed, "held": result.held,
               "scope": sorted(scope) if scope is not None else "all"})
    result.publication_id, result.repository_version = pub, repo_version
    return result
