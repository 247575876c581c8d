"""Publishing: build each gate's release document (docs/sync-protocol.md) from
its assignments and its groups', and sign a new repository version in which
every release and every media file it references is a target.

A publish can be scoped to some gates or groups (the others keep the release
they have), and one gate's unapproved media holds back that gate only: it
keeps its release, the reason is reported, every other gate in scope is
published. An emergency is published by itself (`publish_emergency`): its
targets get the release they already have plus the emergency, whatever is
pending anywhere, so nobody's unfinished work can delay or ride along with it.

Two locks: a full publication builds its releases (slow at a large fleet)
under `publishing`, then signs under the short `signing` lock, which is all
an emergency (or its cancellation) takes; inside it the releases in force
are read again and every live emergency is layered onto what is signed, so
an emergency published during a build goes out at once and stays.

A release's version is the repository (snapshot) version in which its
content last changed: it only ever grows, it is taken from the signed
repository itself, so a failed database write can never make one version
number name two different documents, and a gate whose content did not change
keeps its version (and its unchanged poll stays unchanged).

Media dates (valid_from/valid_until: whole days in central_timezone, both
included; docs/sync-protocol.md "Media dates") are honoured when a release is
built: an item outside its dates that day is left out, with a warning. A
release stays on a gate until the next one, so `withdraw_expired` (run by
the server's housekeeping every 10 minutes) re-signs, as they are but
without them, the releases in force that still carry media past its
valid-until; nothing else pending rides along.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from kiosk.store import iso, parse_iso, utcnow

from central import assign
from central import schema as t
from central.db import Store, publishing, row, rows, signing, transaction
from central.feed import announce
from central.fleet import check_target, gates_of_target, list_gates
from central.library import get_media, library_store, slide_background
from central.repo import Repository, TargetSpec
from central.checks import CentralError, Said
from central.users import audit, require_right

# Who may publish an emergency alone (no second pair of eyes): the role the
# management API and the CLI both check.
EMERGENCY_RIGHT = "emergency"  # operator, admin (central/users.py)

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
    held_errors: dict[str, PublishError] = field(default_factory=dict)  # the same, coded
    warnings: list[str] = field(default_factory=list)  # central.checks.Said when coded


def _json(value: str | None, default):
    return json.loads(value) if value else default


def _on_faces(faces_json: str, gate_faces: list[int]) -> list[int]:
    """An assignment's faces on this gate ([] = all of them)."""
    wanted = _json(faces_json, [])
    return list(gate_faces) if not wanted else [f for f in wanted if f in gate_faces]


def _live(until: str | None, now: datetime) -> bool:
    return until is None or parse_iso(until) > now


def media_day(now: datetime, zone: str | None = None) -> str:
    """The day (YYYY-MM-DD) media dates are compared with: `now` in `zone`
    (central_timezone; None: that setting's default)."""
    if zone is None:
        from central.settings import CENTRAL_SETTINGS_BY_NAME

        zone = CENTRAL_SETTINGS_BY_NAME["central_timezone"].default
    return now.astimezone(ZoneInfo(zone)).date().isoformat()


def outside_dates(media: dict, day: str) -> bool:
    """Whether media may not be shown on `day` (its dates both included)."""
    return bool((media.get("valid_from") and media["valid_from"] > day)
                or (media.get("valid_until") and media["valid_until"] < day))


def out_of_dates(db, playlist_id: str, day: str) -> list[dict]:
    """The media of a playlist that may not be shown on `day` (name,
    valid_from, valid_until), in playlist order."""
    i, m = t.playlist_item.c, t.media.c
    found = rows(db.execute(
        select(m.name, m.valid_from, m.valid_until)
        .join_from(t.playlist_item, t.media, m.sha256 == i.media_sha256)
        .where(i.playlist_id == playlist_id).order_by(i.position)))
    return [r for r in found if outside_dates(r, day)]


