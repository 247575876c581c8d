"""One picture (a region of an output, shown by one or more mirrored faces):
its supervised mpv, the playlist loaded into it, and what it reports back
(proof of play, face_state) for the faces it shows.

Only the player loop thread calls into a `PicturePlayer`. mpv does the item
timing itself (per-item durations ride on each playlist entry, the playlist
loops), so transitions happen inside one long-lived mpv without a black gap;
the picture only reloads the playlist when what its faces should show changes.
A picture's mpv that dies is restarted without touching the other pictures.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from kiosk.jsonlog import log
from kiosk.player import facestate, proof
from kiosk.player.events import MpvEvent
from kiosk.player.ipc import MpvError
from kiosk.player.mpv import MpvProcess
from kiosk.player.resolve import Playable
from kiosk.schedule import LEVEL_RANK
from kiosk.settings import Picture
from kiosk.store import iso, log_event, utcnow

logger = logging.getLogger("gatecast.player")

# A dead mpv is restarted at once; if it keeps dying right after start, wait a
# little longer each time (never more than RESTART_MAX_DELAY_S, so a face is
# back within 3 s of a crash) instead of spinning the CPU.
RESTART_DELAYS_S = (0.0, 0.5, 1.0, 2.0)
RESTART_MAX_DELAY_S = 2.0
STABLE_AFTER_S = 10.0
CONNECT_TIMEOUT_S = 10.0
# A hung mpv (deadlocked decoder, stopped process) still holds its socket open:
# ask it something cheap every PING_INTERVAL_S and kill it when it has not
# answered for HANG_TIMEOUT_S (generous: a busy Pi answers in milliseconds).
PING_INTERVAL_S = 2.0
HANG_TIMEOUT_S = 5.0
SHOT_AFTER_CHANGE_S = 1.0  # screenshot this long after new content's first frame


@dataclass(frozen=True)
class Slot:
    """One item of what a picture should show, with the schedule entry it came from."""

    playable: Playable
    entry_id: str | None


@dataclass
class Want:
    """What a picture should show: a looping list of slots, or black."""

    faces: tuple[int, ...]  # faces that show this picture (not dark)
    level: str
    entry_ids: tuple[str, ...] = ()
    slots: tuple[Slot, ...] = ()
    black_reason: str | None = None  # why the picture is black, when slots is empty

    def content(self):
        return (self.level, self.entry_ids, self.slots) if self.slots else ("black",)


@dataclass
class Loaded:
    """An entry we put in mpv's playlist."""

    mpv_id: int
    slot: Slot
    level: str
    started: float | None = None  # start-file (monotonic)
    shown_at: datetime | None = None  # first frame (wall clock)
    rows: dict[int, int] = field(default_factory=dict)  # face -> proof_of_play id


