"""Database access: one engine per process, short sessions, one transaction per use case."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..errors import Conflict


class Database:
    def __init__(self, url: str, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            self.engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
            _sqlite_transactions(self.engine)
        else:
            self.engine = create_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)
        # Writers on SQLite take the write lock at BEGIN, so two writers never read the same snapshot and then
        # both try to write (one waits instead); on PostgreSQL the case row is locked with FOR UPDATE.
        self._write_engine = self.engine.execution_options(yordam_write=True)

    @contextmanager
    def read(self):
        """A session for queries; anything it writes (such as audit of reads) is committed at the end."""
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def write(self):
        """One use case, one transaction: commit at the end, roll everything back on any exception. A row
        changed by someone else meanwhile (its row version moved) is a conflict the user can retry."""
        try:
            with Session(self._write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session
        except StaleDataError:
            raise Conflict("This was changed by someone else a moment ago; reload and try again.") from None

    def dispose(self):
        self.engine.dispose()


def ensure_sqlite_folder(url: str):
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_transactions(engine):
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        immediate = connection.get_execution_options().get("yordam_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