def _dates_said(media: dict) -> str:
    return f"{media['name']} ({media['valid_from'] or '…'} to {media['valid_until'] or '…'})"


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

    def for_gate(self, table: str, gate_id: str) -> list[dict]:
        """Like assign.for_gate: the gate's own rows and its groups', by id."""
        by_target = self.tables[table]
        found = list(by_target.get(("gate", gate_id), ()))
        for group_id in self.groups.get(gate_id, ()):
            found += by_target.get(("group", group_id), ())
        found += by_target.get(("province", ""), ())
        return sorted(found, key=lambda r: r["id"])


def build_release(db, gate: dict, now: datetime, state_dir,
                  snapshot: Snapshot | None = None, zone: str | None = None
                  ) -> tuple[dict, list[str]]:
    """The release document of one gate, without version and published_at,
    and warnings for the operator. Raises PublishError on unapproved media.
    `db` is a Connection; `snapshot` what was read for every gate at once;
    `zone` the time zone media dates are days in (central_timezone)."""
    snapshot = snapshot or Snapshot(db)
    day = media_day(now, zone)
    faces = gate["faces"]
    warnings: list[str] = []
    assigned = {name: snapshot.for_gate(name, gate["id"]) for name in assign.ASSIGNMENT_TABLES}

    entries = []
    for row in assigned["schedule_entry"]:
        on = _on_faces(row["faces"], faces)
        if on and _live(row["not_after"], now):
            entries.append((row, on))
    # Per face, the most specific fallback wins: the gate's own for that face,
    # the gate's for every face, then a group's for the face, then a group's,
    # then the province's.
    fallbacks = {}
    rank = {("gate", False): 0, ("gate", True): 1, ("group", False): 2, ("group", True): 3,
            ("province", False): 4, ("province", True): 5}
    for face in faces:
        candidates = [r for r in assigned["fallback"] if r["face_id"] in (None, face)]
        if candidates:
            best = min(candidates, key=lambda r: rank[(r["target_kind"], r["face_id"] is None)])
            fallbacks[face] = best["playlist_id"]
    # The most specific power windows replace the others: a gate's own its
    # groups', a group's the province's (a gate with a different daylight
    # pattern overrides the province default).
    power_rows = []
    for level in ("gate", "group", "province"):
        power_rows = [r for r in assigned["power_window"] if r["target_kind"] == level]
        if power_rows:
            break
    power = [{"face_id": face, "weekdays": _json(r["weekdays"], []),
              "start_time": r["start_time"], "end_time": r["end_time"]}
             for r in power_rows for face in (faces if r["face_id"] is None else [r["face_id"]])
             if face in faces]
    notices = [_notice_doc(r) for r in assigned["notice"] if _live(r["expires_at"], now)]

    playlist_ids = sorted({row["playlist_id"] for row, _ in entries} | set(fallbacks.values()))
    playlists, media, unapproved = [], {}, []
    for pid in playlist_ids:
        playlist = _playlist_doc(db, pid, gate["id"], state_dir, media, unapproved, warnings,
                                 day)
        if playlist:
            playlists.append(playlist)
    if unapproved:
        # Coded (central.checks.SENTENCES) so that every door says it in words.
        raise PublishError(f"gate {gate['id']}: not approved: " + _listed(unapproved),
                           "unapproved", gate=gate["id"], items=unapproved)
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
                  warnings: list, day: str | None = None) -> dict | None:
    """A playlist as a release carries it: approved items only (the others
    are added to `unapproved`, retired ones and, with `day`, those outside
    their dates that day skipped with a warning), their media added to
    `media`. None when nothing in it can be published."""
    i, m = t.playlist_item.c, t.media.c
    name = db.execute(select(t.playlist.c.name).where(t.playlist.c.id == pid)).scalar_one()
    items = []
    for item in rows(db.execute(
            select(i.duration_s.label("item_duration_s"), m.sha256, m.kind, m.name, m.size,
                   m.duration_s, m.width, m.height, m.state, m.valid_from, m.valid_until)
            .join_from(t.playlist_item, t.media, m.sha256 == i.media_sha256)
            .where(i.playlist_id == pid).order_by(i.position))):
        if item["state"] == "retired":
            warnings.append(Said(f"{gate_id}: playlist {pid} skips retired {item['name']}",
                                 "warn_retired", gate=gate_id, playlist=name, name=item["name"]))
            continue
        if item["state"] != "approved":
            unapproved.append({"code": "unapproved_item", "name": item["name"],
                               "sha": item["sha256"][:12], "playlist": pid})
            continue
        if day is not None and outside_dates(item, day):
            warnings.append(Said(
                f"{gate_id}: playlist {pid} leaves out {item['name']}, shown only "
                f"{item['valid_from'] or '…'} to {item['valid_until'] or '…'}",
                "warn_dates", gate=gate_id, playlist=name, name=item["name"],
                from_day=item["valid_from"], until_day=item["valid_until"]))
            continue
        if item["kind"] == "text" and not _background_ok(db, state_dir, item, media, unapproved):
            continue
        items.append({"media_sha256": item["sha256"], "duration_s": item["item_duration_s"]})
        media[item["sha256"]] = _media_entry(item)
    if not items:
        warnings.append(Said(f"{gate_id}: playlist {pid} has nothing publishable; left out",
                             "warn_playlist_empty", gate=gate_id, playlist=name))
        return None
    return {"id": pid, "name": name, "items": items}


