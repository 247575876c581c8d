"""A small client for mpv's JSON IPC (`--input-ipc-server`), with timeouts.

One reader thread per connection turns incoming lines into either replies
(handed to the waiting request) or events, which it only puts on a queue:
every decision is made by the player loop that reads that queue.
"""

from __future__ import annotations

import itertools
import json
import queue
import socket
import threading
import time
from typing import Any, Callable

from kiosk.player.events import MpvEvent


class MpvError(Exception):
    """mpv answered a command with an error, or the connection is gone."""


class MpvTimeout(MpvError):
    """mpv did not answer in time (hung, stopped, or dying)."""


class _Pending:
    __slots__ = ("done", "reply", "callback")

    def __init__(self, callback: Callable[[dict], None] | None = None):
        self.done = threading.Event()
        self.reply: dict | None = None
        self.callback = callback


class MpvIpc:
    """One connection to one mpv process."""

    def __init__(self, sock_path: str, events: "queue.Queue", picture: str, generation: int):
        self.sock_path = sock_path
        self.events = events
        self.picture = picture
        self.generation = generation
        self._sock: socket.socket | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed = threading.Event()
        self._reader: threading.Thread | None = None

    # -- connection ---------------------------------------------------------
    def connect(self, timeout: float = 1.0) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.sock_path)
        except OSError as e:
            sock.close()
            raise MpvError(f"cannot connect to {self.sock_path}: {e}") from e
        # The reader wakes up every second to notice close(); sends use the
        # same timeout so a hung mpv cannot block the loop for long.
        sock.settimeout(1.0)
        self._sock = sock
        self._reader = threading.Thread(
            target=self._read_loop, name=f"mpv-ipc-{self.picture}-{self.generation}", daemon=True
        )
        self._reader.start()

    @property
    def connected(self) -> bool:
        return self._sock is not None and not self._closed.is_set()

    def close(self) -> None:
        self._closed.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=2)
        self._fail_pending("connection closed")

    # -- commands -----------------------------------------------------------
    def _send(self, command: Any, pending: _Pending, async_: bool = False) -> int:
        if not self.connected:
            raise MpvError("not connected to mpv")
        request_id = next(self._ids)
        msg: dict[str, Any] = {"command": command, "request_id": request_id}
        if async_:
            msg["async"] = True
        data = (json.dumps(msg, ensure_ascii=False) + "\n").encode()
        with self._lock:
            self._pending[request_id] = pending
        try:
            with self._send_lock:
                self._sock.sendall(data)  # type: ignore[union-attr]
        except (OSError, AttributeError) as e:
            with self._lock:
                self._pending.pop(request_id, None)
            raise MpvError(f"cannot send to mpv: {e}") from e
        return request_id

    def command(self, *args: Any, timeout: float = 2.0) -> Any:
        """Run a command (positional args, or one dict of named args); return its data."""
        command = args[0] if len(args) == 1 and isinstance(args[0], dict) else list(args)
        pending = _Pending()
        request_id = self._send(command, pending)
        if not pending.done.wait(timeout):
            with self._lock:
                self._pending.pop(request_id, None)
            raise MpvTimeout(f"mpv did not answer {command!r} within {timeout} s")
        reply = pending.reply or {}
        if reply.get("error") != "success":
            raise MpvError(f"mpv refused {command!r}: {reply.get('error')}")
        return reply.get("data")

    def command_async(self, *args: Any, on_reply: Callable[[dict], None]) -> None:
        """Run a slow command (screenshots) without waiting; the reply goes to
        `on_reply`, called on the reader thread — it must only enqueue."""
        command = args[0] if len(args) == 1 and isinstance(args[0], dict) else list(args)
        self._send(command, _Pending(on_reply), async_=True)

    def get(self, name: str, default: Any = None, timeout: float = 2.0) -> Any:
        try:
            return self.command("get_property", name, timeout=timeout)
        except MpvTimeout:
            raise
        except MpvError:
            return default

    def set(self, name: str, value: Any, timeout: float = 2.0) -> None:
        self.command("set_property", name, value, timeout=timeout)

    # -- reader thread ------------------------------------------------------
    def _read_loop(self) -> None:
        buf = b""
        sock = self._sock
        try:
            while not self._closed.is_set() and sock is not None:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        self._dispatch(line)
        finally:
            self._fail_pending("mpv connection ended")
            if not self._closed.is_set():
                self._put("ipc-closed", {})

    def _dispatch(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            return
        if "event" in msg:
            self._put(msg["event"], msg)
            return
        request_id = msg.get("request_id")
        with self._lock:
            pending = self._pending.pop(request_id, None)
        if pending is None:
            return
        pending.reply = msg
        if pending.callback is not None:
            pending.callback(msg)
        pending.done.set()

    def _put(self, name: str, data: dict) -> None:
        self.events.put(MpvEvent(self.picture, self.generation, name, data, time.monotonic()))

    def _fail_pending(self, why: str) -> None:
        with self._lock:
            pendings, self._pending = list(self._pending.values()), {}
        for p in pendings:
            p.reply = {"error": why}
            if p.callback is not None:
                p.callback(p.reply)
            p.done.set()
