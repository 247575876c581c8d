"""A throwaway PostgreSQL cluster for tests: Debian's `postgresql` package
(scripts/setup.sh --tests), initdb'd in a temporary folder, listening only
on a unix socket in that folder, stopped and deleted at the end.

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


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh --tests "
                           "(Debian package postgresql)")
    return found[-1].parent


class PostgresCluster:
    def __init__(self, durable: bool = False, settings: dict[str, str] | None = None):
        """`durable`: PostgreSQL's own defaults (fsync, full page writes), for
        benchmarks; tests throw the cluster away and skip them. `settings`: more
        server settings (e.g. {"shared_preload_libraries": "pg_stat_statements"}
        for a bench that reads what each statement cost)."""
        self.durable = durable
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

    def stop(self) -> None:
        try:
            if self._admin is not None:
                self._admin.close()
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def bench_database_url(store: str, url: str = ""):
    """The central_database_url a bench script runs on: `url` when one is given,
    "" (SQLite in the state folder) for store "sqlite", else a fresh database in a
    throwaway cluster with normal durability, stopped when the block ends."""
    if url or store != "postgresql":
        yield url
        return
    cluster = PostgresCluster(durable=True).start()
    try:
        yield cluster.url(cluster.create_database())
    finally:
        cluster.stop()