def _listed(unapproved: list[dict]) -> str:
    """_playlist_doc's unapproved items in English (str() of the refusal)."""
    return "; ".join(f"{u['name']} ({u['sha']}) in playlist {u['playlist']}" if "playlist" in u
                     else f"{u['name']} ({u['sha']}), background of {u['slide']}"
                     for u in unapproved)


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
        unapproved.append({"code": "unapproved_background", "name": background["name"],
                           "sha": sha[:12], "slide": slide["name"]})
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


@dataclass
class Built:
    """What a publication signs: the gates in scope, their releases as built
    from the assignments (without any emergency), the gates held back, and
    the gates whose release in force is only re-layered (an emergency, its
    cancellation: nothing else of theirs changes)."""

    scope: set[str] | None
    docs: dict[str, dict] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    held_errors: dict[str, PublishError] = field(default_factory=dict)  # held's, coded
    warnings: list[str] = field(default_factory=list)
    gate_warnings: dict[str, list[str]] = field(default_factory=dict)  # the same, per gate
    relayer: set[str] = field(default_factory=set)

    def in_scope(self, gate_id: str) -> bool:
        return self.scope is None or gate_id in self.scope


def build(store: Store, state_dir, now: datetime, scope: set[str] | None,
          zone: str | None = None) -> Built:
    """Every gate in scope's release as its assignments make it now, from one
    read snapshot. A gate with unapproved media is held back (its pending
    work holds back that gate only)."""
    built = Built(scope)
    with store.transaction(snapshot=True) as db:
        snapshot = Snapshot(db)
        for gate in list_gates(db):
            if not built.in_scope(gate["id"]):
                continue
            try:
                doc, warnings = build_release(db, gate, now, state_dir, snapshot, zone)
            except PublishError as e:
                built.held[gate["id"]] = str(e)
                built.held_errors[gate["id"]] = e
                continue
            built.docs[gate["id"]] = doc
            built.warnings += warnings
            if warnings:
                built.gate_warnings[gate["id"]] = warnings
    return built


