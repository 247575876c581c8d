"""The report server's second process: it checks and stores the reports whose
gate token the server's event loop found good (central.report_server), and makes
their answers.

The event loop holds the connections, parses HTTP (in C), checks the gate token in
memory and sends each report, still as its bytes, over a socket pair; this process
takes everything that arrived, checks each report and makes the answer of a refused
one (`GateReports.prepare`: 400, 413), and queues the rest; ONE committing thread
(its own connection) stores everything queued in ONE transaction
(`GroupCommit.commit`: the same batch, the same retries one by one and part by
part), answers them (`Pending.finish`, `GateReports.respond`)
and sends every answer back in one message, while the first thread already checks
the next reports; the loop sends each answer to its gate. The rules are
GateReports', as under gunicorn; only where they run differs.

Why two processes (#14, docs/benchmarks.md, measured on the 3,000- and 10,000-gate
benches):
- one process with a thread waiting per report (session 4), or a writer thread
  calling back onto the loop (session 4's experiment): the loop and the threads
  took Python's interpreter lock from each other on every system call, each
  waiting up to the 5 ms switch interval to get it back;
- the writer on the loop itself (SQLAlchemy's asyncio engine over psycopg's async
  connection, session 5): each of the writer's round trips to the database waited
  for the loop to parse everything that had arrived meanwhile; once reports queued
  a batch of 500 took 2 s and the queue never drained.
Here the loop never waits for the database, the checks and the store get a core's
worth of interpreter of their own, and a report crosses the socket as its raw body.

Framing: a 4-byte big-endian length, then a pickle: (seq, gate id, kind, content
type, declared length, body) to this process, [(seq, status, headers, body), ...]
back, one list per batch. This process exits when the server's end closes (it
ignores SIGTERM, so a stop lets it finish the batch in hand); the server stops itself
when this process is gone (systemd restarts the unit).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import os
import pickle
import signal
import socket
import struct
import threading

from central import heap
from central.gate_reports import NOT_STORED, Pending, Then

log = logging.getLogger("gatecast.central.reports")

HEADER = struct.Struct(">I")
# ONE committing thread, on both stores. Two on PostgreSQL (each with its own
# connection, one batch in the database while the other stores the next) were
# measured (docs/benchmarks.md, wave 2 session 6) and taken out again:
# - on a busy machine (load 5-8), bench/report_writer_cost.py at 833 reports a second:
#   one thread kept up with 714-789/s, two with 805-823/s;
# - on a quiet one, bench/central_intake.py at 10,000 gates x5: two halved the batches,
#   so every commit's fixed cost came twice as often: 2.0 ms of CPU per gate-minute
#   against 1.7 with one, p50/p90 26/88 ms against 14/40, the same p99.
# The reading thread already overlaps the checks with the commit. (SQLite has one
# writer at a time anyway: a file lock.)
GONE = (500, [(b"content-type", b"application/json")],
        json.dumps({"error": NOT_STORED}).encode() + b"\n")


def start_writer(make_reports) -> WriterClient:
    """Fork the writer process and return the server's end. `make_reports()` builds,
    in the new process, the GateReports whose rules and group commit it runs. Call
    before the server opens its store, sockets or threads (a fork copies only the
    calling thread)."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the writer
        ours.close()
        code = 1
        try:
            # Stopped by the server's end closing (EOF), after the batch in hand: a
            # stop (systemd's SIGTERM to the unit's group) lets the server go first.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            # Python's default switch interval (5 ms) on purpose: 0.5 ms (wave 2
            # session 6, meant to hand the interpreter lock back to the committing
            # thread sooner) made the writer fall behind at 833 reports a second on
            # a busy machine, 3 runs of 3 (579-671/s against 741-818/s without it,
            # bench/report_writer_cost.py, docs/benchmarks.md, session 7 cpu).
            reports = make_reports()
            heap.settle()
            answer_forever(theirs, reports)
            code = 0
        except BaseException:
            log.exception("the report writer stopped")
        finally:
            os._exit(code)
    theirs.close()
    return WriterClient(ours, pid)


def answer_forever(sock: socket.socket, reports) -> None:
    """The writer process: answer the reports the server sends, many to a commit,
    until the server's end closes. The stages overlap: this thread reads and checks
    what arrived (`prepare_batch`) and answers a refused report at once, while the
    committing thread (`_Committer`) stores the checked reports queued so far in
    one transaction and answers them. PostgreSQL's round trips and commits
    release the interpreter lock, so the next reports are read, unpickled, checked
    and stored while a batch is in the database. Serial (check, store, commit,
    answer), this process waited on PostgreSQL ~40 % of its time while reports
    queued behind it (py-spy at 10,000 gates, docs/benchmarks.md)."""
    committer = _Committer(sock, reports)
    committer.start()
    try:
        buffer = bytearray()
        while data := sock.recv(1 << 20):  # waits for the first report
            buffer += data
            try:  # and takes everything else already sent
                while chunk := sock.recv(1 << 20, socket.MSG_DONTWAIT):
                    buffer += chunk
            except BlockingIOError:
                pass
            answers, pending = prepare_batch(reports, list(_frames(buffer)))
            if answers:
                committer.send(answers)
            committer.queue(pending)
    finally:
        committer.stop()  # after committing and answering what is queued


