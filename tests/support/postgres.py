"""A throwaway PostgreSQL cluster for tests: Debian's `postgresql` package
(scripts/setup.sh --tests), initdb'd in a temporary folder, listening only
on a unix socket in that folder, stopped and deleted at the end.

It loads central's server settings as the central role installs them
(`central_settings()`: the role's template rendered for this machine's memory),
so a bench measures the provisioned server. Tests then turn durability off
on the command line (it is thrown away); benches keep it.

PostgreSQL refuses to run as root: under root the cluster runs as the
unprivileged `postgres` user the package creates.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "gatecast"
# The one file of central's PostgreSQL settings: the central role installs it in
# the cluster's conf.d (roles/central/tasks/main.yml), these clusters include it.
SETTINGS_TEMPLATE = (Path(__file__).resolve().parents[2] / "deploy" / "ansible" / "roles"
                     / "central" / "templates" / "postgresql.conf.j2")
SETTINGS_FILE = "gatecast-central.conf"


def host_memory_mb() -> int:
    """This machine's memory as Ansible's `ansible_memtotal_mb` gives it."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def central_settings(memory_mb: int | None = None) -> str:
    """The role's postgresql.conf.j2 rendered for a host of `memory_mb` (this
    machine's by default): the text the role installs on such a host."""
    import jinja2

    # As Ansible renders templates: trim_blocks on, the last newline kept.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True,
                             keep_trailing_newline=True)
    template = env.from_string(SETTINGS_TEMPLATE.read_text())
    return template.render(central_postgresql_memory_mb=memory_mb or host_memory_mb())


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh --tests "
                           "(Debian package postgresql)")
    return found[-1].parent


class PostgresCluster:
    def __init__(self, durable: bool = False, settings: dict[str, str] | None = None,
                 central: bool = True):
        """`durable`: keep the provisioned durability (fsync, synchronous commit,
        full page writes), for benchmarks; tests throw the cluster away and skip
        them. `settings`: more server settings, over central's (e.g.
        {"shared_preload_libraries": "pg_stat_statements"} for a bench that reads
        what each statement cost). `central`: False leaves PostgreSQL's own
        defaults (to compare against the provisioned settings)."""
        self.durable = durable
        self.central = central
        self.settings = dict(settings or {})
        self.bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="gatecast-pg-"))
        self.data = self.dir / "data"
        self.run_as = "postgres" if os.geteuid() == 0 else None
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._names = itertools.count(1)
        self._admin = None

    def _run(self, *cmd: str) -> None:
        argv = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        result = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True, timeout=120)
        if result.returncode:
            log = self.dir / "server.log"
            raise RuntimeError(f"{' '.join(cmd[:2])} failed: {result.stdout}{result.stderr}"
                               + (log.read_text() if log.exists() else ""))

    def start(self) -> "PostgresCluster":
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", *(() if self.durable else ("--no-sync",)))
        if self.central:
            (self.data / SETTINGS_FILE).write_text(central_settings())
            with open(self.data / "postgresql.conf", "a") as conf:
                conf.write(f"include '{SETTINGS_FILE}'\n")
        # A unix socket in our folder only; no durability unless asked: it is thrown away.
        options = f"-k {self.dir} -c listen_addresses='' -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.dir / "server.log"), "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.dir}"

    def _admin_conn(self):
        import psycopg

        if self._admin is None:
            self._admin = psycopg.connect(host=str(self.dir), user=SUPERUSER, dbname="postgres",
                                          autocommit=True)
        return self._admin

    def create_database(self) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin_conn().execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin_conn().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def recycle_wal(self) -> int:
        """Leave min_wal_size of WAL segment files ready for reuse, as a server in
        service has them, and return how many segments that is.

        A server that has been through a checkpoint renames its spent segments to
        future names and writes over them. A fresh cluster has none: it creates each
        next segment as it needs it, writing 16 MB of zeros while every commit
        waits. At the intake bench's rate (5-9 MB of WAL a second) that came every
        1.8 s and was each run's worst 70-140 ms (docs/benchmarks.md, "A fresh
        cluster's WAL files"); a bench measures the server in service. Switching
        segments min_wal_size over, then a checkpoint, recycles them all (~7 s)."""
        conn = self._admin_conn()
        count = conn.execute(
            "SELECT pg_size_bytes(current_setting('min_wal_size'))"
            " / pg_size_bytes(current_setting('wal_segment_size'))").fetchone()[0]
        for _ in range(count):
            # A switch needs WAL since the last one: a message record is the least.
            conn.execute("SELECT pg_logical_emit_message(false, 'gatecast', 'recycle')")
            conn.execute("SELECT pg_switch_wal()")
        conn.execute("CHECKPOINT")
        return int(count)

    def stop(self) -> None:
        try:
            if self._admin is not None:
                self._admin.close()
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def bench_database_url(store: str, url: str = "", fresh_wal: bool = False):
    """The central_database_url a bench script runs on: `url` when one is given,
    "" (SQLite in the state folder) for store "sqlite", else a fresh database in a
    throwaway cluster with normal durability, stopped when the block ends. The
    cluster's WAL segments are recycled first, as in service (`recycle_wal`),
    unless `fresh_wal`."""
    if url or store != "postgresql":
        yield url
        return
    cluster = PostgresCluster(durable=True).start()
    try:
        if not fresh_wal:
            cluster.recycle_wal()
        yield cluster.url(cluster.create_database())
    finally:
        cluster.stop()