def publish(store: Store, repo: Repository, by: str = "cli", note: str = "",
            now: datetime | None = None, feed=None, *, gates=(), groups=(),
            on_record=None, check=None) -> PublishResult:
    """Build the releases of the gates in scope (`gates` and the members of
    `groups`; neither: every gate) and sign a new repository version, then
    tell the changed gates through `feed` (central/feed.py; None: the
    application's own wait endpoint watches the database).

    A gate whose content includes unapproved media keeps the release it has
    and is reported in `held` with the reason; the others are published.
    Gates out of scope keep theirs. Raises PublishError only when every gate
    in scope is held back (nothing would be published).

    One builder at a time (`publishing`); the build reads one snapshot and
    holds no signing lock, so an emergency published meanwhile goes out at
    once and is layered onto what this publication signs afterwards.
    `check(built)` may refuse what was built before anything is signed (a
    stale approval); `on_record(conn, publication_id)` runs in the
    transaction that records the publication."""
    scope = scope_of(store, gates, groups)
    with publishing(store):
        built = build(store, repo.state_dir, now or utcnow(), scope, repo.timezone)
        if built.held and not built.docs:
            raise PublishError("nothing published: " + "; ".join(built.held.values()),
                               "nothing_published", held=list(built.held_errors.values()))
        if check is not None:
            check(built)
        return sign(store, repo, built, by=by, note=note, now=now, feed=feed,
                    on_record=on_record)


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
        raise PublishError("no gate in that scope (an empty group?)", "scope_empty")
    return scope


def publish_emergency(store: Store, repo: Repository, targets, *, by: str, reason: str,
                      minutes: float, texts: dict | None = None,
                      playlist_id: str | None = None, faces=None, feed=None,
                      now: datetime | None = None) -> tuple[str, PublishResult]:
    """Make an emergency and publish it by itself, at once: each target gate
    (`targets`: gates, groups or the province, see central.emergency) gets
    its release in force plus the emergency, whatever is pending (unapproved
    media, unpublished edits, a full publication being built) on it or on any
    other gate; other gates keep theirs. Audited with who (`by`, who must
    hold the emergency right) and why. Returns the emergency's id and the
    publication."""
    from central import emergency as em

    now = now or utcnow()
    with store.transaction(write=True) as conn:
        require_right(conn, by, EMERGENCY_RIGHT)
        clean = em.check(conn, targets, minutes=minutes, texts=texts,
                         playlist_id=playlist_id, faces=faces, reason=reason)
        if clean["playlist_id"]:
            # The emergency's own media must be approved: checked before
            # anything is stored, so a refused emergency leaves no trace.
            unapproved: list[str] = []
            _playlist_doc(conn, clean["playlist_id"], "emergency", repo.state_dir, {},
                          unapproved, [])
            if unapproved:
                raise em.EmergencyError("playlist_unapproved", "emergency playlist not approved: "
                                        + _listed(unapproved))
            # Nor may it carry media outside its dates (a notice valid from
            # tomorrow, an expired one): refused, so the operator chooses.
            day = media_day(now, repo.timezone)
            outside = out_of_dates(conn, clean["playlist_id"], day)
            if outside:
                raise em.EmergencyError(
                    "playlist_dates", f"the emergency playlist has media that may not be shown "
                    f"on {day}: " + "; ".join(_dates_said(m) for m in outside),
                    day=day, media=outside)
        eid = em.record(conn, clean, by=by, now=now)
        audit(conn, by, "emergency", eid,
              {"reason": clean["reason"], "targets": [x.label() for x in clean["targets"]],
               "gates": clean["gates"], "minutes": float(minutes), "texts": clean["texts"],
               "playlist": clean["playlist_id"], "faces": clean["faces"]})
    built = Built(set(clean["gates"]), relayer=set(clean["gates"]))
    try:
        result = sign(store, repo, built, by=by, note=f"emergency: {clean['reason']}"[:500],
                      now=now, feed=feed,
                      on_record=lambda conn, pub: em.set_publication(conn, eid, pub))
    except BaseException:
        # Never published: it must not ride along with a later publication.
        with store.transaction(write=True) as conn:
            em.mark_cancelled(conn, eid, by=by, reason="publishing failed", now=now)
        raise
    return eid, result


