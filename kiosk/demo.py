"""`gatecast demo`: a gate on this machine in one command.

It makes a state folder, generates sample media with ffmpeg (nothing is
committed to the repository), writes a two-face schedule with a priority
entry starting in the next minutes, and runs the gate's services together:
the player, and whatever other areas add to the `gatecast.demo_services`
entry points (the admin under gunicorn, a local central server ...). With a display the faces are windows;
without one the player runs headless and screenshots show what plays.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import click

from kiosk import content, schedule_entry
from kiosk.entrypoints import demo_service_factories
from kiosk.mediastore import MediaStore, sha256_file
from kiosk.player.mpv import display_available
from kiosk.store import open_db, writing

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
)
WIDTH, HEIGHT = 1280, 720
READY_TIMEOUT_S = 120.0  # a service that is not ready by then: start the rest anyway


class DemoError(Exception):
    pass


@dataclass
class Service:
    """A process the demo runs for the whole session."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""  # one line for the user: what it is, where to look
    # Answers True once the service can be used; the services after it start
    # only then (sync would otherwise log a failed pull against a server
    # that is still starting).
    ready: Callable[[], bool] | None = None


@dataclass
class DemoContext:
    state_dir: Path
    config_file: Path
    windowed: bool
    bin_dir: Path  # where the `gatecast` script (and gunicorn ...) live
    notes: list[str] = field(default_factory=list)

    @property
    def gatecast(self) -> str:
        script = self.bin_dir / "gatecast"
        return str(script) if script.exists() else "gatecast"

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
        env["GATECAST_STATE_DIR"] = str(self.state_dir)
        env["GATECAST_CONFIG"] = str(self.config_file)
        # The demo never drives real GPIO pins.
        env.setdefault("GPIOZERO_PIN_FACTORY", "mock")
        return env


# ---- sample media ------------------------------------------------------------


def _font() -> str:
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return path
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", "sans:bold"], capture_output=True,
                             text=True, timeout=10, check=True)
        if out.stdout and Path(out.stdout).exists():
            return out.stdout
    except (OSError, subprocess.SubprocessError):
        pass
    raise DemoError("no font found for the title cards: install fonts-noto-core")


def _ffmpeg(args: list[str], out: Path) -> None:
    """Make `out` unless an earlier run did: written under a temporary name
    in the same folder (text files are named relative to it) and renamed."""
    if out.exists() and out.stat().st_size > 0:
        return
    if shutil.which("ffmpeg") is None:
        raise DemoError("ffmpeg is missing: run scripts/setup.sh")
    part = out.with_name(f".part-{out.name}")
    result = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args, part.name], cwd=out.parent,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        part.unlink(missing_ok=True)
        raise DemoError(f"ffmpeg failed making {out.name}: {result.stderr.strip()[-500:]}")
    part.replace(out)


def _title_card(folder: Path, name: str, lines: list[tuple[str, int, str]], background: str) -> Path:
    """A card with centred lines (text, size, colour); text goes through files
    so that no character needs escaping in the filter graph."""
    font = _font()
    filters = []
    total = sum(size * 1.5 for _, size, _ in lines)
    y = (HEIGHT - total) / 2
    for i, (text, size, colour) in enumerate(lines):
        text_file = folder / f"{name}-{i}.txt"
        text_file.write_text(text, encoding="utf-8")
        filters.append(
            f"drawtext=fontfile='{font}':textfile='{text_file.name}':fontsize={size}:"
            f"fontcolor={colour}:x=(w-text_w)/2:y={int(y)}"
        )
        y += size * 1.5
    out = folder / f"{name}.png"
    _ffmpeg(["-f", "lavfi", "-i", f"color=c={background}:s={WIDTH}x{HEIGHT}",
             "-vf", ",".join(filters), "-frames:v", "1"], out)
    return out


