"""The signed TUF repository the gates pull from (`<state>/tuf/`), written only
by this module and only under a file lock.

Roles and keys (one Ed25519 key each):
- root, targets: offline keys. `targets` signs once, at init or rotation: it
  delegates `releases/*` and `media/*` to the role `publisher`.
- publisher, snapshot, timestamp: online keys in `<state>/keys/`, used at every
  publish and to re-sign metadata before it expires.

A leaked online key lets an attacker sign content until the offline targets
key rotates it away (`rotate_key("publisher")`); a leaked root or targets key
would not be recoverable, hence offline. Consistent snapshots: metadata is
written as `N.<role>.json` (timestamp as `timestamp.json`), targets as
`<dir>/<sha256>.<name>`, so a file once published never changes under a gate
that is part-way through an update.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

TOP_ROLES = ("root", "targets", "snapshot", "timestamp")
PUBLISHER = "publisher"
ROLES = TOP_ROLES + (PUBLISHER,)
OFFLINE_ROLES = ("root", "targets")
ONLINE_ROLES = (PUBLISHER, "snapshot", "timestamp")
PUBLISHER_PATHS = ["releases/*", "media/*"]


class RepositoryError(Exception):
    pass


class KeyUnavailable(RepositoryError):
    """A signing key is not where it was looked for (e.g. an offline key)."""


@dataclass(frozen=True)
class TargetSpec:
    """One file to publish: its target path, where its bytes are, and their
    length and sha256 (known from the content library, so large videos are
    not hashed again at every publish)."""

    path: str
    source: Path
    length: int
    sha256: str


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def check_target_path(path: str) -> str:
    """Only plain `dir/name` paths under our two folders: no `..`, no absolute paths."""
    p = PurePosixPath(path)
    if (p.is_absolute() or len(p.parts) != 2 or p.parts[0] not in ("releases", "media")
            or any(part in ("", ".", "..") for part in p.parts) or "\\" in path):
        raise RepositoryError(f"not an allowed target path: {path!r}")
    return path


class Repository:
    def __init__(
        self,
        state_dir: Path | str,
        offline_keys_dir: Path | str | None = None,
        online_expiry: timedelta = timedelta(days=7),
        offline_expiry: timedelta = timedelta(days=365),
    ):
        self.state_dir = Path(state_dir)
        self.base = self.state_dir / "tuf"
        self.metadata_dir = self.base / "metadata"
        self.targets_dir = self.base / "targets"
        self.keys_dir = self.state_dir / "keys"
        self.offline_keys_dir = Path(offline_keys_dir) if offline_keys_dir else self.keys_dir
        self.online_expiry = online_expiry
        self.offline_expiry = offline_expiry
        self._thread_lock = threading.RLock()
        self._depth = 0

    # ---- files and keys -------------------------------------------------
    def exists(self) -> bool:
        return (self.metadata_dir / "1.root.json").is_file()

    @property
    def trusted_root_path(self) -> Path:
        """The file a gate pins at installation."""
        return self.metadata_dir / "1.root.json"

    @contextmanager
    def lock(self):
        """One writer at a time across processes (CLI publish, server refresh);
        re-entrant within one Repository, so a publish can hold it across
        building releases and signing."""
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with open(self.state_dir / "tuf.lock", "a") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0
                    fcntl.flock(f, fcntl.LOCK_UN)

    def _key_dir(self, role: str) -> Path:
        return self.offline_keys_dir if role in OFFLINE_ROLES else self.keys_dir

    def _key_file(self, role: str) -> Path:
        return self._key_dir(role) / f"{role}.pem"

    def _save_key(self, role: str, signer: CryptoSigner, suffix: str = "") -> Path:
        folder = self._key_dir(role)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        path = folder / f"{role}.pem{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(signer.private_bytes)
            f.flush()
            os.fsync(f.fileno())
        return path

    def _signer(self, role: str, keyids: list[str]) -> CryptoSigner:
        path = self._key_file(role)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            where = "pass --offline-keys DIR" if role in OFFLINE_ROLES else "it belongs in"
            raise KeyUnavailable(
                f"the {role} key is not at {path} ({where} {self._key_dir(role)})"
            ) from None
        signer = CryptoSigner(load_pem_private_key(pem, None))
        if signer.public_key.keyid not in keyids:
            raise KeyUnavailable(f"{path} is not a current {role} key of this repository")
        return signer

    def _write(self, name: str, data: bytes) -> None:
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.metadata_dir / name, data)

    def _write_md(self, md: Metadata, role: str) -> None:
        data = md.to_bytes()
        if role == "timestamp":
            self._write("timestamp.json", data)
            return
        self._write(f"{md.signed.version}.{role}.json", data)
        if role == "root":
            # An unversioned copy for people and provisioning; clients use N.root.json.
            self._write("root.json", data)

    # ---- reading the current metadata ------------------------------------
    def _load(self, name: str) -> Metadata:
        try:
            return Metadata.from_file(str(self.metadata_dir / name))
        except FileNotFoundError:
            raise RepositoryError(
                f"no repository at {self.base} (run `gatecast central init`)"
            ) from None

    def root(self) -> Metadata[Root]:
        versions = [int(p.name.split(".")[0]) for p in self.metadata_dir.glob("*.root.json")
                    if p.name.split(".")[0].isdigit()]
        if not versions:
            raise RepositoryError(f"no repository at {self.base} (run `gatecast central init`)")
        return self._load(f"{max(versions)}.root.json")

    def timestamp(self) -> Metadata[Timestamp]:
        return self._load("timestamp.json")

    def snapshot(self) -> Metadata[Snapshot]:
        return self._load(f"{self.timestamp().signed.snapshot_meta.version}.snapshot.json")

    def _role_md(self, role: str, snapshot: Metadata[Snapshot] | None = None) -> Metadata:
        snapshot = snapshot or self.snapshot()
        return self._load(f"{snapshot.signed.meta[f'{role}.json'].version}.{role}.json")

    def targets(self) -> Metadata[Targets]:
        return self._role_md("targets")

    def publisher(self) -> Metadata[Targets]:
        return self._role_md(PUBLISHER)

    def published_targets(self) -> dict[str, TargetFile]:
        return dict(self.publisher().signed.targets)

    def _keyids(self, role: str) -> list[str]:
        if role == PUBLISHER:
            return list(self.targets().signed.delegations.roles[PUBLISHER].keyids)
        return list(self.root().signed.roles[role].keyids)

    # ---- writing -----------------------------------------------------------
    def init(self, now: datetime | None = None) -> None:
        """Make keys and version 1 of every role. Refuses to overwrite."""
        now = now or _utcnow()
        with self.lock():
            if self.exists() or any(self._key_file(r).exists() for r in ROLES):
                raise RepositoryError(f"a repository or keys already exist in {self.state_dir}")
            signers = {role: CryptoSigner.generate_ed25519() for role in ROLES}
            root = Root(expires=now + self.offline_expiry, consistent_snapshot=True)
            for role in TOP_ROLES:
                root.roles[role].keyids.clear()
                root.add_key(signers[role].public_key, role)
            targets = Targets(expires=now + self.offline_expiry)
            targets.delegations = Delegations(keys={}, roles={
                PUBLISHER: DelegatedRole(PUBLISHER, [], 1, True, paths=list(PUBLISHER_PATHS)),
            })
            targets.add_key(signers[PUBLISHER].public_key, PUBLISHER)
            publisher = Targets(expires=now + self.online_expiry)
            snapshot = Snapshot(expires=now + self.online_expiry, meta={
                "targets.json": MetaFile(1), f"{PUBLISHER}.json": MetaFile(1),
            })
            timestamp = Timestamp(expires=now + self.online_expiry, snapshot_meta=MetaFile(1))
            for role in ROLES:
                self._save_key(role, signers[role])
            for role, signed in (("root", root), ("targets", targets), (PUBLISHER, publisher),
                                 ("snapshot", snapshot), ("timestamp", timestamp)):
                md = Metadata(signed)
                md.sign(signers[role])
                self._write_md(md, role)
            self.targets_dir.mkdir(parents=True, exist_ok=True)

    def _store_target(self, spec: TargetSpec) -> TargetFile:
        check_target_path(spec.path)
        tf = TargetFile(length=spec.length, hashes={"sha256": spec.sha256}, path=spec.path)
        dest = self.targets_dir / tf.get_prefixed_paths()[0]
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".incoming-{dest.name}")
            tmp.unlink(missing_ok=True)
            try:
                os.link(spec.source, tmp)  # same file system: no second copy of a video
            except OSError:
                shutil.copyfile(spec.source, tmp)
            if tmp.stat().st_size != spec.length:
                tmp.unlink()
                raise RepositoryError(f"{spec.source} is not {spec.length} bytes long")
            os.replace(tmp, dest)
        return tf

    def publish(self, specs: list[TargetSpec], now: datetime | None = None) -> int:
        """Make `specs` the complete set of published targets in a new
        repository version. Target files are in place before any metadata
        names them. Returns the new publisher version."""
        now = now or _utcnow()
        with self.lock():
            targets = {spec.path: self._store_target(spec) for spec in specs}
            publisher = self.publisher()
            publisher.signed.targets = targets
            self._resign((PUBLISHER, "snapshot", "timestamp"), now, {PUBLISHER: publisher})
            return publisher.signed.version

    def _resign(self, roles: tuple[str, ...], now: datetime,
                loaded: dict[str, Metadata] | None = None) -> None:
        """Bump, sign and write `roles` (a chain ending in timestamp), each
        recorded in the next one's meta."""
        loaded = dict(loaded or {})
        snapshot = loaded.get("snapshot") or self.snapshot()
        for role in roles:
            md = loaded.get(role)
            if md is None:
                md = snapshot if role == "snapshot" else (
                    self.timestamp() if role == "timestamp" else self._role_md(role, snapshot))
            md.signed.version += 1
            md.signed.expires = now + (self.offline_expiry if role in OFFLINE_ROLES
                                       else self.online_expiry)
            if role == "snapshot":
                # Record every delegating role bumped before this point.
                for name in ("targets", PUBLISHER):
                    if name in loaded:
                        snapshot.signed.meta[f"{name}.json"] = MetaFile(loaded[name].signed.version)
            if role == "timestamp":
                md.signed.snapshot_meta = MetaFile(snapshot.signed.version)
            if role == PUBLISHER and "targets" in loaded:  # a targets not yet in any snapshot
                keyids = list(loaded["targets"].signed.delegations.roles[PUBLISHER].keyids)
            else:
                keyids = self._keyids(role)
            md.signatures.clear()
            md.sign(self._signer(role, keyids))
            self._write_md(md, role)
            loaded[role] = md

    def refresh(self, now: datetime | None = None) -> list[str]:
        """Re-sign online metadata past half its lifetime, so gates never see
        it expire while the server runs. Returns the roles re-signed."""
        now = now or _utcnow()
        with self.lock():
            due = now + self.online_expiry / 2
            chain = []
            if self.publisher().signed.expires <= due:
                chain = [PUBLISHER, "snapshot", "timestamp"]
            elif self.snapshot().signed.expires <= due:
                chain = ["snapshot", "timestamp"]
            elif self.timestamp().signed.expires <= due:
                chain = ["timestamp"]
            if chain:
                self._resign(tuple(chain), now)
            return chain

    def rotate_key(self, role: str, now: datetime | None = None) -> str:
        """Replace `role`'s key with a new one; returns the new keyid.

        Top-level roles change in a new root version signed by the current root
        key (and the new one, when root itself rotates); gates pick it up at
        their next refresh. The publisher key changes in a new targets version
        signed by the targets key. The old key file is kept, renamed `.retired`.
        """
        if role not in ROLES:
            raise RepositoryError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        now = now or _utcnow()
        with self.lock():
            new = CryptoSigner.generate_ed25519()
            pending = self._save_key(role, new, suffix=".new")
            try:
                old_keyids = self._keyids(role)
                if role == PUBLISHER:
                    targets = self.targets()
                    targets_signer = self._signer("targets", self._keyids("targets"))
                    for keyid in old_keyids:
                        targets.signed.revoke_key(keyid, PUBLISHER)
                    targets.signed.add_key(new.public_key, PUBLISHER)
                    publisher = self.publisher()
                    self._resign_with("targets", targets, targets_signer, now)
                    self._swap_key(role, pending)
                    self._resign((PUBLISHER, "snapshot", "timestamp"), now,
                                 {"targets": targets, PUBLISHER: publisher})
                else:
                    root = self.root()
                    old_root_signer = self._signer("root", self._keyids("root"))
                    for keyid in old_keyids:
                        root.signed.revoke_key(keyid, role)
                    root.signed.add_key(new.public_key, role)
                    root.signed.version += 1
                    root.signed.expires = now + self.offline_expiry
                    root.signatures.clear()
                    root.sign(old_root_signer)
                    if role == "root":
                        root.sign(new, append=True)
                    self._write_md(root, "root")
                    self._swap_key(role, pending)
                    if role == "targets":
                        targets = self.targets()
                        self._resign_with("targets", targets, new, now)
                        self._resign(("snapshot", "timestamp"), now, {"targets": targets})
                    elif role == "snapshot":
                        self._resign(("snapshot", "timestamp"), now)
                    elif role == "timestamp":
                        self._resign(("timestamp",), now)
            finally:
                pending.unlink(missing_ok=True)
            return new.public_key.keyid

    def _resign_with(self, role: str, md: Metadata, signer: CryptoSigner, now: datetime) -> None:
        md.signed.version += 1
        md.signed.expires = now + self.offline_expiry
        md.signatures.clear()
        md.sign(signer)
        self._write_md(md, role)

    def _swap_key(self, role: str, pending: Path) -> None:
        current = self._key_file(role)
        if current.exists():
            retired = current.with_name(
                f"{role}.{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.retired.pem")
            os.replace(current, retired)
        os.replace(pending, current)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(name, 0o644)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
