"""Content-addressed media store: `media/<sha256>` files.

A file only ever appears under its final name complete and verified: writers
fill a temporary file in the same folder, check its hash, fsync it and rename
it into place, so a pulled plug leaves either nothing or the whole file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterable

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class MediaStoreError(Exception):
    pass


class HashMismatch(MediaStoreError):
    pass


def check_sha256(sha256: str) -> str:
    """Media names come from the network and from users: only hex digests pass."""
    if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
        raise MediaStoreError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class MediaStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / check_sha256(sha256)

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def all(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if SHA256_RE.match(p.name))

    def _commit(self, tmp: Path, digest: str, expected: str | None) -> str:
        if expected is not None and digest != expected:
            tmp.unlink(missing_ok=True)
            raise HashMismatch(f"content hash {digest} does not match expected {expected}")
        final = self.path(digest)
        os.replace(tmp, final)
        _fsync_dir(self.root)
        return digest

    def add_stream(self, chunks: Iterable[bytes], expected: str | None = None) -> str:
        """Store bytes from an iterator; returns their sha256."""
        if expected is not None:
            check_sha256(expected)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        tmp = Path(name)
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    h.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self._commit(tmp, h.hexdigest(), expected)

    def add_file(self, src: Path | str, expected: str | None = None) -> str:
        with open(src, "rb") as f:
            return self.add_stream(iter(lambda: f.read(CHUNK), b""), expected)

    def add_fileobj(self, fileobj: BinaryIO, expected: str | None = None) -> str:
        return self.add_stream(iter(lambda: fileobj.read(CHUNK), b""), expected)

    def add_bytes(self, data: bytes, expected: str | None = None) -> str:
        return self.add_stream([data], expected)

    def adopt(self, tmp: Path | str, expected: str | None = None) -> str:
        """Move a finished temporary file from this store's folder (or a folder
        inside it, like sync's `.partial/`) into place under its hash (no second
        copy of a large upload or download); returns the sha256."""
        tmp = Path(tmp)
        if self.root.resolve() not in tmp.resolve().parents:
            raise MediaStoreError(f"{tmp} is not in the media folder {self.root}")
        if expected is not None:
            check_sha256(expected)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        return self._commit(tmp, sha256_file(tmp), expected)

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def clean_incoming(self) -> None:
        """Drop temporary files a crash left behind."""
        for p in self.root.glob(".incoming-*"):
            p.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
