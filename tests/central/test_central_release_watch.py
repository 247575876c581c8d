"""central.notify.ReleaseWatch: a server's memory of every gate's release version,
which answers a waiting gate (`/wait` without nginx) and each heartbeat's
`published_version`. A publication committed in ANOTHER process (a real one, as the
CLI or another server) reaches a waiting gate at once. On PostgreSQL the watch hears
it by LISTEN/NOTIFY (migration 0013) and reads nothing while nothing is published;
SQLite keeps its 0.2 s poll."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from tests.support.wait import wait_for

PUBLISH = """
import sys
from sqlalchemy import insert
from central import schema as t
from central.db import Store
store = Store(sys.argv[1])
with store.transaction(write=True) as conn:
    pub = conn.execute(insert(t.publication).values(
        at="2026-11-30T12:00:00+00:00", by="test", repository_version=int(sys.argv[3]),
        gates_changed=1)).inserted_primary_key[0]
    conn.execute(insert(t.release).values(
        gate_id=sys.argv[2], version=int(sys.argv[3]), content_sha256="a" * 64,
        published_at="2026-11-30T12:00:00+00:00", publication_id=pub, document="{}"))
store.close()
"""


def publish_elsewhere(central, gate_id: str, version: int) -> None:
    url = central.db.url.render_as_string(hide_password=False)
    done = subprocess.run([sys.executable, "-c", PUBLISH, url, gate_id, str(version)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_publication_elsewhere_reaches_a_waiting_gate_at_once(central):
    from central.notify import ReleaseWatch

    watch = ReleaseWatch(central.db, safety_s=3600)
    try:
        assert watch.current("huu-nghi") == 0
        answers = []
        waiting = threading.Thread(target=lambda: answers.append(
            watch.wait("huu-nghi", 0, timeout=60)))
        waiting.start()
        if central.db.dialect == "postgresql":
            # Listening: nothing is read while nothing is published.
            wait_for(lambda: watch.reads >= 2, 60, "the watch to listen")
            reads = watch.reads
            time.sleep(1.0)  # five polls' worth
            assert watch.reads == reads
        publish_elsewhere(central, "huu-nghi", 7)
        waiting.join(timeout=60)
        assert answers == [7]
        assert watch.current("huu-nghi") == 7 and watch.current("tan-thanh") == 0
        if central.db.dialect == "postgresql":
            assert watch.reads == reads + 1  # one read for one publication
        # A second one, and a gate already up to date waits on.
        publish_elsewhere(central, "tan-thanh", 8)
        wait_for(lambda: watch.current("tan-thanh") == 8, 60, "the second publication")
        assert watch.wait("huu-nghi", 7, timeout=0.1) is None
    finally:
        watch.stop()


def test_the_watch_listens_again_after_its_connection_is_cut(central):
    """PostgreSQL: a database restart (here: its backend terminated) breaks the
    LISTEN; the watch connects again and reads at once, so a publication made while
    it was deaf is not missed. (SQLite: polling, nothing to cut.)"""
    from central.notify import ReleaseWatch

    if central.db.dialect != "postgresql":
        return
    watch = ReleaseWatch(central.db, poll_s=0.2, safety_s=3600)
    try:
        watch.current("huu-nghi")
        wait_for(lambda: watch.reads >= 2, 60, "the watch to listen")
        with central.db.engine.begin() as conn:
            cut = conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query = 'LISTEN gatecast_release' AND pid <> pg_backend_pid()").scalar()
        assert cut == 1
        publish_elsewhere(central, "huu-nghi", 3)
        wait_for(lambda: watch.current("huu-nghi") == 3, 60, "the watch to hear again")
    finally:
        watch.stop()
