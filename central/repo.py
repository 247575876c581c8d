"""The signed TUF repository the gates pull from (`<state>/tuf/`), written only
by this module and only under a file lock.

Roles and keys (one Ed25519 key each):
- root, targets: offline keys. `targets` signs once, at init or rotation: it
  delegates every target, by hash of its path, to 2^N bins `publisher-0` ...
  (TUF succinct hash-bin delegation) that share the `publisher` key.
- publisher (the bins), snapshot, timestamp: online keys in `<state>/keys/`,
  used at every publish and to re-sign metadata before it expires.

Bins keep what a gate downloads small in a large fleet: a publish re-signs
only the bins whose targets changed, so a gate whose own release and media did
not change fetches the new snapshot (under a kilobyte) and nothing else, and
one that changed fetches its one or two bins, not a list of every gate's files.

A leaked online key lets an attacker sign content until the offline targets
key rotates it away (`rotate_key("publisher")`); a leaked root or targets key
would not be recoverable, hence offline. Consistent snapshots: metadata is
written as `N.<role>.json` (timestamp as `timestamp.json`), targets as
`<dir>/<sha256>.<name>`, so a file once published never changes under a gate
that is part-way through an update.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)

try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
except OSError:  # not glibc/musl: per-file fsync (_sync_files)
    _libc = None

TOP_ROLES = ("root", "targets", "snapshot", "timestamp")
PUBLISHER = "publisher"
ROLES = TOP_ROLES + (PUBLISHER,)
OFFLINE_ROLES = ("root", "targets")
ONLINE_ROLES = (PUBLISHER, "snapshot", "timestamp")
DEFAULT_BIN_BITS = 4  # 16 bins: ~8 KB each for 1000 gates


def is_bin(role: str) -> bool:
    return role.startswith(PUBLISHER + "-")


def key_role(role: str) -> str:
    """The key file a role signs with: every bin uses the publisher key."""
    return PUBLISHER if is_bin(role) else role


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
        timezone: str | None = None,
    ):
        self.state_dir = Path(state_dir)
        # central_timezone: the days media dates are in when releases are
        # built (central/publish.py; None: that setting's default).
        self.timezone = timezone
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
        role = key_role(role)
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
            # The timestamp makes a version visible to gates: everything it
            # leads to (targets fsynced in publish, N.role.json here) is
            # durable first, and the timestamp itself before anyone is told.
            _fsync(self.metadata_dir)
            self._write("timestamp.json", data)
            _fsync(self.metadata_dir)
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

    def bins(self, targets: Metadata[Targets] | None = None) -> SuccinctRoles:
        return (targets or self.targets()).signed.delegations.succinct_roles

    def published_targets(self) -> dict[str, TargetFile]:
        snapshot = self.snapshot()
        found: dict[str, TargetFile] = {}
        for name in self.bins().get_roles():
            found.update(self._role_md(name, snapshot).signed.targets)
        return found

    def _keyids(self, role: str, targets: Metadata[Targets] | None = None) -> list[str]:
        if is_bin(role) or role == PUBLISHER:
            return list(self.bins(targets).keyids)
        return list(self.root().signed.roles[role].keyids)

    # ---- writing -----------------------------------------------------------
    def init(self, now: datetime | None = None, bin_bits: int = DEFAULT_BIN_BITS) -> None:
        """Make keys and version 1 of every role. Refuses to overwrite."""
        if not 0 < bin_bits <= 10:
            raise RepositoryError("the number of hash bins is 2^1 .. 2^10")
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
            targets.delegations = Delegations(keys={}, roles=None, succinct_roles=SuccinctRoles(
                [], 1, bin_bits, PUBLISHER))
            targets.add_key(signers[PUBLISHER].public_key)
            bins = list(targets.delegations.succinct_roles.get_roles())
            snapshot = Snapshot(expires=now + self.online_expiry, meta={
                "targets.json": MetaFile(1), **{f"{b}.json": MetaFile(1) for b in bins}})
            timestamp = Timestamp(expires=now + self.online_expiry, snapshot_meta=MetaFile(1))
            for role in ROLES:
                self._save_key(role, signers[role])
            signed_roles = [("root", root), ("targets", targets)]
            signed_roles += [(b, Targets(expires=now + self.online_expiry)) for b in bins]
            signed_roles += [("snapshot", snapshot), ("timestamp", timestamp)]
            for role, signed in signed_roles:
                md = Metadata(signed)
                md.sign(signers[key_role(role)])
                self._write_md(md, role)
            self.targets_dir.mkdir(parents=True, exist_ok=True)

    def _store_target(self, spec: TargetSpec, new: list[Path]) -> TargetFile:
        """The target's TargetFile; its file linked (or copied) into place if
        it is not there yet, and added to `new`: the caller makes every new
        file durable at once (`_sync_files`) before any metadata names it."""
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
            new.append(dest)
        return tf

    def version(self) -> int:
        """The repository version: the snapshot's, which every change bumps."""
        return self.snapshot().signed.version

    def publish(self, specs: list[TargetSpec], now: datetime | None = None) -> int:
        """Make `specs` the complete set of published targets in a new
        repository version, re-signing only the bins that changed. Target
        files are in place before any metadata names them. Returns the new
        repository version."""
        now = now or _utcnow()
        with self.lock():
            bins = self.bins()
            wanted: dict[str, dict[str, TargetFile]] = {b: {} for b in bins.get_roles()}
            new: list[Path] = []
            for spec in specs:
                wanted[bins.get_role_for_target(spec.path)][spec.path] = \
                    self._store_target(spec, new)
            # Every new file and its folder's entry on disk before any metadata
            # names it.
            _sync_files(new)
            snapshot = self.snapshot()
            changed = {}
            for name, targets in wanted.items():
                md = self._role_md(name, snapshot)
                if md.signed.targets != targets:
                    md.signed.targets = targets
                    changed[name] = md
            self._resign((*changed, "snapshot", "timestamp"), now,
                         {**changed, "snapshot": snapshot})
            return snapshot.signed.version

    def _resign(self, roles: tuple[str, ...], now: datetime,
                loaded: dict[str, Metadata] | None = None) -> None:
        """Bump, sign and write `roles` (a chain ending in timestamp), each
        recorded in the next one's meta."""
        loaded = dict(loaded or {})
        signers: dict[str, CryptoSigner] = {}
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
                # Record every targets role (top-level or bin) bumped before this point.
                for name, other in loaded.items():
                    if name in roles and name not in ("root", "snapshot", "timestamp"):
                        snapshot.signed.meta[f"{name}.json"] = MetaFile(other.signed.version)
                    elif name == "targets":
                        snapshot.signed.meta["targets.json"] = MetaFile(other.signed.version)
            if role == "timestamp":
                md.signed.snapshot_meta = MetaFile(snapshot.signed.version)
            # A targets not yet in any snapshot (a rotation) names the bins' key.
            keyids = self._keyids(role, loaded.get("targets"))
            if key_role(role) not in signers:
                signers[key_role(role)] = self._signer(role, keyids)
            md.signatures.clear()
            md.sign(signers[key_role(role)])
            self._write_md(md, role)
            loaded[role] = md

    def refresh(self, now: datetime | None = None) -> list[str]:
        """Re-sign online metadata past half its lifetime, so gates never see
        it expire while the server runs. Returns the roles re-signed."""
        now = now or _utcnow()
        with self.lock():
            due = now + self.online_expiry / 2
            snapshot = self.snapshot()
            chain = [b for b in self.bins().get_roles()
                     if self._role_md(b, snapshot).signed.expires <= due]
            if chain or snapshot.signed.expires <= due:
                chain += ["snapshot", "timestamp"]
            elif self.timestamp().signed.expires <= due:
                chain = ["timestamp"]
            if chain:
                self._resign(tuple(chain), now, {"snapshot": snapshot})
            return chain

    def prune(self, older_than: timedelta = timedelta(days=7),
              now: datetime | None = None) -> dict[str, int]:
        """Delete what the current repository version no longer names and that
        is older than `older_than`: superseded `N.<role>.json` (never a root:
        gates walk the root chain from version 1) and target files. A gate
        part-way through an update needs the files of the version it started
        on for seconds; the default week leaves every straggler its files."""
        cutoff = (now.timestamp() if now else time.time()) - older_than.total_seconds()
        removed = {"metadata": 0, "targets": 0}
        with self.lock():
            snapshot = self.snapshot()
            keep = {"timestamp.json", "root.json", f"{snapshot.signed.version}.snapshot.json"}
            keep |= {f"{meta.version}.{name}" for name, meta in snapshot.signed.meta.items()}
            for path in self.metadata_dir.glob("*.json"):
                if (path.name not in keep and not path.name.endswith(".root.json")
                        and path.stat().st_mtime < cutoff):
                    path.unlink()
                    removed["metadata"] += 1
            wanted = {p for tf in self.published_targets().values()
                      for p in tf.get_prefixed_paths()}
            for path in self.targets_dir.rglob("*"):
                rel = path.relative_to(self.targets_dir).as_posix()
                if path.is_file() and rel not in wanted and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed["targets"] += 1
        return removed

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
                        targets.signed.revoke_key(keyid)
                    targets.signed.add_key(new.public_key)
                    bins = list(self.bins().get_roles())
                    self._resign_with("targets", targets, targets_signer, now)
                    self._swap_key(role, pending)
                    self._resign((*bins, "snapshot", "timestamp"), now, {"targets": targets})
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


def _syncfs(path: Path) -> bool:
    """Flush the whole file system holding `path` (Linux syncfs(2)): one
    journal commit for any number of files. False where there is no syncfs."""
    if _libc is None or not hasattr(_libc, "syncfs"):
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return _libc.syncfs(fd) == 0
    finally:
        os.close(fd)


def _sync_files(paths: list[Path]) -> None:
    """Make new files (data and folder entries) durable. A publication for
    10,000 gates adds 10,000 release files: an fsync each cost ~2 ms on an
    idle disk and 10 ms or more on a busy one (most of the minute and a half
    an emergency for 10,000 gates took to build), where one syncfs of the
    file system flushes them all in one journal commit."""
    if not paths:
        return
    folders = {p.parent for p in paths}
    one_fs = len({os.stat(f).st_dev for f in folders}) == 1
    if len(paths) > 8 and one_fs and _syncfs(next(iter(folders))):
        return
    for p in paths:
        _fsync(p)
    for folder in folders:
        _fsync(folder)


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries (renames), to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
