"""Fixtures for the central tests: a central state folder filled through the
library calls, and its Flask app served on 127.0.0.1 (tests.support.central).

Every test here that uses the store (`central`, `central_database_url`) runs
twice: on SQLite and on PostgreSQL, a fresh database of one throwaway cluster
per session (tests.support.postgres)."""

from __future__ import annotations

import pytest

from tests.support.central import LiveServer, make_central

STORES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    if "central_store" in metafunc.fixturenames:
        metafunc.parametrize("central_store", STORES, indirect=True)


@pytest.fixture
def central_store(request) -> str:
    """Which store the central server under test uses: sqlite or postgresql."""
    return request.param


@pytest.fixture(scope="session")
def postgres_cluster():
    from tests.support.postgres import PostgresCluster

    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def central_database_url(central_store, request):
    """The `central_database_url` setting: "" (SQLite in the state folder) or
    a fresh PostgreSQL database, dropped afterwards."""
    if central_store == "sqlite":
        yield ""
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
def central(tmp_path, central_database_url):
    c = make_central(tmp_path / "central", central_database_url=central_database_url)
    yield c
    c.db.close()


@pytest.fixture
def central_server(central):
    server = LiveServer(central.settings)
    yield server
    server.close()


@pytest.fixture
def console_app(central, monkeypatch):
    """The central app (console included) on `central`'s store, for Flask's
    test client (tests.support.console.Console). Fast password hashes: the
    production method is checked in test_console.py."""
    from central.app import create_app
    from kiosk.web import accounts

    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    app = create_app(central.settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["release_watch"].stop()
    if app.extensions["checkpointer"] is not None:
        app.extensions["checkpointer"].stop()
    app.extensions["central_store"].close()