def make_sample_media(folder: Path) -> dict[str, Path]:
    """Title cards (Vietnamese/English), a photo-like picture, a short H.264 clip."""
    folder.mkdir(parents=True, exist_ok=True)
    media = {
        "welcome": _title_card(folder, "welcome", [
            ("Chào mừng quý khách đến Việt Nam", 56, "white"),
            ("Welcome to Viet Nam", 44, "0xFFD54F"),
            ("Cửa khẩu quốc tế — Hướng dẫn thủ tục xuất nhập cảnh", 30, "white"),
            ("International border gate — entry and exit guidance", 28, "0xB0BEC5"),
        ], background="0x0D3B66"),
        "notice": _title_card(folder, "notice", [
            ("THÔNG BÁO ƯU TIÊN", 64, "0xFFEB3B"),
            ("Priority notice", 40, "white"),
            ("Đề nghị chuẩn bị sẵn hộ chiếu và tờ khai", 34, "white"),
            ("Please have your passport and declaration ready", 30, "0xE0E0E0"),
        ], background="0x9B1C1C"),
    }
    photo = folder / "landscape.jpg"
    # Sky, sun and grassy hills with grain: continuous tones like a photo.
    hill = f"({HEIGHT}*0.62+38*sin(X/140)+22*sin(X/53+1))"
    sun = "lt(hypot(X-1000,Y-150),58)"
    geq = (f"geq=r='if({sun},255,if(lt(Y,{hill}),95+70*Y/{HEIGHT},45+30*random(1)+30*(Y-{hill})/300))'"
           f":g='if({sun},236,if(lt(Y,{hill}),150+60*Y/{HEIGHT},110+45*random(1)-35*(Y-{hill})/300))'"
           f":b='if({sun},170,if(lt(Y,{hill}),228-20*Y/{HEIGHT},30+15*random(1)))'")
    _ffmpeg(["-f", "lavfi", "-i", f"color=s={WIDTH}x{HEIGHT}",
             "-vf", f"format=rgb24,{geq},gblur=sigma=1.5,noise=alls=8:allf=u",
             "-frames:v", "1", "-q:v", "3"], photo)
    media["landscape"] = photo
    clip = folder / "clip.mp4"
    caption = folder / "clip.txt"
    caption.write_text("gatecast — video H.264", encoding="utf-8")
    _ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s={WIDTH}x{HEIGHT}:r=25", "-t", "6",
             "-vf", f"drawtext=fontfile='{_font()}':textfile='{caption.name}':fontsize=48:"
                    "fontcolor=white:box=1:boxcolor=black@0.5:x=(w-text_w)/2:y=h-100",
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
             "-movflags", "+faststart"], clip)
    media["clip"] = clip
    return media


# ---- the demo gate -----------------------------------------------------------

def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def write_config(state_dir: Path, windowed: bool) -> Path:
    """Two faces, each on its own output: two windows side by side where a
    display exists, two headless mpv otherwise."""
    # The windows are placed with X11 geometry (XWayland on a Wayland desktop);
    # headless never looks for a display (no no_display alarm in the demo).
    display = ("x11" if os.environ.get("DISPLAY") else "auto") if windowed else "headless"
    lines = ["# Written by `gatecast demo`.",
             f'display = "{display}"',
             f'mpv_vo = "{"gpu,x11" if windowed else "null"}"',
             "screenshot_interval_s = 5", ""]
    for i, name in enumerate(("left", "right")):
        args = ["--fullscreen=no", f"--geometry=640x360+{20 + 660 * i}+40", "--autofit=640x360"]
        lines += ["[[outputs]]", f'name = "{name}"', f"width = {WIDTH}", f"height = {HEIGHT}",
                  f"mpv_args = {_toml_list(args if windowed else [])}", ""]
    for face, name, output in ((1, "Mặt 1 — hướng nhập cảnh", "left"),
                               (2, "Mặt 2 — hướng xuất cảnh", "right")):
        lines += ["[[faces]]", f"id = {face}", f"name = {json.dumps(name, ensure_ascii=False)}",
                  f'output = "{output}"', ""]
    path = state_dir / "gatecast.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def priority_window(tz: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The demo's priority notice: three minutes from the next minute but one (local time)."""
    local = (now or datetime.now(ZoneInfo(tz))).astimezone(ZoneInfo(tz))
    start = (local + timedelta(minutes=2)).replace(second=0, microsecond=0)
    return start, start + timedelta(minutes=3)


def install_schedule(db, store: MediaStore, media: dict[str, Path], tz: str,
                     now: datetime | None = None) -> dict:
    """Demo playlists for both faces and a priority entry a minute or two ahead.

    Safe to run again on the same state: the demo's own rows are replaced, and
    a media row that already exists (an earlier demo's release brought the
    same bytes from central) is reused as it is, never turned local.
    """
    sha = {}
    for name, path in media.items():
        digest = sha256_file(path)
        known = db.execute("SELECT 1 FROM media WHERE sha256 = ?", [digest]).fetchone()
        sha[name] = digest if known and store.has(digest) else \
            content.add_media(db, store, path, name=f"demo {path.name}")
    with writing(db):
        schedule_entry.delete_demo(db)
        db.execute("DELETE FROM face_fallback WHERE playlist_id LIKE 'demo-%'")
    content.set_playlist(db, "demo-face-1", "Demo: face 1", [
        (sha["welcome"], 8.0), (sha["landscape"], 6.0), (sha["clip"], None)])
    content.set_playlist(db, "demo-face-2", "Demo: face 2", [
        (sha["landscape"], 6.0), (sha["clip"], None), (sha["welcome"], 8.0)])
    content.set_playlist(db, "demo-notice", "Demo: priority notice", [(sha["notice"], 10.0)])
    content.add_schedule_entry(db, "demo-face-1", [1], name="Demo: all day, face 1",
                               entry_id="demo-day-1")
    content.add_schedule_entry(db, "demo-face-2", [2], name="Demo: all day, face 2",
                               entry_id="demo-day-2")
    start, end = priority_window(tz, now)
    content.add_schedule_entry(
        db, "demo-notice", [1, 2], level="priority", name="Demo: priority notice",
        entry_id="demo-priority", start_time=start.strftime("%H:%M"), end_time=end.strftime("%H:%M"),
        start_date=start.date().isoformat(), end_date=start.date().isoformat())
    content.set_fallback(db, 1, "demo-face-1")
    content.set_fallback(db, 2, "demo-face-2")
    return {"priority_from": start.strftime("%H:%M"), "priority_to": end.strftime("%H:%M")}