class PicturePlayer:
    def __init__(self, config: Picture, player):
        self.config = config
        self.name: str = config.name
        self.faces: tuple[int, ...] = config.faces
        self.player = player
        self.db = player.db
        self.generation = 0
        self.proc: MpvProcess | None = None
        self.want: Want | None = None
        self.loaded: Want | None = None  # what mpv's playlist holds now
        self.entries: dict[int, Loaded] = {}
        self.order: list[int] = []  # mpv ids in playlist order
        self.current: Loaded | None = None
        self.preempt_reason = "schedule changed"
        self.resume_sha: str | None = None  # start here at the next load
        self.restart_at: float | None = time.monotonic()
        self.quick_deaths = 0
        self.black_shot_for: tuple | None = None
        self.last_frame_at: float | None = None  # monotonic, for benchmarks/tests
        self.next_shot = 0.0  # monotonic time of this picture's next screenshot
        self._fresh_load = False  # the next first frame starts newly loaded content
        self._ping_sent: float | None = None
        self._next_ping = 0.0
        self._hung = False

    # ---- process supervision ------------------------------------------
    @property
    def connected(self) -> bool:
        return self.proc is not None and self.proc.ipc is not None and self.proc.ipc.connected

    @property
    def starting(self) -> bool:
        return self.proc is not None and self.proc.ipc is None

    def supervise(self, now: float) -> None:
        """Start, connect, or notice the death (or hang) of this picture's mpv."""
        if self.proc is not None:
            if not self.proc.alive():
                self._died()
            elif self.proc.ipc is None:
                if self.proc.try_connect():
                    self._connected()
                elif now - self.proc.started_at > CONNECT_TIMEOUT_S:
                    self._died("did not open its IPC socket in time")
            else:
                self._check_alive(now)
        if self.proc is None and self.restart_at is not None and now >= self.restart_at:
            if self.player.display_ready():
                self._spawn()
            else:  # no_display is raised by the player; try again soon
                self.restart_at = now + 0.25

    def _check_alive(self, now: float) -> None:
        if self._ping_sent is not None:
            if now - self._ping_sent > HANG_TIMEOUT_S and not self._hung:
                log(logger, logging.ERROR, "mpv stopped answering; killing it", picture=self.name,
                    pid=self.proc.pid, silent_s=round(now - self._ping_sent, 1))
                self._hung = True
                self.proc.proc.kill()  # the next pass sees it dead and restarts it
            return
        if now < self._next_ping:
            return
        generation, events = self.generation, self.player.events

        def pong(reply: dict) -> None:  # reader thread: only enqueue
            events.put(MpvEvent(self.name, generation, "pong", reply, time.monotonic()))

        try:
            self.proc.ipc.command_async("get_property", "pid", on_reply=pong)
            self._ping_sent = now
        except MpvError:
            pass  # the connection is going; ipc-closed follows

    def _spawn(self) -> None:
        self.generation += 1
        args = self.player.mpv_args(self.config, self.sock_path)
        env = self.player.display.mpv_env()
        self.restart_at = None
        self._ping_sent, self._next_ping, self._hung = None, time.monotonic() + PING_INTERVAL_S, False
        try:
            self.proc = MpvProcess(args, self.sock_path, self.name, self.generation, self.player.events,
                                   env=env)
        except OSError as e:
            self._note_error(f"cannot start mpv: {e}", code="mpv_start_failed")
            self.restart_at = time.monotonic() + RESTART_MAX_DELAY_S
            return
        log(logger, logging.INFO, "mpv started", picture=self.name, pid=self.proc.pid,
            generation=self.generation)

    @property
    def sock_path(self) -> str:
        return str(self.player.run_dir / f"mpv-{self.name}.sock")

    def _connected(self) -> None:
        ipc = self.proc.ipc
        try:
            ipc.command("request_log_messages", "warn")
        except MpvError:
            pass
        self.loaded = None
        self.entries.clear()
        self.order = []
        self.current = None
        log(logger, logging.INFO, "mpv connected", picture=self.name, generation=self.generation,
            after_s=round(time.monotonic() - self.proc.started_at, 3))
        self.apply()

    def _died(self, how: str | None = None) -> None:
        """mpv is gone (or useless): reap it, record it, schedule a restart."""
        proc, self.proc = self.proc, None
        lived = time.monotonic() - proc.started_at
        was_alive = proc.alive()
        if proc.ipc is not None:
            proc.ipc.close()
        try:
            # After EOF on the socket the process is exiting: reaping it gives
            # the real cause (signal, status); a live but broken mpv is killed.
            proc.proc.wait(timeout=0.5)
        except Exception:  # noqa: BLE001
            pass
        if self._hung:
            how = f"stopped answering for {HANG_TIMEOUT_S:.0f} s and was killed"
        elif how is None:
            how = proc.exit_description() if proc.proc.poll() is not None and not (
                was_alive and proc.proc.returncode == -15) else "closed its IPC connection"
        try:
            proc.stop(timeout=1.0)
        except Exception:  # noqa: BLE001 - already dead; reaping must not stop the loop
            pass
        reason = f"mpv {how}"
        if self.current is not None:
            self.resume_sha = self.current.slot.playable.item.media_sha256
            self._close_rows(self.current, "error", reason)
        self.current = None
        self.entries.clear()
        self.order = []
        self.loaded = None
        self.quick_deaths = self.quick_deaths + 1 if lived < STABLE_AFTER_S else 0
        delay = RESTART_DELAYS_S[min(self.quick_deaths, len(RESTART_DELAYS_S) - 1)]
        self.restart_at = time.monotonic() + min(delay, RESTART_MAX_DELAY_S)
        self._note_error(reason + "; restarting", code="mpv_died", level="warning",
                         detail={"lived_s": round(lived, 3), "restart_in_s": delay})

    def stop(self, reason: str = "player stopped") -> None:
        if self.current is not None and self.current.shown_at is not None:
            self._close_rows(self.current, "preempted", reason)
        self.current = None
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
        self.restart_at = None

    # ---- what to show ---------------------------------------------------
    def set_want(self, want: Want) -> None:
        old = self.want
        self.want = want
        if old is not None and self.current is not None and self.current.shown_at is not None:
            # Faces that went dark stop showing the current item; faces that
            # came back start showing it now.
            for face in set(old.faces) - set(want.faces):
                row = self.current.rows.pop(face, None)
                if row is not None:
                    proof.finish(self.db, row, "preempted", want.black_reason or "face dark")
            if want.content() == (self.loaded.content() if self.loaded else None):
                back = sorted(set(want.faces) - set(old.faces))
                for face in back:
                    self.current.rows[face] = self._open_row(face, self.current, at=utcnow())
                self._write_playing(back, self.current)
        self.apply()

    def apply(self) -> None:
        """Make mpv's playlist match `want` (no-op when it already does)."""
        want = self.want
        if want is None or not self.connected:
            return
        if self.loaded is not None and self.loaded.content() == want.content():
            self.loaded = want
            return
        ipc = self.proc.ipc
        try:
            if not want.slots:
                self.preempt_reason = want.black_reason or "nothing to show"
                ipc.command("stop")
                self.order = []
                self._write_black_state(want)
                self.next_shot = min(self.next_shot, time.monotonic() + SHOT_AFTER_CHANGE_S)
            elif (self.current is not None and self.loaded is not None
                  and self.loaded.level == want.level
                  and any(s.playable == self.current.slot.playable for s in want.slots)):
                self._splice(want)
            else:
                self.preempt_reason = (
                    f"preempted by {want.level}" if self.loaded and self.loaded.slots
                    and _rank(want.level) > _rank(self.loaded.level) else "schedule changed"
                )
                self._replace(want)
        except MpvError as e:
            # mpv is dying or hung; supervise() will restart it and load again.
            self._note_error(f"could not load the playlist into mpv: {e}", code="mpv_command_failed")
            return
        self.loaded = want

    def _rotated(self, slots: tuple[Slot, ...], start_sha: str | None) -> list[Slot]:
        if start_sha:
            for i, s in enumerate(slots):
                if s.playable.item.media_sha256 == start_sha:
                    return list(slots[i:]) + list(slots[:i])
        return list(slots)

    def _append(self, slot: Slot, level: str, flags: str) -> None:
        reply = self.proc.ipc.command({
            "name": "loadfile", "url": slot.playable.path, "flags": flags,
            "options": slot.playable.mpv_options(),
        })
        mpv_id = int(reply["playlist_entry_id"])
        self.entries[mpv_id] = Loaded(mpv_id, slot, level)
        self.order.append(mpv_id)

    def _replace(self, want: Want) -> None:
        self._fresh_load = True
        slots = self._rotated(want.slots, self.resume_sha)
        self.resume_sha = None
        self.order = []
        for i, slot in enumerate(slots):
            self._append(slot, want.level, "replace" if i == 0 else "append")

    def _splice(self, want: Want) -> None:
        """Keep the item on screen and put the new playlist around it."""
        cur = self.current
        self.proc.ipc.command("playlist-clear")  # removes all but the current entry
        self.order = [cur.mpv_id]
        idx = next(i for i, s in enumerate(want.slots) if s.playable == cur.slot.playable)
        rest = list(want.slots[idx + 1:]) + list(want.slots[:idx])
        for slot in rest:
            self._append(slot, want.level, "append")
        # Entries playlist-clear dropped never started: forget them.
        for mpv_id in [i for i in self.entries if i not in self.order]:
            del self.entries[mpv_id]

    # ---- mpv events -----------------------------------------------------
    def handle(self, ev: MpvEvent) -> None:
        if ev.generation != self.generation:
            return  # from an mpv we already replaced
        name = ev.name
        if name == "ipc-closed":
            if self.proc is not None:
                self._died()
        elif name == "start-file":
            entry = self.entries.get(ev.data.get("playlist_entry_id"))
            self.current = entry
            if entry is not None:
                entry.started = ev.at
                entry.shown_at = None
                entry.rows = {}
        elif name == "playback-restart":
            entry = self.current
            if entry is not None and entry.shown_at is None:
                self._first_frame(entry, ev)
        elif name == "end-file":
            self._end_file(ev)
        elif name == "pong":
            self._ping_sent = None
            self._next_ping = ev.at + PING_INTERVAL_S
        elif name == "log-message":
            log(logger, logging.WARNING, "mpv: " + str(ev.data.get("text", "")).strip(),
                picture=self.name, mpv_module=ev.data.get("prefix"))

    def _first_frame(self, entry: Loaded, ev: MpvEvent) -> None:
        entry.shown_at = self.player.wall_at(ev.at)
        self.last_frame_at = ev.at
        if self._fresh_load:
            self._fresh_load = False
            self.next_shot = min(self.next_shot, ev.at + SHOT_AFTER_CHANGE_S)
        faces = self.want.faces if self.want else ()
        entry.rows = {face: self._open_row(face, entry) for face in faces}
        self._write_playing(faces, entry)
        item = entry.slot.playable.item
        log(logger, logging.INFO, "playing", picture=self.name, faces=list(faces),
            sha256=item.media_sha256, name=item.name, kind=item.kind, schedule_level=entry.level,
            start_s=round(ev.at - entry.started, 3) if entry.started else None)

    def _write_playing(self, faces, entry: Loaded) -> None:
        """face_state: what these faces show now, since when, what comes next."""
        nxt = self._next_after(entry)
        item = entry.slot.playable.item
        duration = entry.slot.playable.duration_s
        if duration is None:
            duration = self.player.media_duration(item.media_sha256)
        next_at = iso(entry.shown_at + timedelta(seconds=duration)) if duration else None
        for face in faces:
            facestate.update(
                self.db, face, level=entry.level, entry_id=entry.slot.entry_id,
                playing_sha256=item.media_sha256, playing_name=item.name, playing_kind=item.kind,
                since=iso(entry.shown_at),
                next_sha256=nxt.playable.item.media_sha256 if nxt else None,
                next_name=nxt.playable.item.name if nxt else None, next_at=next_at,
            )

    def _open_row(self, face: int, entry: Loaded, at: datetime | None = None) -> int:
        """A face starts showing `entry`: at its first frame, or `at` for a face
        that comes back (powered on) while the item already plays."""
        item = entry.slot.playable.item
        return proof.start(self.db, face, item.media_sha256, item.name, entry.slot.entry_id,
                           entry.level, at=at or entry.shown_at)

    def _next_after(self, entry: Loaded) -> Slot | None:
        if entry.mpv_id not in self.order or not self.order:
            return None
        i = self.order.index(entry.mpv_id)
        nxt = self.order[(i + 1) % len(self.order)]
        return self.entries[nxt].slot if nxt in self.entries else None

    def _end_file(self, ev: MpvEvent) -> None:
        mpv_id = ev.data.get("playlist_entry_id")
        entry = self.entries.get(mpv_id)
        if entry is None:
            return
        if self.current is entry:
            self.current = None
        reason = ev.data.get("reason")
        at = self.player.wall_at(ev.at)
        if reason == "eof":
            self._close_rows(entry, "completed", None, at)
        elif reason == "error":
            why = f"mpv could not play it: {ev.data.get('file_error') or 'unknown error'}"
            if entry.shown_at is not None:
                self._close_rows(entry, "error", why, at)
            else:
                item = entry.slot.playable.item
                for face in (self.want.faces if self.want else ()):
                    proof.record(self.db, face, item.media_sha256, item.name, entry.slot.entry_id,
                                 entry.level, "error", why, at=at,
                                 started_at=self.player.wall_at(entry.started) if entry.started else None)
            self._note_error(f"{entry.slot.playable.item.name or mpv_id}: {why}", code="media_error",
                             detail={"sha256": entry.slot.playable.item.media_sha256})
            # A file that failed once fails every pass: drop it from the loop.
            self._remove(mpv_id)
        elif reason in ("stop", "quit"):
            if entry.shown_at is not None:
                self._close_rows(entry, "preempted", self.preempt_reason, at)
        if mpv_id not in self.order:
            self.entries.pop(mpv_id, None)

    def _remove(self, mpv_id: int) -> None:
        if mpv_id in self.order:
            self.order.remove(mpv_id)
        try:
            playlist = self.proc.ipc.get("playlist", []) if self.connected else []
            for index, e in enumerate(playlist or []):
                if e.get("id") == mpv_id:
                    self.proc.ipc.command("playlist-remove", index)
                    break
        except MpvError:
            pass

    def _close_rows(self, entry: Loaded, outcome: str, reason: str | None,
                    at: datetime | None = None) -> None:
        for row in entry.rows.values():
            proof.finish(self.db, row, outcome, reason, at=at)
        entry.rows = {}

    # ---- state and errors -----------------------------------------------
    def _write_black_state(self, want: Want) -> None:
        for face in self.faces:
            facestate.update(self.db, face, level=want.level, entry_id=None, playing_sha256=None,
                             playing_name=None, playing_kind=None, since=iso(utcnow()),
                             next_sha256=None, next_name=None, next_at=None)

    def _note_error(self, message: str, code: str, level: str = "error",
                    detail: dict | None = None) -> None:
        log(logger, logging.ERROR if level == "error" else logging.WARNING, message,
            picture=self.name, code=code, **(detail or {}))
        for face in self.faces:
            log_event(self.db, "player", level, code, message, face_id=face,
                      detail={"picture": self.name, "output": self.config.output.name,
                              **(detail or {})})
            facestate.update(self.db, face, last_error=f"{iso(utcnow())} {message}")

    # ---- screenshots ----------------------------------------------------
    def showing_picture(self) -> bool:
        return self.connected and self.current is not None and self.current.shown_at is not None

    def take_screenshot(self, tmp_path: str, on_done: Callable[[dict], None]) -> bool:
        """Ask mpv for the decoded picture (works with --vo=null; fails while idle)."""
        if not self.showing_picture():
            return False
        try:
            self.proc.ipc.command_async("screenshot-to-file", tmp_path, "video", on_reply=on_done)
        except MpvError:
            return False
        return True


def _rank(level: str) -> int:
    return LEVEL_RANK.get(level, -1)
