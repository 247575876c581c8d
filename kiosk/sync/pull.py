"""One pull from the central authority: TUF refresh, release, media, activation.

Every step either succeeds or leaves the screens on the last-known-good release:
nothing reaches the database before the release document and every media file it
names have verified, and activation is one transaction. The outcome (and why, when
it failed) is written to the `sync` state key and the event table by `status`.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field
from pathlib import Path

from tuf.api import exceptions
from tuf.api.metadata import TargetFile
from tuf.ngclient import Updater

from kiosk.mediastore import HashMismatch, MediaStore
from kiosk.sync import release as rel
from kiosk.sync.activate import activate, active_release, previous_release
from kiosk.sync.clock import ClockState, clock_state
from kiosk.sync.disk import DiskFull, make_room
from kiosk.sync.fetcher import ResumingFetcher


class UnsignedMedia(rel.ReleaseError):
    """The release names a media file that is not a signed target."""


class ReleaseRollback(rel.ReleaseError):
    """A signed release with a version not newer than the active one."""


@dataclass
class PullConfig:
    central_url: str
    gate_id: str
    root_file: Path
    state_dir: Path
    timeout: float = 30.0
    clock_policy: str = "ntp"
    reserve_mb: float = 500.0
    budget_mb: float = 0.0

    @classmethod
    def from_settings(cls, settings) -> "PullConfig":
        return cls(
            central_url=settings["central_url"].rstrip("/"),
            gate_id=settings["gate_id"],
            root_file=Path(settings["sync_root_file"]),
            state_dir=settings.state_path,
            timeout=settings["sync_http_timeout_s"],
            clock_policy=settings["sync_clock"],
            reserve_mb=settings["sync_disk_reserve_mb"],
            budget_mb=settings["sync_media_budget_mb"],
        )

    @property
    def metadata_dir(self) -> Path:
        return self.state_dir / "tuf" / "metadata"

    @property
    def media_dir(self) -> Path:
        return self.state_dir / "media"

    @property
    def partial_dir(self) -> Path:
        # Beside the store (same filesystem) so a verified file is renamed, not copied.
        return self.media_dir / ".partial"


@dataclass
class PullResult:
    outcome: str  # activated | unchanged | no_release | failed
    code: str  # ok, or why it failed (see classify)
    reason: str
    offered_version: int | None = None
    active_version: int | None = None
    downloaded_media: int = 0
    evicted_media: list[str] = field(default_factory=list)
    requests: int = 0
    bytes: int = 0
    duration_s: float = 0.0
    clock: ClockState | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


def pull(db, config: PullConfig, fetcher: ResumingFetcher | None = None) -> PullResult:
    """Bring the gate to central's current release for it, or say why not."""
    started = time.monotonic()
    fetcher = fetcher or ResumingFetcher(config.partial_dir, timeout=config.timeout)
    active = active_release(db)
    result = PullResult("failed", "local_error", "", active_version=active and active["version"])
    try:
        result = _pull(db, config, fetcher, active)
    except Exception as e:  # noqa: BLE001 - every failure keeps the last-known-good
        clock = clock_state(config.clock_policy, fetcher.stats.server_date,
                            fetcher.stats.local_at_server_date)
        code, reason = classify(e, clock)
        result.code, result.reason = code, reason
        result.offered_version = getattr(e, "offered_version", None)
    result.requests = fetcher.stats.requests
    result.bytes = fetcher.stats.body_bytes
    result.duration_s = round(time.monotonic() - started, 3)
    result.clock = clock_state(config.clock_policy, fetcher.stats.server_date,
                               fetcher.stats.local_at_server_date)
    return result


def _pull(db, config: PullConfig, fetcher: ResumingFetcher, active) -> PullResult:
    if not config.central_url:
        raise NotConfigured("central_url is not set")
    try:
        bootstrap = config.root_file.read_bytes()
    except OSError as e:
        raise NotConfigured(f"pinned root metadata {config.root_file}: {e.strerror}") from None
    config.metadata_dir.mkdir(parents=True, exist_ok=True)
    store = MediaStore(config.media_dir)
    updater = Updater(
        metadata_dir=str(config.metadata_dir),
        metadata_base_url=f"{config.central_url}/tuf/metadata/",
        target_dir=str(config.state_dir / "tuf" / "targets"),
        target_base_url=f"{config.central_url}/tuf/targets/",
        fetcher=fetcher,
        bootstrap=bootstrap,
    )
    updater.refresh()
    active_version = active and active["version"]
    info = updater.get_targetinfo(rel.target_path(config.gate_id))
    if info is None:
        return PullResult("no_release", "no_release",
                          f"central has no release for gate {config.gate_id} yet",
                          active_version=active_version)
    doc_sha = info.hashes.get("sha256")
    if not doc_sha:
        raise exceptions.RepositoryError("release target carries no sha256 hash")
    if active and active.get("sha256") == doc_sha:
        return PullResult("unchanged", "ok", "", offered_version=active_version,
                          active_version=active_version)

    path = updater.download_target(info, filepath=str(config.state_dir / "tuf" / "release.json"))
    release = rel.parse(Path(path).read_bytes(), config.gate_id)
    try:
        if active and release.version <= active["version"]:
            raise ReleaseRollback(
                f"release {release.version} is not newer than the active release "
                f"{active['version']}; kept {active['version']}"
            )
        media = _media_targets(updater, release)
        _drop_stale_partials(config.partial_dir)
        missing = [(sha, ti) for sha, ti in media if not store.has(sha)]
        protected = set(release.media_sha256s) | _release_media(active) | _release_media(
            previous_release(db)) | {r[0] for r in db.execute("SELECT sha256 FROM media").fetchall()}
        room = make_room(store, sum(ti.length for _, ti in missing), protected,
                         config.reserve_mb, config.budget_mb, config.partial_dir)
        for sha, ti in missing:
            _download_media(fetcher, config, ti, sha, store)
        record = activate(db, release, doc_sha)
    except Exception as e:
        e.offered_version = release.version
        raise
    return PullResult("activated", "ok", f"release {release.version} active",
                      offered_version=release.version, active_version=record["version"],
                      downloaded_media=len(missing), evicted_media=room.evicted)