class _Committer:
    """The writer process's committing thread: it takes every checked report queued
    (at most a group commit's MAX_BATCH), stores them with ONE `GroupCommit.commit`
    (its retries one by one and part by part), answers them in one message, and
    again. A failure here is a bug: the process stops (and the server with it)."""

    def __init__(self, sock: socket.socket, reports):
        self.sock, self.reports = sock, reports
        self._ready = threading.Condition()
        self._queued: list[tuple[int, Pending]] = []
        self._stopping = False
        self._sending = threading.Lock()  # answers also go from the reading thread
        self._thread = threading.Thread(target=self._run, name="central-report-commits",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def queue(self, pending: list[tuple[int, Pending]]) -> None:
        if pending:
            with self._ready:
                self._queued += pending
                self._ready.notify()

    def stop(self) -> None:
        """Once what is queued is committed and answered."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join()

    def send(self, answers: list[tuple]) -> None:
        """Answers to the server, one message (from any thread)."""
        data = _frame(answers)
        with self._sending:
            try:
                self.sock.sendall(data)
            except OSError as e:  # the server's end is gone: nobody to answer
                log.warning("the report server went away; %d answers not sent (%s)",
                            len(answers), e)

    def _run(self) -> None:
        try:
            step = self.reports.writer.MAX_BATCH
            while True:
                with self._ready:
                    while not self._queued and not self._stopping:
                        self._ready.wait()
                    if not self._queued:
                        return
                    batch = self._queued[:step]
                    del self._queued[:step]
                self.send(commit_batch(self.reports, batch))
        except BaseException:
            log.exception("the report writer's commits stopped")
            os._exit(1)


def answer_batch(reports, requests: list[tuple]) -> list[tuple]:
    """[(seq, gate id, kind, content type, declared length, body)] -> [(seq, status,
    headers, body)]: refused ones answered at once, the rest after their ONE commit
    (both stages in the calling thread)."""
    answers, pending = prepare_batch(reports, requests)
    return answers + commit_batch(reports, pending)


def prepare_batch(reports, requests: list[tuple]) -> tuple[list[tuple], list[tuple[int, Pending]]]:
    """The checks (`GateReports.prepare`) of [(seq, gate id, kind, content type,
    declared length, body)]: the answers of the refused ones, [(seq, status,
    headers, body)], and the rest as [(seq, Pending)] for `commit_batch`."""
    answers, pending = [], []
    for seq, gate_id, kind, content_type, length, body in requests:
        ready = reports.prepare({"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(length),
                                 "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
                                gate_id, kind)
        if isinstance(ready, Pending):
            pending.append((seq, ready))
        else:
            answers.append((seq, *wire(reports.respond(*ready))))
    return answers, pending


def commit_batch(reports, pending: list[tuple[int, Pending]]) -> list[tuple]:
    """Store checked reports, [(seq, Pending)], with ONE group commit (and its
    retries) and answer each: [(seq, status, headers, body)]."""
    if not pending:
        return []
    stored: dict[int, tuple] = {}
    reports.writer.commit([(ready.item, Then(lambda result, error, seq=seq: stored.__setitem__(
        seq, (result, error)))) for seq, ready in pending])
    return [(seq, *wire(reports.respond(*ready.finish(*stored[seq])))) for seq, ready in pending]


def wire(response: tuple[str, list, bytes]) -> tuple[int, list, bytes]:
    """A GateReports response as the ASGI server sends it."""
    status, headers, body = response
    return int(status[:3]), [(k.lower().encode("latin-1"), v.encode("latin-1"))
                             for k, v in headers if k != "Content-Length"], body


def _frames(buffer: bytearray):
    """The whole frames at the start of `buffer`, unpickled (and removed from it)."""
    at = 0
    while len(buffer) - at >= HEADER.size:
        (size,) = HEADER.unpack_from(buffer, at)
        if len(buffer) - at - HEADER.size < size:
            break
        yield pickle.loads(buffer[at + HEADER.size:at + HEADER.size + size])
        at += HEADER.size + size
    del buffer[:at]


def _frame(message) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class WriterClient(asyncio.Protocol):
    """The server's end: `await answer(gate_id, kind, content_type, length, body)`
    gives (status, headers, body) once the writer process checked the report and,
    unless refused, committed it."""

    def __init__(self, sock: socket.socket, pid: int):
        self.sock, self.pid = sock, pid
        self._seq = itertools.count()
        self._waiting: dict[int, asyncio.Future] = {}
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._gone = False

    async def answer(self, gate_id: str, kind: str, content_type: str, length: int,
                     body: bytes) -> tuple[int, list, bytes]:
        loop = asyncio.get_running_loop()
        await self.connect()
        if self._gone:
            return GONE
        seq = next(self._seq)
        future = self._waiting[seq] = loop.create_future()
        self._transport.write(_frame((seq, gate_id, kind, content_type, length, body)))
        try:
            return await future
        finally:
            self._waiting.pop(seq, None)

    async def connect(self) -> None:
        """Take the socket onto the running event loop (once)."""
        if self._transport is None and not self._gone:
            await asyncio.get_running_loop().create_unix_connection(lambda: self,
                                                                     sock=self.sock)

    def connection_made(self, transport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for batch in _frames(self._buffer):
            for seq, *response in batch:
                future = self._waiting.pop(seq, None)
                if future is not None and not future.done():  # done: the gate went away
                    future.set_result(response)

    def connection_lost(self, exc) -> None:
        self._gone = True
        log.critical("the report writer (process %s) stopped; this report server stops "
                     "too", self.pid)
        for future in self._waiting.values():
            if not future.done():
                future.set_result(GONE)
        self._waiting.clear()
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn stops; systemd starts us again
