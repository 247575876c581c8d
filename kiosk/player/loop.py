"""The player controller: one loop thread that reconciles every picture's mpv
to the schedule and writes back what is actually shown.

Each pass: handle queued mpv events; every `poll_interval_s` read the
desired-state revision (a change re-reads the schedule at once, so a change
in the admin reaches the screen within about one poll interval and an
emergency entry preempts whatever plays); re-evaluate at the moment the
schedule engine said the answer changes; keep every mpv alive; take
screenshots. Nothing blocks for long: mpv commands have timeouts, slow ones
(screenshots) are asynchronous, and a dead mpv is restarted without
stopping the loop or the other pictures.

A picture is a region of an output shown by one face, or by several faces
mirrored by hardware (kiosk.settings.check_layout); the display backend
(kiosk.display) says where its mpv window goes. A display that cannot be
reached raises the `no_display` alarm and is retried; mpv is not started
without it.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable

from kiosk import settings as settings_mod
from kiosk.jsonlog import log
from kiosk.mediastore import MediaStore
from kiosk.player import facestate, proof, screenshots
from kiosk.display import Display, open_display
from kiosk.player.events import WAKE, MpvEvent, ScreenshotDone
from kiosk.player.ipc import MpvError
from kiosk.player.mpv import build_args
from kiosk.player.picture import PicturePlayer, Slot, Want
from kiosk.player.band import Band
from kiosk.player.plugins import (
    DARK_RECHECK_S, DarkFaces, PictureStatus, PlayerContext, PlayerPlugin, load_plugin_classes,
)
from kiosk.player.resolve import ResolveContext, Unplayable, resolve_item
from kiosk.schedule import Decision, Schedule, evaluate, load_schedule
from kiosk.store import desired_revision, get_state, iso, log_event, open_db, set_state, utcnow

logger = logging.getLogger("gatecast.player")

HEARTBEAT_S = 10.0
DISPLAY_RECHECK_S = 1.0
DISPLAY_RETRY_S = 0.25


class Player:
    """Drives every configured picture. `run()` blocks until `stop()`."""

    def __init__(self, settings: settings_mod.Settings, plugins: Iterable[type[PlayerPlugin]] | None = None,
                 extra_mpv_args: Iterable[str] = (), display: Display | None = None):
        self.settings = settings
        self.layout = settings_mod.check_layout(settings)
        self.faces = list(self.layout.faces)
        self.display = display or open_display(settings, self.layout)
        self._display_problem: str | None = None
        self._display_since: str | None = None
        self._display_checked = -1e9
        self.db = open_db(settings.db_path)
        self.media = MediaStore(settings.media_dir)
        self.cache_dir = settings.state_path / "cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.screenshot_dir = settings.screenshot_dir
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to ~108 bytes: keep them short.
        self.run_dir = Path(tempfile.mkdtemp(prefix="gatecast-"))
        self.events: queue.Queue = queue.Queue()
        self.capturing: set[str] = set()  # outputs whose capture is under way
        self.extra_mpv_args = list(extra_mpv_args)
        self.pictures = {p.name: PicturePlayer(p, self) for p in self.layout.pictures}
        # Ticker bands in windows of their own, where there is a screen to show them on.
        self.bands = ({p.name: Band(p, self) for p in self.layout.pictures}
                      if self.display.shows_windows else {})
        self.context = PlayerContext(
            db=self.db, settings=settings, layout=self.layout, media=self.media,
            pictures=self._picture_statuses, command=self._command,
            request_reconcile=self.request_reconcile, show_band=self._show_band)
        plugin_classes = load_plugin_classes() if plugins is None else list(plugins)
        self.plugins = [cls(self.context) for cls in plugin_classes]
        self._stop = threading.Event()
        self._revision: int | None = None
        self._schedule: Schedule | None = None
        self._media_rows: dict[str, dict] = {}
        self._want_keys: dict[str, tuple] = {}
        self._mirror_warned: set[tuple] = set()
        self._force_reconcile = False
        self._next_eval: datetime | None = None
        self._next_dark_check = 0.0
        self._next_heartbeat = 0.0
        self.started_at = utcnow()
        self.tz = settings["timezone"]
        self._resume_from_database()

    # ---- helpers used by pictures and plugins ------------------------------
    def mpv_args(self, picture: settings_mod.Picture, sock_path: str) -> list[str]:
        extra = list(self.extra_mpv_args)
        for plugin in self.plugins:
            extra += plugin.mpv_args(picture)
        return build_args(self.settings["mpv_path"], sock_path, self.display.mpv_args(picture),
                          extra, picture.output.mpv_args)

    def display_ready(self) -> bool:
        """Whether mpv can be started now; raises/clears the no_display alarm."""
        now = time.monotonic()
        # While the display is missing, look often: a restarted compositor
        # should have its pictures back within a second or two.
        every = DISPLAY_RECHECK_S if self._display_problem is None else DISPLAY_RETRY_S
        if now - self._display_checked >= every:
            self._display_checked = now
            self._set_display_problem(self.display.check())
        return self._display_problem is None

    def _set_display_problem(self, problem: str | None) -> None:
        if problem == self._display_problem:
            return
        was, self._display_problem = self._display_problem, problem
        if problem is None or was is None:
            self._display_since = iso(utcnow())
        set_state(self.db, "display", {"backend": self.display.name, "ok": problem is None,
                                       "problem": problem, "since": self._display_since})
        if problem is not None and was is not None:
            return  # still missing, for another reason: one alarm, not one per symptom
        if problem is not None:
            log(logger, logging.ERROR, "no display", display=self.display.name, problem=problem)
            log_event(self.db, "player", "error", "no_display",
                      f"display {self.display.name} unreachable: {problem}; retrying",
                      detail={"display": self.display.name})
            for face in self.faces:
                facestate.update(self.db, face["id"],
                                 last_error=f"{iso(utcnow())} no display: {problem}")
        elif was is not None:
            log(logger, logging.INFO, "display back", display=self.display.name)
            log_event(self.db, "player", "info", "display_back",
                      f"display {self.display.name} reachable again",
                      detail={"display": self.display.name})

    def _picture_statuses(self) -> list[PictureStatus]:
        result = []
        for p in self.pictures.values():
            want = p.want
            result.append(PictureStatus(p.config, p.generation, p.connected,
                                        tuple(want.faces) if want else (),
                                        want.level if want else None))
        return result

    def _command(self, picture: str, *args, timeout: float = 2.0):
        p = self.pictures.get(picture)
        if p is None or not p.connected:
            raise MpvError(f"picture {picture} has no running mpv")
        return p.proc.ipc.command(*args, timeout=timeout)

    def _show_band(self, picture: str, region, source: str | None) -> bool:
        band = self.bands.get(picture)
        if band is None:
            return False
        band.set(region, source)
        return True

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
        # Resume each picture at the item it was showing: a clean stop saved
        # it in state 'player'; after a crash face_state still says it.
        saved = (get_state(self.db, "player") or {}).get("resume") or {}
        for name, picture in self.pictures.items():
            state = facestate.get(self.db, picture.faces[0])
            picture.resume_sha = saved.get(name) or (state or {}).get("playing_sha256")

    def request_reconcile(self) -> None:
        """Re-evaluate every face on the next pass (thread-safe). Plugins whose
        answer changes without a database write (a button, a sensor) call it."""
        self._force_reconcile = True
        self.events.put(WAKE)

    def stop(self) -> None:
        self._stop.set()
        self.events.put(WAKE)

    def run(self, duration: float | None = None) -> None:
        deadline = None if duration is None else time.monotonic() + duration
        log(logger, logging.INFO, "player starting", pictures=list(self.pictures),
            faces=[f["id"] for f in self.faces], display=self.display.name, pid=os.getpid())
        log_event(self.db, "player", "info", "player_started", "player started",
                  detail={"pid": os.getpid()})
        try:
            # Start every picture's mpv before the first schedule evaluation:
            # they initialise while the schedule is read and items resolved.
            for picture in self.pictures.values():
                picture.supervise(time.monotonic())
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._pass()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        resume = {}
        for name, picture in self.pictures.items():
            if picture.current is not None:
                resume[name] = picture.current.slot.playable.item.media_sha256
        for picture in [*self.bands.values(), *self.pictures.values()]:
            try:
                picture.stop()
            except Exception:  # noqa: BLE001 - stop the others regardless
                logger.exception("stopping picture %s failed", picture.name)
        self.display.close()
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
        if any(p.starting for p in self.pictures.values()) or any(
                b.proc is not None and b.proc.ipc is None for b in self.bands.values()):
            return 0.02
        timeout = float(self.settings["poll_interval_s"])
        now = time.monotonic()
        for o in self.pictures.values():
            if o.proc is None and o.restart_at is not None:
                timeout = min(timeout, max(0.0, o.restart_at - now))
        if self._next_eval is not None:
            timeout = min(timeout, max(0.0, (self._next_eval - utcnow()).total_seconds()))
        due = self.display.next_due()
        if due is not None:
            timeout = min(timeout, max(0.0, due - now))
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
            if item is WAKE:
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
        for picture in self.pictures.values():
            picture.supervise(now)
        for name, band in self.bands.items():
            band.supervise(now, self.pictures[name].generation)
        try:
            self.display.maintain({n for n, p in self.pictures.items() if p.connected}
                                  | {b.name for b in self.bands.values() if b.running},
                                  tuple(b.window for b in self.bands.values() if b.window is not None))
        except Exception:  # noqa: BLE001 - placement is retried; the pictures go on
            logger.exception("display maintenance failed")
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
            picture = self.pictures.get(item.picture)
            if picture is not None:
                picture.handle(item)
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
        """Evaluate every face and hand each picture what it should show.
        Mirrored faces (one picture) show the first face's schedule."""
        dark = self._dark_faces(now)
        self._next_dark_check = time.monotonic() + DARK_RECHECK_S
        next_eval = dark.recheck_at
        for name, picture in self.pictures.items():
            faces = picture.faces
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
            if decision is not None and len(showing) > 1:
                self._check_mirrored(showing, decision, now)
            if decision is None:
                want = Want(faces=(), level="none", black_reason=key[1])
            else:
                want = self._want(picture, showing, decision)
            for f in faces:
                if f in dark.faces:
                    facestate.update(self.db, f, playing_sha256=None, playing_name=None,
                                     playing_kind=None, since=iso(now), next_sha256=None,
                                     next_name=None, next_at=None)
            picture.set_want(want)
        self._next_eval = next_eval

    def _check_mirrored(self, faces: tuple[int, ...], decision: Decision, now: datetime) -> None:
        """Mirrored faces show one picture, the first face's schedule: say so
        (once per change) when another of them was given a different one."""
        for face in faces[1:]:
            own = evaluate(self._schedule, face, now, self.tz)
            if (own.level, own.items) == (decision.level, decision.items):
                continue
            key = (face, own.entry_ids, decision.entry_ids)
            if key in self._mirror_warned:
                continue
            self._mirror_warned.add(key)
            message = (f"face {face} mirrors face {faces[0]} (same output and region): it shows "
                       f"face {faces[0]}'s schedule, not its own")
            log(logger, logging.WARNING, message, face=face)
            log_event(self.db, "player", "warning", "mirrored_schedule_ignored", message, face_id=face,
                      detail={"shows_face": faces[0], "own_entries": list(own.entry_ids)})

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

    def _want(self, picture: PicturePlayer, faces: tuple[int, ...], decision: Decision) -> Want:
        region = picture.config.region
        size = {"name": picture.name, "output": picture.config.output.name,
                "width": region.width, "height": region.height}
        ctx = ResolveContext(self.media, self.cache_dir, size, self._media_rows, self.settings)
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
        """Every face every `screenshot_interval_s`, and soon after new content
        appears (so the admin sees a change without waiting): captures of each
        output as shown when the display can, else each picture's decoded frame."""
        interval = float(self.settings["screenshot_interval_s"])
        if interval <= 0:
            return
        if self.display.captures_outputs:
            for output in self.layout.outputs:
                on = [p for p in self.pictures.values() if p.config.output.name == output.name]
                if on and now >= min(p.next_shot for p in on):
                    ready = screenshots.capture(self, output, on)
                    for p in on:
                        p.next_shot = now + (interval if ready else 1.0)
            return
        for picture in self.pictures.values():
            if now >= picture.next_shot:
                ready = screenshots.take(self, picture)
                picture.next_shot = now + (interval if ready else 1.0)

    def _screenshot_done(self, done: ScreenshotDone) -> None:
        if done.of_output:
            screenshots.finish_capture(self, done)
            return
        picture = self.pictures.get(done.source)
        if picture is not None:
            screenshots.finish(self, picture, done)

    def _heartbeat(self, running: bool = True, resume: dict | None = None) -> None:
        self._next_heartbeat = time.monotonic() + HEARTBEAT_S
        set_state(self.db, "player", {
            "pid": os.getpid(), "running": running, "started_at": iso(self.started_at),
            "heartbeat_at": iso(utcnow()),
            "display": {"backend": self.display.name, "ok": self._display_problem is None,
                        "problem": self._display_problem},
            "pictures": {n: {"mpv_pid": p.proc.pid if p.proc else None, "generation": p.generation,
                             "faces": list(p.faces), "output": p.config.output.name}
                         for n, p in self.pictures.items()},
            "resume": resume or {},
        })