def publish_in_force(store: Store, repo: Repository, gate_ids, *, by: str, note: str,
                     feed=None, now: datetime | None = None) -> PublishResult:
    """Re-sign `gate_ids`' releases in force as they are, with their current
    kill switch state (central/killswitch.py) and live emergencies: nothing
    pending anywhere rides along, and like an emergency it never waits for a
    full publication being built."""
    gates = set(gate_ids)
    return sign(store, repo, Built(gates, relayer=gates), by=by, note=note[:500], now=now,
                feed=feed)


def withdraw_expired(store: Store, repo: Repository, now: datetime | None = None,
                     feed=None) -> PublishResult | None:
    """Re-sign the releases in force that carry media past its valid-until
    (in central_timezone), without it: its items, then playlists left empty
    and the entries and fallbacks that named them. Nothing pending rides
    along (like the kill switch). None when no release carries any."""
    now = now or utcnow()
    day = media_day(now, repo.timezone)
    with store.transaction(snapshot=True) as db:
        expired = {r["sha256"] for r in rows(db.execute(
            select(t.media.c.sha256).where(t.media.c.valid_until < day)))}
        gates = sorted(gate_id for gate_id, last in _latest_releases(db).items()
                       if expired & {m["sha256"] for m in json.loads(last["document"])["media"]})
    if not gates:
        return None
    return sign(store, repo, Built(set(gates), relayer=set(gates)), by="central",
                note="media past its valid-until withdrawn", now=now, feed=feed)


def without_media(doc: dict, gone: set[str], state_dir) -> dict:
    """A release document without the media in `gone`: its playlist items,
    the playlists left empty, and the entries and fallbacks naming them."""
    if not gone & {m["sha256"] for m in doc["media"]}:
        return doc
    doc = dict(doc)
    playlists = []
    for p in doc["playlists"]:
        items = [i for i in p["items"] if i["media_sha256"] not in gone]
        if items:
            playlists.append({**p, "items": items})
    kept = {p["id"] for p in playlists}
    doc["playlists"] = playlists
    doc["schedule_entries"] = [e for e in doc["schedule_entries"] if e["playlist_id"] in kept]
    doc["fallbacks"] = [f for f in doc["fallbacks"] if f["playlist_id"] in kept]
    doc["media"] = [m for m in doc["media"] if m["sha256"] not in gone]
    return without_emergencies(doc, state_dir)


def cancel_emergency(store: Store, repo: Repository, emergency_id: str, *, by: str,
                     reason: str, feed=None, now: datetime | None = None) -> PublishResult:
    """End an emergency early: its gates get their release in force without
    it, at once (like the emergency itself, never behind a full publication).
    Audited with who and why."""
    from central import emergency as em

    now = now or utcnow()
    with store.transaction(write=True) as conn:
        require_right(conn, by, EMERGENCY_RIGHT)
        found = em.mark_cancelled(conn, emergency_id, by=by, reason=reason, now=now)
        audit(conn, by, "emergency.cancel", emergency_id,
              {"reason": " ".join(str(reason).split()), "gates": found["gates"]})
    gates = set(found["gates"])
    return sign(store, repo, Built(gates, relayer=gates), by=by,
                note=f"emergency {emergency_id} cancelled", now=now, feed=feed)


def _empty_release(gate_id: str) -> dict:
    return {"format": FORMAT, "gate_id": gate_id, "media": [], "playlists": [],
            "schedule_entries": [], "fallbacks": [], "power_windows": [], "notices": []}


def without_emergencies(doc: dict, state_dir) -> dict:
    """A release document without its layers: the kill switch's `blank`, the
    notices and entry an emergency added, the playlists only they used and the
    media only those playlists used. What a full publication would have made,
    or a re-layer starts from."""
    from central.emergency import is_layer_id

    doc = {k: v for k, v in doc.items() if k not in ("version", "published_at", "blank")}
    doc["notices"] = [n for n in doc["notices"] if not is_layer_id(n["id"])]
    doc["schedule_entries"] = [e for e in doc["schedule_entries"] if not is_layer_id(e["id"])]
    used = ({e["playlist_id"] for e in doc["schedule_entries"]}
            | {f["playlist_id"] for f in doc["fallbacks"]})
    doc["playlists"] = [p for p in doc["playlists"] if p["id"] in used]
    media = {item["media_sha256"] for p in doc["playlists"] for item in p["items"]}
    kinds = {m["sha256"]: m["kind"] for m in doc["media"]}
    for sha in [s for s in media if kinds.get(s) == "text"]:
        background = slide_background(state_dir, sha)
        if background:
            media.add(background)
    doc["media"] = [m for m in doc["media"] if m["sha256"] in media]
    return doc


