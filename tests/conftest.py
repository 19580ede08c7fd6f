"""Fixtures: every engine test runs on SQLite and on a real throw-away PostgreSQL.

A template database (migrated, demo org units and users, the shipped process published) is built once per
session and copied for each test, so tests start from the same world in milliseconds.
"""
from __future__ import annotations

import shutil
import sqlite3
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.clock import FakeClock
from engine.core import Engine
from engine.db.migrate import upgrade
from engine.services import definitions
from engine.services.demo import load_org_and_users
from engine.settings import Settings
from tests.pg import ThrowawayPostgres, require_postgres

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday


def make_engine(url: str, clock=None) -> Engine:
    return Engine(Settings(database_url=url, secret_key="test"), clock=clock or FakeClock(START))


def _fill_template(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    load_org_and_users(engine)
    definitions.publish_shipped(engine)
    engine.db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    _fill_template(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_server():
    require_postgres()
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def pg_template(pg_server):
    url = pg_server.create_database("yordam_template")
    _fill_template(url)
    return "yordam_template"


def _pg_copy(server, template: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER yordam TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(server.url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "yordam.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("pg_server")
    return _pg_copy(server, request.getfixturevalue("pg_template"))


@pytest.fixture
def clock():
    return FakeClock(START)


@pytest.fixture
def engine(db_url, clock):
    eng = make_engine(db_url, clock)
    yield eng
    eng.db.dispose()


@pytest.fixture
def sqlite_engine(tmp_path, sqlite_template, clock):
    path = tmp_path / "yordam.sqlite"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}", clock)
    yield eng
    eng.db.dispose()


@pytest.fixture
def pg_engine(pg_server, pg_template, clock):
    """An engine on PostgreSQL only, for races that need its row locks (SQLite serialises writers)."""
    eng = make_engine(_pg_copy(pg_server, pg_template), clock)
    yield eng
    eng.db.dispose()


@pytest.fixture
def server(engine):
    """The app on a real HTTP port, over the test's engine."""
    from tests.api_client import LiveServer
    from webui import create_app
    with LiveServer(create_app(engine)) as live:
        yield live


@pytest.fixture
def anon(server):
    """A JSON API client that has not logged in yet."""
    from tests.api_client import Client
    return Client(server.url)
