"""A publishing-side TUF repository for tests, laid out as docs/sync-protocol.md says:
`<base>/tuf/metadata/` (consistent snapshots) and `<base>/tuf/targets/` (hash-prefixed).

It can also do what an attacker would: sign with a key root does not trust, let
metadata expire, keep old files around for a replay.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    MetaFile,
    Metadata,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from tests.support.sync.gate import GATE_ID

ROLES = ("root", "targets", "snapshot", "timestamp")
COMPACT = JSONSerializer(compact=True)


def _expiry(days: float) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


class TufRepo:
    def __init__(self, base: Path, expiry_days: float = 7):
        self.base = Path(base)
        self.meta_dir = self.base / "tuf" / "metadata"
        self.targets_dir = self.base / "tuf" / "targets"
        self.meta_dir.mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self.expiry_days = expiry_days
        self.signers = {role: CryptoSigner.generate_ed25519() for role in ROLES}
        root = Root(expires=_expiry(365), consistent_snapshot=True)
        for role in ROLES:
            root.add_key(self.signers[role].public_key, role)
        self.root = Metadata(root)
        self.root.sign(self.signers["root"])
        self._write("1.root.json", self.root)
        # Versions start at 1; the first publish() signs them without bumping.
        self.targets = Metadata(Targets(version=1, expires=_expiry(expiry_days)))
        self.snapshot = Metadata(Snapshot(version=1, expires=_expiry(expiry_days)))
        self.timestamp = Metadata(Timestamp(version=1, expires=_expiry(expiry_days),
                                            snapshot_meta=MetaFile(version=1)))
        self._published = False

    # ---- content -------------------------------------------------------------

    def root_bytes(self) -> bytes:
        return (self.meta_dir / "1.root.json").read_bytes()

    def add_target(self, path: str, data: bytes) -> TargetFile:
        """Sign `data` as target `path` (at the next publish) and store it hash-prefixed."""
        tf = TargetFile.from_data(path, data, ["sha256"])
        self.targets.signed.targets[path] = tf
        self.target_file(path).parent.mkdir(parents=True, exist_ok=True)
        self.target_file(path).write_bytes(data)
        return tf

    def add_media(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.add_target(f"media/{sha}", data)
        return sha

    def target_file(self, path: str) -> Path:
        sha = self.targets.signed.targets[path].hashes["sha256"]
        dirname, _, basename = path.rpartition("/")
        return self.targets_dir / dirname / f"{sha}.{basename}"

    def add_release(self, doc: dict) -> TargetFile:
        data = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
        return self.add_target(f"releases/{doc['gate_id']}.json", data)

    # ---- publishing ------------------------------------------------------------

    def publish(self, signer_for: dict[str, CryptoSigner] | None = None,
                expires: datetime | None = None) -> int:
        """Sign a new targets, snapshot and timestamp version; returns the snapshot version."""
        signers = {**self.signers, **(signer_for or {})}
        bump = 1 if self._published else 0
        t = self.targets.signed
        t.version += bump
        t.expires = expires or _expiry(self.expiry_days)
        self.targets.signatures.clear()
        self.targets.sign(signers["targets"])
        self._write(f"{t.version}.targets.json", self.targets)
        s = self.snapshot.signed
        s.version += bump
        s.expires = expires or _expiry(self.expiry_days)
        s.meta["targets.json"] = MetaFile(version=t.version)
        self.snapshot.signatures.clear()
        self.snapshot.sign(signers["snapshot"])
        self._write(f"{s.version}.snapshot.json", self.snapshot)
        return self.publish_timestamp(signers["timestamp"], expires)

    def publish_timestamp(self, signer: CryptoSigner | None = None,
                          expires: datetime | None = None) -> int:
        ts = self.timestamp.signed
        ts.version += 1 if self._published else 0
        self._published = True
        ts.expires = expires or _expiry(self.expiry_days)
        ts.snapshot_meta = MetaFile(version=self.snapshot.signed.version)
        self.timestamp.signatures.clear()
        self.timestamp.sign(signer or self.signers["timestamp"])
        self._write("timestamp.json", self.timestamp)
        return self.snapshot.signed.version

    def _write(self, name: str, md: Metadata) -> None:
        (self.meta_dir / name).write_bytes(md.to_bytes(COMPACT))

    def metadata_bytes(self, name: str) -> bytes:
        return (self.meta_dir / name).read_bytes()

    def clone_timestamp(self) -> Metadata:
        return copy.deepcopy(self.timestamp)


def release_doc(gate_id: str, version: int, media: list[dict], faces=(1,), level="normal",
                notices=(), extra: dict | None = None, published_at: str | None = None) -> dict:
    """A release playing every given media in one playlist on `faces`, all day."""
    doc = {
        "format": 1,
        "gate_id": gate_id,
        "version": version,
        "published_at": published_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "media": media,
        "playlists": [{"id": "c-main", "name": "Main",
                       "items": [{"media_sha256": m["sha256"], "duration_s": None} for m in media]}],
        "schedule_entries": [{"id": "c-e1", "name": "All day", "playlist_id": "c-main",
                              "faces": list(faces), "start_date": None, "end_date": None,
                              "weekdays": [0, 1, 2, 3, 4, 5, 6], "start_time": "00:00",
                              "end_time": "00:00", "level": level,
                              "not_before": None, "not_after": None}] if media else [],
        "fallbacks": [],
        "power_windows": [{"face_id": 1, "weekdays": [0, 1, 2, 3, 4, 5, 6],
                           "start_time": "05:30", "end_time": "22:30"}],
        "notices": list(notices),
    }
    doc.update(extra or {})
    return doc


def media_entry(sha: str, data: bytes, kind: str = "image", name: str | None = None) -> dict:
    return {"sha256": sha, "kind": kind, "name": name or f"{kind}-{sha[:8]}", "size": len(data),
            "duration_s": 10.0 if kind != "video" else None, "width": 1920, "height": 1080}


def publish_release(repo, version, blobs, **kw) -> list[str]:
    """Sign `blobs` as media and a release of them for the test gate; returns their sha256s."""
    media = []
    for i, data in enumerate(blobs):
        sha = repo.add_media(data)
        media.append(media_entry(sha, data, name=f"item {i}"))
    repo.add_release(release_doc(GATE_ID, version, media, **kw))
    repo.publish()
    return [m["sha256"] for m in media]