def with_emergencies(db, doc: dict, gate: dict, emergencies: list[dict], state_dir,
                     warnings: list[str], playlists: dict | None = None,
                     day: str | None = None) -> dict:
    """`doc` (without emergencies) plus every emergency in `emergencies` that
    shows on one of this gate's faces: its texts as emergency slides of at most
    three languages, its playlist at emergency level, both ending by
    themselves at the emergency's end. `playlists`: emergency id -> (playlist,
    its media) or None, filled once per publication (a query per gate cost
    most of the time an emergency for 10,000 gates took). `day` (media_day):
    the playlist's media outside their dates that day are left out, like in
    any release (publish_emergency refuses them when it starts)."""
    playlists = {} if playlists is None else playlists
    from central.emergency import slides

    doc = {**doc, "notices": list(doc["notices"]), "schedule_entries": list(doc["schedule_entries"]),
           "playlists": list(doc["playlists"])}
    media = {m["sha256"]: m for m in doc["media"]}
    for e in emergencies:
        on = [f for f in gate["faces"] if not e["faces"] or f in e["faces"]]
        if not on:
            continue
        faces = on if e["faces"] else []
        for i, texts in enumerate(slides(e["texts"]), 1):
            doc["notices"].append({
                "id": f"c-{e['id']}-{i}", "kind": "slide", "level": "emergency", "texts": texts,
                "faces": faces, "style": {}, "starts_at": e["starts_at"],
                "expires_at": e["ends_at"]})
        if e["playlist_id"]:
            if e["id"] not in playlists:
                unapproved: list[dict] = []
                found: dict = {}
                playlist = _playlist_doc(db, e["playlist_id"], "emergency", state_dir, found,
                                         unapproved, [], day)
                playlists[e["id"]] = None if unapproved or playlist is None else (playlist, found)
            if playlists[e["id"]] is None:
                warnings.append(Said(f"{gate['id']}: emergency {e['id']}: its playlist has "
                                     "nothing approved and within its dates to show any more; "
                                     "only its text is shown", "warn_emergency_playlist",
                                     gate=gate["id"]))
                continue
            playlist, found = playlists[e["id"]]
            media.update(found)
            doc["playlists"] = [p for p in doc["playlists"] if p["id"] != playlist["id"]]
            doc["playlists"].append(playlist)
            doc["schedule_entries"].append({
                "id": f"c-{e['id']}-p", "name": "emergency", "playlist_id": playlist["id"],
                "faces": on, "start_date": None, "end_date": None,
                "weekdays": list(range(7)), "start_time": "00:00", "end_time": "24:00",
                "level": "emergency", "not_before": e["starts_at"], "not_after": e["ends_at"]})
    doc["media"] = [media[sha] for sha in sorted(media)]
    # In build_release's order (by id), so a full publication that finds the
    # same content keeps this version instead of making a new one.
    for key in ("notices", "schedule_entries", "playlists"):
        doc[key].sort(key=lambda x: x["id"])
    return doc


def _emergencies_by_gate(db, now: datetime) -> dict[str, list[dict]]:
    from central import emergency as em

    by_gate: dict[str, list[dict]] = {}
    for e in em.live(db, now):
        for gate_id in e["gates"]:
            by_gate.setdefault(gate_id, []).append(e)
    return by_gate


