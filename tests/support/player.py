"""Helpers for the real-mpv player tests: sample media made with ffmpeg, a
player running in a thread against a real state folder. Their fixtures
(`sample_media`, `gate`) are in tests/conftest.py: the power and text tests use them too.
"""

from __future__ import annotations

import os
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

from kiosk import content
from kiosk.mediastore import MediaStore
from kiosk.settings import load_settings
from kiosk.store import open_db

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255)}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def make_media(folder: Path) -> dict[str, Path]:
    """Solid-colour PNGs, a 1 s H.264 clip, a corrupt 'video'."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, (r, g, b) in COLOURS.items():
        path = folder / f"{name}.png"
        ffmpeg("-f", "lavfi", "-i", f"color=c=0x{r:02x}{g:02x}{b:02x}:s=320x240", "-frames:v", "1",
               str(path))
        files[name] = path
    clip = folder / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x240:r=25", "-t", "1", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(clip))
    files["clip"] = clip
    corrupt = folder / "corrupt.mp4"
    # Deterministic garbage that no demuxer recognises.
    corrupt.write_bytes(bytes((i * 7919) % 251 for i in range(20000)))
    files["corrupt"] = corrupt
    return files


def gate_settings(state_dir: Path, **overrides):
    values = {
        "outputs": [{"name": "main", "width": 320, "height": 240}],
        "faces": [{"id": 1, "name": "Face 1", "output": "main"}],
        "screenshot_interval_s": 0,
        "mpv_vo": "null",
        "poll_interval_s": 0.1,
    }
    values.update(overrides)
    return load_settings(state_dir=state_dir, env={}, overrides=values,
                         config_file=_empty_config(state_dir))


def _empty_config(state_dir: Path) -> Path:
    cfg = state_dir.parent / "gatecast.toml"
    if not cfg.exists():
        cfg.write_text("")
    return cfg


class Gate:
    """A state folder with the sample media in its store."""

    def __init__(self, state_dir: Path, media: dict[str, Path]):
        self.state_dir = state_dir
        self.db = open_db(state_dir / "gatecast.db")
        self.store = MediaStore(state_dir / "media")
        self.sha = {name: content.add_media(self.db, self.store, path, name=name,
                                            kind="video" if path.suffix == ".mp4" else "image")
                    for name, path in media.items()}

    def proof(self, face: int | None = None) -> list[dict]:
        sql = "SELECT * FROM proof_of_play"
        args = []
        if face is not None:
            sql += " WHERE face_id = ?"
            args.append(face)
        return list(self.db.query(sql + " ORDER BY id", args))

    def face(self, face_id: int) -> dict:
        rows = list(self.db.query("SELECT * FROM face_state WHERE face_id = ?", [face_id]))
        return rows[0] if rows else {}

    def playing(self, face_id: int = 1) -> str | None:
        return self.face(face_id).get("playing_name")


@contextmanager
def running_player(settings, plugins=(), extra_mpv_args=()):
    """Run a Player in a thread; always stop it (and its mpv) afterwards."""
    from kiosk.player.loop import Player

    player = Player(settings, plugins=list(plugins), extra_mpv_args=extra_mpv_args)
    errors = []

    def run():
        try:
            player.run()
        except BaseException as e:  # noqa: BLE001 - surfaced by the test
            errors.append(e)

    thread = threading.Thread(target=run, name="player", daemon=True)
    thread.start()
    try:
        yield player
    finally:
        player.stop()
        thread.join(timeout=20)
        assert not thread.is_alive(), "player did not stop"
    if errors:
        raise errors[0]


def mpv_pid(player, picture: str = "face-1") -> int | None:
    proc = player.pictures[picture].proc
    return proc.pid if proc is not None and proc.ipc is not None else None


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
