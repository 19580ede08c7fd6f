"""The throw-away PostgreSQL harness (tests/pg.py) itself."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests import pg as pgmod
from tests.pg import ENV_URL, PostgresUnavailable, ThrowawayPostgres, require_postgres

external_server = pytest.mark.skipif(
    bool(os.environ.get(ENV_URL, "").strip()),
    reason=f"{ENV_URL} is set: the harness uses that server and starts none",
)


@pytest.fixture(scope="module")
def pg():
    require_postgres()
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture
def engine(pg):
    eng = create_engine(pg.url)
    yield eng
    eng.dispose()


@pytest.fixture
def table(engine):
    name = f"t_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (id integer PRIMARY KEY, payload text NOT NULL)"))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {name}"))


# --------------------------------------------------------------------------


def test_select_version(pg, engine):
    assert pg.url.startswith("postgresql+psycopg://")
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version()")).scalar_one()
        user, db = conn.execute(text("SELECT current_user, current_database()")).one()
    assert version.startswith("PostgreSQL ")
    if not pg.external:
        assert pg.url == f"postgresql+psycopg://yordam@127.0.0.1:{pg.port}/yordam"
        assert (user, db) == ("yordam", "yordam")


@external_server
def test_local_server_is_private_and_tuned(pg, engine):
    with engine.connect() as conn:
        addr = conn.execute(text("SELECT host(inet_server_addr())")).scalar_one()
        settings = dict(
            conn.execute(
                text(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('fsync', 'synchronous_commit', 'full_page_writes', 'max_connections', "
                    "'listen_addresses', 'server_encoding')"
                )
            ).all()
        )
    assert addr == "127.0.0.1"
    assert settings["listen_addresses"] == "127.0.0.1"
    assert pg.socket_dir.is_relative_to(pg.base_dir)
    assert (pg.socket_dir / f".s.PGSQL.{pg.port}").exists()
    assert pg.data_dir.is_relative_to(pg.base_dir)
    assert settings["fsync"] == settings["synchronous_commit"] == settings["full_page_writes"] == "off"
    assert settings["max_connections"] == "100"
    assert settings["server_encoding"] == "UTF8"


def test_two_connections_see_committed_rows(engine, table):
    with engine.connect() as a, engine.connect() as b:
        a.execute(text(f"INSERT INTO {table} VALUES (1, 'from a')"))
        # not committed yet: invisible to b
        assert b.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
        b.rollback()
        a.commit()
        assert b.execute(text(f"SELECT payload FROM {table} WHERE id = 1")).scalar_one() == "from a"
        b.execute(text(f"INSERT INTO {table} VALUES (2, 'from b')"))
        b.commit()
        rows = a.execute(text(f"SELECT id, payload FROM {table} ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "from a"), (2, "from b")]
        a.rollback()


def test_for_update_skip_locked(engine, table):
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} SELECT g, 'job ' || g FROM generate_series(1, 5) g"))
    claim = text(
        f"SELECT id FROM {table} ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED"
    )
    with engine.connect() as a, engine.connect() as b:
        b.execute(text("SET lock_timeout = '5s'"))  # never hang the suite
        first = a.execute(claim).scalars().all()
        second = b.execute(claim).scalars().all()
        assert first == [1, 2]
        assert second == [3, 4]
        # a plain FOR UPDATE NOWAIT on a row a holds must fail, proving a real lock
        with pytest.raises(Exception, match="could not obtain lock"):
            b.execute(text(f"SELECT id FROM {table} WHERE id = 1 FOR UPDATE NOWAIT"))
        b.rollback()
        a.commit()
        # locks released: b now gets the first rows
        assert b.execute(claim).scalars().all() == [1, 2]
        b.rollback()


def test_create_database(pg):
    name = f"extra_{uuid.uuid4().hex[:8]}"
    url = pg.create_database(name)
    assert url.endswith(f"/{name}")
    eng = create_engine(url)
    try:
        with eng.begin() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar_one() == name
            conn.execute(text("CREATE TABLE t (x int)"))  # owner may create tables
    finally:
        eng.dispose()


def test_env_override_uses_given_server(pg, engine, monkeypatch):
    monkeypatch.setenv(ENV_URL, pg.url)
    with ThrowawayPostgres() as ext:
        assert ext.external
        assert ext.url == pg.url
        assert ext.data_dir is None and ext.base_dir is None
        name = f"ovr_{uuid.uuid4().hex[:8]}"
        url = ext.create_database(name)
        eng = create_engine(url)
        try:
            with eng.connect() as conn:
                assert conn.execute(text("SELECT current_database()")).scalar_one() == name
        finally:
            eng.dispose()
    # databases made through the override are dropped; the server itself lives on
    with engine.connect() as conn:
        found = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
        assert found.scalar_one() == 0


@external_server
def test_stop_removes_data_dir(pg):
    require_postgres()
    server = ThrowawayPostgres().start()
    try:
        base, data, port = server.base_dir, server.data_dir, server.port
        assert data.is_dir() and (data / "PG_VERSION").is_file()
        if os.geteuid() == 0:
            import pwd

            assert data.stat().st_uid == pwd.getpwnam("postgres").pw_uid
        assert port != pg.port
        eng = create_engine(server.url)
        try:
            with eng.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
        finally:
            eng.dispose()
    finally:
        server.stop()
    assert not base.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    server.stop()  # idempotent


@external_server
def test_start_failure_reports_log_and_cleans_up(pg):
    require_postgres()
    server = ThrowawayPostgres(extra_conf={"shared_buffers": "'not-a-size'"})
    with pytest.raises(RuntimeError, match="shared_buffers") as excinfo:
        server.start()
    assert "server log tail" in str(excinfo.value)
    assert server.base_dir is not None and not server.base_dir.exists()


def test_missing_binaries(monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.setattr(pgmod, "find_pg_bin", lambda: None)
    with pytest.raises(PostgresUnavailable):
        ThrowawayPostgres().start()
    with pytest.raises(PostgresUnavailable):
        ThrowawayPostgres(bin_dir="/nonexistent/pg/bin").start()

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_postgres()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_postgres()


def test_find_pg_bin():
    require_postgres()
    if os.environ.get(ENV_URL, "").strip() and pgmod.find_pg_bin() is None:
        pytest.skip(f"{ENV_URL} set and no local binaries")
    found = pgmod.find_pg_bin()
    for name in ("initdb", "pg_ctl", "postgres"):
        assert os.access(found / name, os.X_OK)