def sign(store: Store, repo: Repository, built: Built, *, by: str, note: str,
         now: datetime | None = None, feed=None, on_record=None) -> PublishResult:
    """Sign a new repository version holding `built` (each doc with the live
    emergencies layered on; each `relayer` gate's release in force
    re-layered) and every other gate's release in force, record it and tell
    the changed gates. Under the short `signing` lock only: the releases in
    force are read inside it, so an emergency published while `built` was
    being built is kept, never overwritten."""
    state_dir = repo.state_dir
    library = library_store(state_dir)
    release_dir = Path(state_dir) / "releases"
    release_dir.mkdir(parents=True, exist_ok=True)
    with signing(store), repo.lock():
        now = now or utcnow()
        version = repo.version() + 1
        result = PublishResult(0, version, held=dict(built.held),
                               held_errors=dict(built.held_errors),
                               warnings=list(built.warnings))
        new_rows, specs, all_media = [], [], {}
        with store.transaction(snapshot=True) as db:
            latest = _latest_releases(db)
            emergencies = _emergencies_by_gate(db, now)
            # A re-layered release in force loses media past its valid-until,
            # and so does an emergency's playlist.
            day = media_day(now, repo.timezone)
            expired = {r["sha256"] for r in rows(db.execute(select(t.media.c.sha256).where(
                t.media.c.valid_until < day)))}
            playlists: dict = {}  # emergency id -> its playlist, read once
            # Central's kill switch (central/killswitch.py) rides every release.
            blanks = {r["gate_id"]: blank_doc(r) for r in rows(db.execute(select(t.gate_blank)))}
            for gate in list_gates(db):
                last = latest.get(gate["id"])
                base = built.docs.get(gate["id"])
                if base is None and gate["id"] in built.relayer:
                    base = (without_media(without_emergencies(json.loads(last["document"]),
                                                              state_dir), expired, state_dir)
                            if last else _empty_release(gate["id"]))
                if base is None:  # out of scope or held back: it keeps its release
                    if last is None:
                        continue
                    data = last["document"].encode()
                    if gate["id"] not in result.held:
                        result.unchanged[gate["id"]] = last["version"]
                else:
                    doc = with_emergencies(db, base, gate, emergencies.get(gate["id"], []),
                                           state_dir, result.warnings, playlists, day)
                    # Whatever built the document, the gate's kill switch
                    # state goes with it: a publish or an emergency never
                    # lifts a blank, and a blank made during a build stays.
                    if gate["id"] in blanks:
                        doc["blank"] = blanks[gate["id"]]
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
        for sha256, size in sorted(all_media.items()):
            if not library.has(sha256):
                raise PublishError(f"media {sha256} is missing from the library folder",
                                   "media_file_missing", value=sha256[:12])
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
                   "scope": sorted(built.scope) if built.scope is not None else "all"})
            if on_record is not None:
                on_record(db, pub)
        result.publication_id, result.repository_version = pub, repo_version
        # Only now: every file is written, fsynced and renamed (timestamp.json
        # last, by repo.publish) and the publication is committed, so a gate
        # told here finds the new version wherever it reads. Still under the
        # lock, so announcements reach a channel in publication order.
        announce(feed, result)
        return result


# ---- what a publication would change: the preview ---------------------------------
def base_hash(release: dict | None, state_dir) -> str | None:
    """The content of a release in force without its emergency layer (None:
    no release yet): what a full publication is compared with, so an
    emergency published meanwhile never makes a form stale."""
    if release is None:
        return None
    return _content_hash(without_emergencies(json.loads(release["document"]), state_dir))


@dataclass
class GatePreview:
    gate: dict
    version: int | None  # the release in force
    base: str | None  # base_hash of the release in force
    content: str | None  # _content_hash of what would be built (None: held back)
    held: str | None
    faces: dict[int, dict[str, dict[str, list[str]]]]  # face -> part -> added/removed/kept
    held_error: PublishError | None = None  # why it is held, coded: central.checks.in_words
    warnings: list[str] = field(default_factory=list)  # what its build leaves out (Said)

    @property
    def changes(self) -> bool:
        return self.content is not None and self.content != self.base


