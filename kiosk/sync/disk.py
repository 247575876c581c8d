"""Room for a release's media on the state disk.

Before downloading, the gate works out what the new release still needs. If that
does not fit (free space minus the reserve, and the optional media budget), media
files that no release the gate may need again uses are evicted, least recently
used first. Protected are: the media of the candidate release, of the active
(last-known-good) release, of the release before it, and every row in the media
table (that covers local uploads). If it still does not fit, the release is refused
and nothing is evicted beyond what was useless anyway.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from kiosk.mediastore import MediaStore

MB = 1024 * 1024


class DiskFull(Exception):
    """A release's media do not fit, even after evicting everything evictable."""


@dataclass
class Room:
    needed: int
    available: int
    evicted: list[str]


def store_bytes(store: MediaStore, partial_dir: Path | None = None) -> int:
    total = sum(store.path(s).stat().st_size for s in store.all())
    if partial_dir is not None and partial_dir.exists():
        total += sum(p.stat().st_size for p in partial_dir.iterdir() if p.is_file())
    return total


def available_bytes(store: MediaStore, reserve_mb: float, budget_mb: float,
                    partial_dir: Path | None = None) -> int:
    free = shutil.disk_usage(store.root).free - int(reserve_mb * MB)
    if budget_mb > 0:
        free = min(free, int(budget_mb * MB) - store_bytes(store, partial_dir))
    return free


def make_room(
    store: MediaStore,
    needed: int,
    protected: set[str],
    reserve_mb: float,
    budget_mb: float,
    partial_dir: Path | None = None,
) -> Room:
    """Evict unprotected media until `needed` bytes fit, or raise DiskFull."""
    available = available_bytes(store, reserve_mb, budget_mb, partial_dir)
    if needed <= available:
        return Room(needed, available, [])
    candidates = []
    for sha in store.all():
        if sha in protected:
            continue
        st = store.path(sha).stat()
        candidates.append((max(st.st_atime, st.st_mtime), sha, st.st_size))
    reclaimable = sum(c[2] for c in candidates)
    if needed > available + reclaimable:
        raise DiskFull(
            f"release needs {needed / MB:.1f} MB more; {max(available, 0) / MB:.1f} MB free "
            f"and {reclaimable / MB:.1f} MB evictable (reserve {reserve_mb:g} MB"
            + (f", budget {budget_mb:g} MB" if budget_mb > 0 else "")
            + ")"
        )
    evicted = []
    for _, sha, size in sorted(candidates):
        if needed <= available:
            break
        store.remove(sha)
        evicted.append(sha)
        available += size
    return Room(needed, available, evicted)
