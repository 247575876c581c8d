"""The player controller: one loop thread that reconciles every output's mpv
to the schedule and writes back what is actually shown.

Each pass: handle queued mpv events; every `poll_interval_s` read the
desired-state revision (a change re-reads the schedule at once, so a change
in the admin reaches the screen within about one poll interval and an
emergency entry preempts whatever plays); re-evaluate at the moment the
schedule engine said the answer changes; keep every mpv alive; take
screenshots. Nothing blocks for long: mpv commands have timeouts, slow ones
(screenshots) are asynchronous, and a dead mpv is restarted without
stopping the loop or the other outputs.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable

from kiosk import settings as settings_mod
from kiosk.jsonlog import log
from kiosk.mediastore import MediaStore
from kiosk.player import facestate, proof, screenshots
from kiosk.player.ipc import MpvEvent
from kiosk.player.mpv import build_args
from kiosk.player.output import Output, Slot, Want
from kiosk.player.plugins import DARK_RECHECK_S, DarkFaces, PlayerPlugin, load_plugin_classes
from kiosk.player.resolve import ResolveContext, Unplayable, resolve_item
from kiosk.schedule import Decision, Schedule, evaluate, load_schedule
from kiosk.store import desired_revision, get_state, iso, log_event, open_db, set_state, utcnow

logger = logging.getLogger("gatecast.player")

HEARTBEAT_S = 10.0
_WAKE = object()  # queued to wake the loop early


@dataclass
class ScreenshotDone:
    output: str
    generation: int
    tmp_path: str
    ok: bool
    error: str | None = None


class Player:
    """Drives every configured output. `run()` blocks until `stop()`."""

    def __init__(self, settings: settings_mod.Settings, plugins: Iterable[type[PlayerPlugin]] | None = None,
                 extra_mpv_args: Iterable[str] = ()):
        self.settings = settings
        self.faces = settings_mod.faces(settings)
        self.outputs_config = list(settings["outputs"])
        self.db = open_db(settings.db_path)
        self.media = MediaStore(settings.media_dir)
        self.cache_dir = settings.state_path / "cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.screenshot_dir = settings.screenshot_dir
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to ~108 bytes: keep them short.
        self.run_dir = Path(tempfile.mkdtemp(prefix="gatecast-"))
        self.events: queue.Queue = queue.Queue()
        self.extra_mpv_args = list(extra_mpv_args)
        self.outputs = {o["name"]: Output(o, self) for o in self.outputs_config}
        plugin_classes = load_plugin_classes() if plugins is None else list(plugins)
        self.plugins = [cls(self) for cls in plugin_classes]
        self._stop = threading.Event()
        self._revision: int | None = None
        self._schedule: Schedule | None = None
        self._media_rows: dict[str, dict] = {}
        self._want_keys: dict[str, tuple] = {}
        self._force_reconcile = False
        self._next_eval: datetime | None = None
        self._next_dark_check = 0.0
        self._next_heartbeat = 0.0
        self.started_at = utcnow()
        self.tz = settings["timezone"]
        self._resume_from_database()

    # ---- helpers used by outputs ------------------------------------------
    def mpv_args(self, output: dict, sock_path: str) -> list[str]:
        extra = list(self.extra_mpv_args)
        for plugin in self.plugins:
            extra += plugin.output_args(output)
        return build_args(self.settings["mpv_path"], sock_path, output, self.settings["mpv_vo"], extra)

    def faces_on(self, output: str) -> list[int]:
        return [f["id"] for f in self.faces if f["output"] == output]

    def wall_at(self, mono: float) -> datetime:
        """The wall-clock moment of a monotonic stamp taken by a reader thread."""
        return utcnow() - timedelta(seconds=max(0.0, time.monotonic() - mono))

    def media_duration(self, sha256: str) -> float | None:
        row = self._media_rows.get(sha256)
        return row.get("duration_s") if row else None

    # ---- start and stop -----------------------------------------------------
    def _resume_from_database(self) -> None:
        closed = proof.close_interrupted(self.db)
        if closed:
            log(logger, logging.WARNING, "closed proof-of-play rows a previous run left open",
                rows=closed)
        # Resume each output at the item it was showing: a clean stop saved
        # it in state 'player'; after a crash face_state still says it.
        saved = (get_state(self.db, "player") or {}).get("resume") or {}
        for name, output in self.outputs.items():
            faces = self.faces_on(name)
            state = facestate.get(self.db, faces[0]) if faces else None
            output.resume_sha = saved.get(name) or (state or {}).get("playing_sha256")

    def request_reconcile(self) -> None:
        """Re-evaluate every face on the next pass (thread-safe). Plugins whose
        answer changes without a database write (a button, a sensor) call it."""
        self._force_reconcile = True
        self.events.put(_WAKE)

    def stop(self) -> None:
        self._stop.set()
        self.events.put(_WAKE)

    def run(self, duration: float | None = None) -> None:
        deadline = None if duration is None else time.monotonic() + duration
        log(logger, logging.INFO, "player starting", outputs=list(self.outputs),
            faces=[f["id"] for f in self.faces], pid=os.getpid())
        log_event(self.db, "player", "info", "player_started", "player started",
                  detail={"pid": os.getpid()})
        try:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._pass()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        resume = {}
        for name, output in self.outputs.items():
            if output.current is not None:
                resume[name] = output.current.slot.playable.item.media_sha256
        for output in self.outputs.values():
            try:
                output.stop()
            except Exception:  # noqa: BLE001 - stop the others regardless
                logger.exception("stopping output %s failed", output.name)
        for plugin in self.plugins:
            try:
                plugin.close()
            except Exception:  # noqa: BLE001
                logger.exception("plugin close failed")
        # Nothing is on the screens any more: say so, and keep where to resume.
        for face in self.faces:
            facestate.update(self.db, face["id"], playing_sha256=None, playing_name=None,
                             playing_kind=None, since=iso(utcnow()), next_sha256=None,
                             next_name=None, next_at=None)
        self._heartbeat(running=False, resume=resume)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.db.close()
        log(logger, logging.INFO, "player stopped")

    # ---- the loop -------------------------------------------------------------
    def _timeout(self) -> float:
        if any(o.starting for o in self.outputs.values()):
            return 0.02
        timeout = float(self.settings["poll_interval_s"])
        now = time.monotonic()
        for o in self.outputs.values():
            if o.proc is None and o.restart_at is not None:
                timeout = min(timeout, max(0.0, o.restart_at - now))
        if self._next_eval is not None:
            timeout = min(timeout, max(0.0, (self._next_eval - utcnow()).total_seconds()))
        return max(0.0, timeout)

    def _pass(self) -> None:
        items = []
        try:
            items.append(self.events.get(timeout=self._timeout()))
            while True:
                items.append(self.events.get_nowait())
        except queue.Empty:
            pass
        for item in items:
            if item is _WAKE:
                continue
            try:
                self._handle(item)
            except Exception:  # noqa: BLE001 - one bad event must not stop the screens
                logger.exception("handling %r failed", item)
        now = time.monotonic()
        try:
            self._reconcile_if_needed(now)
        except Exception:  # noqa: BLE001 - a bad row must not stop the screens
            logger.exception("reconciling failed; keeping what plays")
            time.sleep(0.5)
        for output in self.outputs.values():
            output.supervise(now)
        self._screenshots(now)
        if now >= self._next_heartbeat:
            self._heartbeat()
        wall = utcnow()
        for plugin in self.plugins:
            try:
                plugin.tick(wall)
            except Exception:  # noqa: BLE001
                logger.exception("plugin tick failed")

    def _handle(self, item) -> None:
        if isinstance(item, MpvEvent):
            output = self.outputs.get(item.output)
            if output is not None:
                output.handle(item)
        elif isinstance(item, ScreenshotDone):
            self._screenshot_done(item)

    # ---- reconciliation -----------------------------------------------------
    def _reconcile_if_needed(self, now: float) -> None:
        rev = desired_revision(self.db)
        wall = utcnow()
        changed = rev != self._revision
        due = self._next_eval is not None and wall >= self._next_eval
        dark_due = now >= self._next_dark_check
        forced, self._force_reconcile = self._force_reconcile, False
        if forced:
            self._want_keys.clear()
        if not (changed or due or dark_due or forced):
            return
        if changed:
            self._revision = rev
            entries, playlists = self._schedule_extras(wall)
            self._schedule = load_schedule(self.db, float(self.settings["image_duration_s"]),
                                           extra_entries=entries, extra_playlists=playlists)
            self._media_rows = {r["sha256"]: r for r in self.db["media"].rows}
        self.reconcile(wall)

    def _schedule_extras(self, now: datetime) -> tuple[list, dict]:
        entries: list = []
        playlists: dict = {}
        for plugin in self.plugins:
            try:
                more_entries, more_playlists = plugin.schedule_extras(now)
            except Exception:  # noqa: BLE001 - the rest of the schedule still plays
                logger.exception("plugin schedule_extras failed")
                continue
            entries += more_entries
            playlists.update(more_playlists)
        return entries, playlists

    def _dark_faces(self, now: datetime) -> DarkFaces:
        merged = DarkFaces()
        for plugin in self.plugins:
            try:
                answer = plugin.dark_faces(now)
            except Exception:  # noqa: BLE001 - fail dark? no: keep showing, say why
                logger.exception("plugin dark_faces failed")
                continue
            for face, reason in answer.faces.items():
                merged.faces.setdefault(face, reason)
            if answer.recheck_at and (merged.recheck_at is None or answer.recheck_at < merged.recheck_at):
                merged.recheck_at = answer.recheck_at
        return merged

    def reconcile(self, now: datetime) -> None:
        """Evaluate every face and hand each output what it should show."""
        dark = self._dark_faces(now)
        self._next_dark_check = time.monotonic() + DARK_RECHECK_S
        next_eval = dark.recheck_at
        for name, output in self.outputs.items():
            faces = self.faces_on(name)
            showing = tuple(f for f in faces if f not in dark.faces)
            decision = None
            if showing:
                decision = evaluate(self._schedule, showing[0], now, self.tz)
                if decision.next_change and (next_eval is None or decision.next_change < next_eval):
                    next_eval = decision.next_change
                key = (showing, decision.level, decision.entry_ids, decision.items,
                       self._media_fingerprint(decision.items))
            else:
                reason = "dark: " + "; ".join(sorted({dark.faces[f] for f in faces})) if faces else "no faces"
                key = ("dark", reason)
            # Unchanged answer: leave mpv alone (and record skipped items once).
            if self._want_keys.get(name) == key:
                continue
            self._want_keys[name] = key
            if decision is None:
                want = Want(faces=(), level="none", black_reason=key[1])
            else:
                want = self._want(output, showing, decision)
            for f in faces:
                if f in dark.faces:
                    facestate.update(self.db, f, playing_sha256=None, playing_name=None,
                                     playing_kind=None, since=iso(now), next_sha256=None,
                                     next_name=None, next_at=None)
            output.set_want(want)
        self._next_eval = next_eval

    def _media_fingerprint(self, items) -> tuple:
        """What resolution depends on besides the item: the file and its media row."""
        result = []
        for item in items:
            row = self._media_rows.get(item.media_sha256) or {}
            try:
                present = self.media.has(item.media_sha256)
            except Exception:  # noqa: BLE001 - a bad sha256 is reported by the resolver
                present = False
            result.append((present, row.get("format"), row.get("kind")))
        return tuple(result)

    def _want(self, output: Output, faces: tuple[int, ...], decision: Decision) -> Want:
        ctx = ResolveContext(self.media, self.cache_dir, output.config, self._media_rows, self.settings)
        slots = []
        entry_of = self._entry_per_item(decision)
        for item, entry_id in zip(decision.items, entry_of):
            try:
                slots.append(Slot(resolve_item(item, ctx), entry_id))
            except Unplayable as e:
                self._skipped(faces, item, entry_id, decision.level, str(e))
        black = None if slots else (
            "nothing scheduled" if not decision.items else "no playable item in the playlist")
        return Want(faces=faces, level=decision.level, entry_ids=decision.entry_ids,
                    slots=tuple(slots), black_reason=black)

    def _entry_per_item(self, decision: Decision) -> list[str | None]:
        """Which schedule entry each item of a decision came from (for proof of play)."""
        if not decision.entry_ids:
            return [None] * len(decision.items)
        entries = {e.id: e for e in self._schedule.entries}
        result: list[str | None] = []
        for entry_id in decision.entry_ids:
            n = len(self._schedule.playlists.get(entries[entry_id].playlist_id, ()))
            result += [entry_id] * n
        return result + [None] * (len(decision.items) - len(result))

    def _skipped(self, faces, item, entry_id, level, reason) -> None:
        log(logger, logging.WARNING, "item skipped", sha256=item.media_sha256, name=item.name,
            reason=reason, faces=list(faces))
        for face in faces:
            proof.record(self.db, face, item.media_sha256, item.name, entry_id, level, "skipped", reason)
            log_event(self.db, "player", "error", "media_skipped", f"{item.name or item.media_sha256}: {reason}",
                      face_id=face, detail={"sha256": item.media_sha256})
            facestate.update(self.db, face, last_error=f"{iso(utcnow())} {item.name}: {reason}")

    # ---- screenshots and heartbeat ------------------------------------------
    def _screenshots(self, now: float) -> None:
        """Each output's faces every `screenshot_interval_s`, and soon after new
        content appears (so the admin sees a change without waiting)."""
        interval = float(self.settings["screenshot_interval_s"])
        if interval <= 0:
            return
        for output in self.outputs.values():
            if now >= output.next_shot:
                ready = screenshots.take(self, output)
                output.next_shot = now + (interval if ready else 1.0)

    def _screenshot_done(self, done: ScreenshotDone) -> None:
        output = self.outputs.get(done.output)
        if output is not None:
            screenshots.finish(self, output, done)

    def _heartbeat(self, running: bool = True, resume: dict | None = None) -> None:
        self._next_heartbeat = time.monotonic() + HEARTBEAT_S
        set_state(self.db, "player", {
            "pid": os.getpid(), "running": running, "started_at": iso(self.started_at),
            "heartbeat_at": iso(utcnow()),
            "outputs": {n: {"mpv_pid": o.proc.pid if o.proc else None, "generation": o.generation}
                        for n, o in self.outputs.items()},
            "resume": resume or {},
        })