def _plain(what: str, value) -> str:
    """How face_parts puts a level, a notice kind or weekdays into words
    (the console passes its own, in the reader's language)."""
    return ",".join(str(d) for d in value) if what == "days" else str(value)


def preview(store: Store, repo: Repository, *, gates=(), groups=(),
            now: datetime | None = None, words=_plain) -> list[GatePreview]:
    """For every gate in scope: what a publication now would change on each
    of its faces, compared with its release in force (without emergencies,
    which a publication keeps as they are). Built exactly as `publish` would
    build it, media dates in the repository's central_timezone included."""
    scope = scope_of(store, gates, groups)
    now = now or utcnow()
    state_dir = repo.state_dir
    built = build(store, state_dir, now, scope, repo.timezone)
    with store.transaction(snapshot=True) as db:
        latest = _latest_releases(db)
        out = []
        for gate in list_gates(db):
            if not built.in_scope(gate["id"]):
                continue
            last = latest.get(gate["id"])
            old = (without_emergencies(json.loads(last["document"]), state_dir) if last
                   else _empty_release(gate["id"]))
            new = built.docs.get(gate["id"])
            out.append(GatePreview(
                gate=gate, version=last["version"] if last else None,
                base=base_hash(last, state_dir),
                content=_content_hash(new) if new is not None else None,
                held=built.held.get(gate["id"]), held_error=built.held_errors.get(gate["id"]),
                warnings=built.gate_warnings.get(gate["id"], []),
                faces={face: _face_diff(old, new or old, face, words)
                       for face in gate["faces"]}))
    return out


def face_parts(doc: dict, face: int, words=_plain) -> dict[str, list[str]]:
    """What a release shows on one face, as comparable lines per part:
    schedule entries, fallback, playlists (their items), notices, power."""
    playlists = {p["id"]: p for p in doc["playlists"]}
    names = {m["sha256"]: m["name"] for m in doc["media"]}

    def playlist(pid):
        p = playlists.get(pid)
        if p is None:
            return pid.removeprefix("c-")
        return p["name"]

    on = lambda faces: not faces or face in faces  # noqa: E731
    entries = [e for e in doc["schedule_entries"] if on(e["faces"])]
    used = [e["playlist_id"] for e in entries]
    used += [f["playlist_id"] for f in doc["fallbacks"] if f["face_id"] == face]
    days = lambda ds: words("days", ds)  # noqa: E731
    return {
        "entries": sorted(
            f"{e['name']} · {playlist(e['playlist_id'])} · {e['start_time']}–{e['end_time']}"
            f" · {days(e['weekdays'])} · {words('level', e['level'])}"
            + (f" · {e['start_date'] or '…'}→{e['end_date'] or '…'}"
               if e["start_date"] or e["end_date"] else "") for e in entries),
        "fallback": [playlist(f["playlist_id"]) for f in doc["fallbacks"] if f["face_id"] == face],
        "playlists": sorted(
            f"{playlists[pid]['name']}: " + ", ".join(names.get(i["media_sha256"], "?")
                                                      for i in playlists[pid]["items"])
            for pid in dict.fromkeys(used) if pid in playlists),
        "notices": sorted(f"{words('kind', n['kind'])} · {words('level', n['level'])} · "
                          + " / ".join(n["texts"].values())
                          for n in doc["notices"] if on(n["faces"])),
        "power": sorted(f"{p['start_time']}–{p['end_time']} · {days(p['weekdays'])}"
                        for p in doc["power_windows"] if p["face_id"] == face),
    }


def _face_diff(old: dict, new: dict, face: int, words=_plain) -> dict[str, dict[str, list[str]]]:
    before, after = face_parts(old, face, words), face_parts(new, face, words)
    return {part: {"added": [x for x in after[part] if x not in before[part]],
                   "removed": [x for x in before[part] if x not in after[part]],
                   "kept": [x for x in after[part] if x in before[part]]}
            for part in after}