def player_services(ctx: DemoContext) -> list[Service]:
    return [Service("player", [ctx.gatecast, "player"], ctx.base_env(),
                    note="faces in two mpv windows" if ctx.windowed else
                    f"headless; screenshots in {ctx.state_dir / 'screenshots'}")]


def prepare(state_dir: Path, windowed: bool) -> DemoContext:
    from kiosk.settings import load_settings

    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    config = write_config(state_dir, windowed)
    settings = load_settings(config_file=config, state_dir=state_dir)
    db = open_db(settings.db_path)
    try:
        store = MediaStore(settings.media_dir)
        media = make_sample_media(state_dir / "demo-media")
        when = install_schedule(db, store, media, settings["timezone"])
    finally:
        db.close()
    ctx = DemoContext(state_dir, config, windowed, Path(sys.executable).parent)
    ctx.notes.append(f"priority notice on both faces {when['priority_from']}–{when['priority_to']} "
                     f"({settings['timezone']})")
    return ctx


def collect_services(ctx: DemoContext) -> list[Service]:
    """Every area's `services(ctx: DemoContext) -> list[Service]` (entry point
    group `gatecast.demo_services`). Each may prepare the demo state first
    (accounts, keys, a signed repository) and returns the processes to run;
    they start in the group's order and stop in reverse."""
    services = []
    factory: Callable[[DemoContext], list[Service]]
    for factory in demo_service_factories():
        services.extend(factory(ctx))
    return services


def run_services(services: list[Service], duration: float | None, echo=print) -> int:
    """Start every service, wait for the time, Ctrl-C, SIGTERM or a death; stop all."""
    procs: list[tuple[Service, subprocess.Popen]] = []
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        for service in services:
            if stopping:
                break
            proc = subprocess.Popen(service.argv, env=service.env or None)
            procs.append((service, proc))
            echo(f"demo: started {service.name} (pid {proc.pid}){': ' + service.note if service.note else ''}")
            ready_by = time.monotonic() + READY_TIMEOUT_S
            while service.ready and not stopping and proc.poll() is None \
                    and time.monotonic() < ready_by and not service.ready():
                time.sleep(0.2)
        deadline = None if duration is None else time.monotonic() + duration
        while not stopping and (deadline is None or time.monotonic() < deadline):
            dead = [(s, p) for s, p in procs if p.poll() is not None]
            if dead:
                for s, p in dead:
                    echo(f"demo: {s.name} exited with status {p.returncode}; stopping the demo")
                status = 1
                break
            time.sleep(0.2)
    finally:
        for service, proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for service, proc in reversed(procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for s, handler in old.items():
            signal.signal(s, handler)
    return status


@click.command("demo")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-state"), show_default=True,
              help="State folder for the demo gate (created; sample media regenerated).")
@click.option("--for", "duration", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds. Default: until Ctrl-C.")
@click.option("--headless/--window", default=None,
              help="Force headless mpv, or windows. Default: windows when a display exists.")
def demo_cmd(state_dir, duration, headless):
    """Run a demo gate: sample media made with ffmpeg, a two-face schedule with
    a priority notice starting in the next minutes, and the gate's services
    (the player; the admin and a local central server where installed).

    \b
    Example:
        gatecast demo
        gatecast demo --state /tmp/gate --for 60 --headless
    """
    windowed = display_available() if headless is None else not headless
    try:
        ctx = prepare(state_dir, windowed)
        services = collect_services(ctx)
    except (DemoError, content.ContentError, OSError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"demo: state folder {ctx.state_dir} (config {ctx.config_file})")
    for note in ctx.notes:
        click.echo(f"demo: {note}")
    status = run_services(services, duration, echo=click.echo)
    if status:
        raise click.ClickException("a demo service stopped unexpectedly (see its log above)")
    click.echo("demo: stopped")
