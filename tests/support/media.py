"""Real media files for tests, made with ffmpeg and Pillow (and one hand-made
decompression bomb). Shared by the validation, admin and central tests."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path


def make_video(path: Path, seconds: float = 2, size: str = "320x240", codec: str = "libx264",
               faststart: bool = True, rate: int = 25) -> Path:
    """A real H.264 (or other codec) video with a moving test picture."""
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc2=size={size}:rate={rate}", "-t", str(seconds), "-c:v", codec,
           "-pix_fmt", "yuv420p"]
    if faststart and path.suffix == ".mp4":
        cmd += ["-movflags", "+faststart"]
    subprocess.run(cmd + [str(path)], check=True, timeout=120)
    return path


def make_image(path: Path, size=(64, 48), color=(200, 30, 30), fmt: str | None = None) -> Path:
    from PIL import Image

    Image.new("RGB", size, color).save(path, format=fmt)
    return path


def truncate(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png_bomb(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A valid 1-bit greyscale PNG of width x height that is only ~100 KB on
    disk but would need gigabytes once decoded."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    parts = []
    for _ in range(height // 1000):
        parts.append(comp.compress(row * 1000))
    parts.append(comp.compress(row * (height % 1000)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b"")
    )
    return path
