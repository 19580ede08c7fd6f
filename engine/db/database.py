"""Database access: one engine per process, short sessions, one transaction per use case."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import faults
from ..errors import Conflict

#: The enclosing ``unit_of_work`` of this thread (database, session), if any.
_unit_of_work: ContextVar = ContextVar("yordam_unit_of_work", default=None)

#: A transaction left idle this long (its process stalled or half dead) is ended by the PostgreSQL server, which
#: frees its locks for everyone else: far beyond any real step (milliseconds).
IDLE_IN_TRANSACTION_SECONDS = 60


class Database:
    def __init__(self, url: str, echo: bool = False, lock_timeout_seconds: float = 30):
        """``lock_timeout_seconds``: how long a request waits for a case another request holds before it gives up
        with "busy, try again" (503) instead of hanging."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            self.engine = create_engine(url, echo=echo, connect_args={"timeout": lock_timeout_seconds,
                                                                      "check_same_thread": False})
            _sqlite_transactions(self.engine, lock_timeout_seconds)
        else:
            self.engine = create_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True,
                                        connect_args={"options": f"-c lock_timeout={int(lock_timeout_seconds * 1000)} "
                                                                 f"-c idle_in_transaction_session_timeout="
                                                                 f"{IDLE_IN_TRANSACTION_SECONDS * 1000}"})
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
        changed by someone else meanwhile (its row version moved) is a conflict the user can retry. Inside a
        ``unit_of_work`` this joins its transaction instead, which commits or rolls back the whole."""
        joined = _unit_of_work.get()
        try:
            if joined is not None and joined[0] is self:
                yield joined[1]
                return
            with Session(self._write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session
                    faults.point("before_commit")
            faults.point("after_commit")
        except StaleDataError:
            raise Conflict("This was changed by someone else a moment ago; reload and try again.") from None

    @contextmanager
    def unit_of_work(self):
        """One write transaction for a use case and what must be kept with it (an API request's idempotency
        key and answer): every ``write()`` in the block, in this thread, joins it."""
        with self.write() as session:
            token = _unit_of_work.set((self, session))
            try:
                yield session
            finally:
                _unit_of_work.reset(token)

    def dispose(self):
        self.engine.dispose()


def ensure_sqlite_folder(url: str):
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_transactions(engine, lock_timeout_seconds: float):
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_seconds * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        immediate = connection.get_execution_options().get("yordam_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
