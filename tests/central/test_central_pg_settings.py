"""Central's PostgreSQL settings are one file, the central role's
templates/postgresql.conf.j2: the role installs it (tests/ansible/test_ansible_central.py
checks the installed file is `central_settings()` for that host's memory) and the
tests' and benches' clusters load it. Here: the server really applied every line of
it, and only the tests' own durability shortcuts override it; a bench's cluster keeps
the provisioned durability."""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.support.postgres import (SETTINGS_FILE, SUPERUSER, PostgresCluster,
                                    central_settings, host_memory_mb)

# What the tests' clusters turn off on the command line (thrown away, so no durability).
TEST_SHORTCUTS = {"fsync", "synchronous_commit", "full_page_writes"}


def file_settings(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([a-z_]+)\s*=\s*(\S+)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def applied(cluster: PostgresCluster) -> dict[str, tuple[str, str | None, str]]:
    with psycopg.connect(host=str(cluster.dir), user=SUPERUSER, dbname="postgres") as conn:
        return {name: (source, sourcefile, setting) for name, source, sourcefile, setting in
                conn.execute("SELECT name, source, sourcefile, setting FROM pg_settings")}


def test_the_role_s_settings_are_rendered_from_the_host_memory():
    settings = file_settings(central_settings(4096))
    assert settings["shared_buffers"] == "1024MB"
    assert settings["effective_cache_size"] == "3072MB"
    assert settings["maintenance_work_mem"] == "128MB"
    # A quarter of the memory, but never past 8 GB, never under 128 MB.
    assert file_settings(central_settings(65536))["shared_buffers"] == "8192MB"
    assert file_settings(central_settings(256))["shared_buffers"] == "128MB"
    assert settings["synchronous_commit"] == "on" and settings["fsync"] == "on"


def test_the_tests_cluster_applies_every_line_of_the_role_s_file(postgres_cluster):
    expected = file_settings(central_settings(host_memory_mb()))
    assert len(expected) > 15
    server = applied(postgres_cluster)
    for name in expected:
        source, sourcefile, _ = server[name]
        if name in TEST_SHORTCUTS:
            assert source == "command line", (name, source)
        else:
            assert source == "configuration file" and sourcefile.endswith(SETTINGS_FILE), (
                name, source, sourcefile)


@pytest.mark.slow
def test_a_bench_cluster_keeps_the_provisioned_durability():
    cluster = PostgresCluster(durable=True).start()
    try:
        server = applied(cluster)
    finally:
        cluster.stop()
    for name in TEST_SHORTCUTS | {"wal_compression", "max_wal_size", "autovacuum_naptime"}:
        source, sourcefile, _ = server[name]
        assert source == "configuration file" and sourcefile.endswith(SETTINGS_FILE), name
    assert server["synchronous_commit"][2] == "on" and server["fsync"][2] == "on"
    assert server["wal_compression"][2] == "lz4"
    # autovacuum: a round a minute, throttled as PostgreSQL throttles it (the report
    # tables' own thresholds and delays are storage parameters: migration 0016).
    assert server["autovacuum_naptime"][2] == "60"
    assert server["autovacuum_vacuum_cost_limit"][:3:2] == ("default", "-1")
    assert server["autovacuum_vacuum_cost_delay"][:3:2] == ("default", "2")


def _segments_ahead(cluster: PostgresCluster) -> int:
    """WAL segment files already there past the one being written: the ones the
    server will reuse instead of creating (and zero-filling) while commits wait."""
    with psycopg.connect(host=str(cluster.dir), user=SUPERUSER, dbname="postgres") as conn:
        current = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
    return sum(1 for name in (cluster.data / "pg_wal").iterdir()
               if len(name.name) == 24 and name.name > current)


@pytest.mark.slow
def test_a_bench_cluster_recycles_min_wal_size_of_segments_before_it_is_measured():
    # A small min_wal_size keeps this quick; the benches' clusters take the role's 2 GB.
    cluster = PostgresCluster(settings={"min_wal_size": "64MB"}).start()
    try:
        assert _segments_ahead(cluster) == 0  # fresh: each next segment is created
        assert cluster.recycle_wal() == 4  # 64 MB of 16 MB segments
        assert _segments_ahead(cluster) >= 4
    finally:
        cluster.stop()