# A partial download nobody resumed for a week belongs to a release long gone
# (or to another central_url): its space is worth more than its bytes.
STALE_PARTIAL_S = 7 * 24 * 3600


def _drop_stale_partials(partial_dir: Path) -> None:
    if not partial_dir.is_dir():
        return
    cutoff = time.time() - STALE_PARTIAL_S
    for p in partial_dir.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except FileNotFoundError:
            pass


def _release_media(record) -> set[str]:
    return set(record.get("media", [])) if record else set()


def _media_targets(updater: Updater, release: rel.Release) -> list[tuple[str, TargetFile]]:
    """Every media the release names must be a signed target under its own hash."""
    result = []
    for m in release.media:
        sha = m["sha256"]
        ti = updater.get_targetinfo(rel.media_target_path(sha))
        if ti is None:
            raise UnsignedMedia(f"release {release.version} names media/{sha}, which is not a signed target")
        if ti.hashes.get("sha256") != sha:
            raise UnsignedMedia(f"signed target media/{sha} carries a different sha256 hash")
        if ti.length != m["size"]:
            raise rel.ReleaseError(
                f"media {sha}: release says {m['size']} bytes, signed target says {ti.length}"
            )
        result.append((sha, ti))
    return result


def _download_media(fetcher: ResumingFetcher, config: PullConfig, ti: TargetFile, sha: str,
                    store: MediaStore) -> None:
    # Consistent snapshots: the URL is the hash-prefixed name, as python-tuf builds it.
    prefix = next(iter(ti.hashes.values()))
    url = f"{config.central_url}/tuf/targets/media/{prefix}.{sha}"
    path = fetcher.fetch_to_file(url, ti.length)
    try:
        with open(path, "rb") as f:
            ti.verify_length_and_hashes(f)
        store.adopt(path, sha)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


class NotConfigured(Exception):
    pass


def classify(e: BaseException, clock: ClockState) -> tuple[str, str]:
    """An exception from a pull -> (code, operator-readable reason)."""
    text = str(e) or type(e).__name__
    if isinstance(e, NotConfigured):
        return "not_configured", text
    if isinstance(e, exceptions.ExpiredMetadataError):
        if not clock.expiry_trusted:
            return "expired_clock_untrusted", (
                f"metadata looks expired ({text}) but the clock is not synchronised; "
                "it may be the clock that is wrong")
        return "expired", f"expired metadata: {text}"
    if isinstance(e, exceptions.UnsignedMetadataError):
        return "bad_signature", f"bad signature: {text}"
    if isinstance(e, exceptions.BadVersionNumberError):
        return "rollback", f"rollback refused: {text}"
    if isinstance(e, (exceptions.LengthOrHashMismatchError, exceptions.DownloadLengthMismatchError,
                      HashMismatch)):
        return "tampered", f"bytes do not match the signed metadata: {text}"
    if isinstance(e, exceptions.DownloadHTTPError):
        return "network", f"HTTP {e.status_code} from central: {text}"
    if isinstance(e, exceptions.DownloadError):
        cause = e.__cause__ or e.__context__
        return "network", f"network: {text}" + (f" ({cause})" if cause and str(cause) not in text else "")
    if isinstance(e, UnsignedMedia):
        return "unsigned_media", text
    if isinstance(e, ReleaseRollback):
        return "release_rollback", text
    if isinstance(e, rel.ReleaseError):
        return "bad_release", f"release refused: {text}"
    if isinstance(e, exceptions.RepositoryError):
        return "bad_metadata", f"metadata refused: {text}"
    if isinstance(e, DiskFull):
        return "disk_full", f"release refused, not enough disk: {text}"
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return "disk_full", f"disk full while downloading: {text}"
    return "local_error", f"{type(e).__name__}: {text}"
