"""Throw-away PostgreSQL server for the test suite.

``ThrowawayPostgres`` creates a private cluster with the machine's own
PostgreSQL binaries (``initdb``/``pg_ctl``/``postgres``) in a fresh temporary
folder, listens on 127.0.0.1 only (free port, unix socket inside the temporary
folder), creates a login role ``yordam`` and a database ``yordam`` owned by it,
and removes everything again on ``stop()`` (or at interpreter exit).

``initdb`` and ``pg_ctl`` refuse to run as root, so when the effective uid is 0
the cluster is created and run as the ``postgres`` system user
(``runuser -u postgres -- ...``) in a temporary folder owned by that user.

If ``YORDAM_TEST_PG_URL`` is set (an SQLAlchemy URL), that server is used
instead and nothing is started; databases made with ``create_database()`` are
dropped again on ``stop()``.

Session-scoped fixture (e.g. in ``tests/conftest.py``)::

    import uuid
    import pytest
    from sqlalchemy import create_engine
    from tests.pg import ThrowawayPostgres, require_postgres

    @pytest.fixture(scope="session")
    def pg():
        require_postgres()   # no binaries: pytest.fail under CI, skip locally
        with ThrowawayPostgres() as server:
            yield server     # server.url == "postgresql+psycopg://yordam@127.0.0.1:<port>/yordam"

    @pytest.fixture
    def pg_engine(pg):
        # one fresh database per test; dropped with the cluster
        engine = create_engine(pg.create_database(f"t_{uuid.uuid4().hex[:12]}"))
        yield engine
        engine.dispose()
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = [
    "ENV_URL",
    "PostgresUnavailable",
    "ThrowawayPostgres",
    "find_pg_bin",
    "postgres_available",
    "require_postgres",
    "running_in_ci",
]

ENV_URL = "YORDAM_TEST_PG_URL"
APP_ROLE = "yordam"
APP_DB = "yordam"
SUPERUSER = "postgres"  # bootstrap superuser created by initdb -U
OS_USER = "postgres"  # unprivileged system user used when running as root
HOST = "127.0.0.1"

_REQUIRED = ("initdb", "pg_ctl", "postgres")
_PREFIX = "yordam-pg-"
_OWNER_FILE = "owner"
_SOCKET_NAME_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN"

TEST_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "128MB",
}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (or the user to run them as) are missing."""


# --------------------------------------------------------------------------
# discovery helpers


def _is_bin_dir(path: Path) -> bool:
    return all(
        (path / name).is_file() and os.access(path / name, os.X_OK) for name in _REQUIRED
    )


def _version_key(bin_dir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_pg_bin() -> Path | None:
    """Directory holding initdb, pg_ctl and postgres, or None.

    ``initdb`` on PATH wins (symlinks are resolved, so /usr/local/bin/initdb ->
    /usr/lib/postgresql/15/bin/initdb gives the real bin directory); then the
    newest /usr/lib/postgresql/<version>/bin.
    """
    initdb = shutil.which("initdb")
    if initdb:
        path = Path(initdb)
        for candidate in (path.resolve().parent, path.parent):
            if _is_bin_dir(candidate):
                return candidate
    for candidate in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True
    ):
        if _is_bin_dir(Path(candidate)):
            return Path(candidate)
    return None


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def postgres_available() -> bool:
    return bool(os.environ.get(ENV_URL, "").strip()) or find_pg_bin() is not None


def require_postgres() -> None:
    """In a test or fixture: fail under CI, skip otherwise, when no server can be had."""
    if postgres_available():
        return
    import pytest

    reason = (
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH "
        f"or in /usr/lib/postgresql/*/bin, and {ENV_URL} is not set"
    )
    if running_in_ci():
        pytest.fail(f"{reason}; CI must provide them (see .ci/run)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------
# small process/file helpers


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, ValueError, IndexError):
        return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(server log {path} unreadable: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _world_traversable(path: Path) -> bool:
    for part in [path, *path.parents]:
        try:
            if not part.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _server_env() -> dict[str, str]:
    # PGDATA/PGPORT/PGHOST... from the caller's shell must not leak into the
    # throw-away cluster.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _psycopg_kwargs(url: str) -> dict:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    kwargs = parsed.translate_connect_args(username="user", database="dbname")
    for key, value in parsed.query.items():
        kwargs[key] = value if isinstance(value, str) else value[-1]
    return kwargs


# --------------------------------------------------------------------------


class ThrowawayPostgres:
    """A private PostgreSQL cluster for one test session (context manager).

    Attributes once started: ``url`` (SQLAlchemy URL of database ``yordam`` as
    role ``yordam``), ``admin_url`` (superuser ``postgres``), ``host``,
    ``port``, ``base_dir`` (temp folder), ``data_dir``, ``socket_dir``,
    ``log_file``, ``bin_dir``, ``external`` (True when ``YORDAM_TEST_PG_URL``
    is used; the path attributes are then None).
    """

    def __init__(
        self,
        *,
        bin_dir: Path | str | None = None,
        os_user: str = OS_USER,
        superuser: bool = False,
        extra_conf: dict[str, str] | None = None,
        startup_timeout: int = 60,
    ) -> None:
        self._bin_dir_arg = Path(bin_dir) if bin_dir is not None else None
        self.os_user = os_user
        self.superuser = superuser
        self.extra_conf = dict(extra_conf or {})
        self.startup_timeout = startup_timeout

        self.external = False
        self.url: str | None = None
        self.admin_url: str | None = None
        self.host: str | None = None
        self.port: int | None = None
        self.bin_dir: Path | None = None
        self.base_dir: Path | None = None
        self.data_dir: Path | None = None
        self.socket_dir: Path | None = None
        self.log_file: Path | None = None

        self._state = "new"  # new -> running -> stopped
        self._owner_pid: int | None = None
        self._demote: list[str] | None = None  # runuser prefix when root
        self._popen_user: dict = {}
        self._created_dbs: list[str] = []

    # -- context manager -------------------------------------------------

    def __enter__(self) -> "ThrowawayPostgres":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ThrowawayPostgres {self._state} url={self.url!r} base_dir={self.base_dir}>"

    # -- lifecycle -------------------------------------------------------

    def start(self) -> "ThrowawayPostgres":
        if self._state != "new":
            raise RuntimeError(f"ThrowawayPostgres already {self._state}")

        external = os.environ.get(ENV_URL, "").strip()
        if external:
            self._state = "running"
            self._owner_pid = os.getpid()
            self.external = True
            self.url = self.admin_url = external
            kwargs = _psycopg_kwargs(external)
            self.host, self.port = kwargs.get("host"), kwargs.get("port")
            atexit.register(self.stop)
            return self

        bin_dir = self._bin_dir_arg or find_pg_bin()
        if bin_dir is None or not _is_bin_dir(bin_dir):
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found "
                f"({'in ' + str(bin_dir) if bin_dir else 'on PATH or in /usr/lib/postgresql/*/bin'}); "
                f"install the PostgreSQL server or set {ENV_URL}"
            )
        self.bin_dir = bin_dir
        self._setup_identity()
        self._sweep_stale()

        self._state = "running"
        self._owner_pid = os.getpid()
        atexit.register(self.stop)
        try:
            self._make_base_dir()
            self._initdb()
            self._configure()
            self._start_server()
            self._bootstrap()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (pg_ctl stop -m immediate) and remove the temp folder.

        Idempotent. Does nothing in a forked child of the process that started it.
        """
        if self._state != "running" or os.getpid() != self._owner_pid:
            return
        self._state = "stopped"
        atexit.unregister(self.stop)
        if self.external:
            self._drop_created_databases()
            return
        try:
            if self.data_dir is not None:
                self._kill_cluster(self.data_dir)
        finally:
            if self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- public helpers --------------------------------------------------

    def create_database(self, name: str, *, owner: str = APP_ROLE) -> str:
        """Create database ``name`` (owned by ``owner``) and return its SQLAlchemy URL."""
        if self._state != "running":
            raise RuntimeError("ThrowawayPostgres is not running")
        from psycopg import sql

        if self.external:
            stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        else:
            stmt = sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        with self._admin_connect() as conn:
            conn.execute(stmt)
        self._created_dbs.append(name)
        return self._url_for(self.url, database=name)

    # -- internals -------------------------------------------------------

    def _url_for(self, url: str, **changes) -> str:
        from sqlalchemy.engine import make_url

        return make_url(url).set(**changes).render_as_string(hide_password=False)

    def _admin_connect(self):
        import psycopg

        return psycopg.connect(
            **_psycopg_kwargs(self.admin_url), autocommit=True, connect_timeout=10
        )

    def _setup_identity(self) -> None:
        if os.geteuid() != 0:
            self._demote = None
            self._popen_user = {}
            return
        import pwd

        try:
            entry = pwd.getpwnam(self.os_user)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root, but there is no '{self.os_user}' system user to run "
                "initdb/pg_ctl as (initdb refuses to run as root)"
            ) from None
        self._uid, self._gid = entry.pw_uid, entry.pw_gid
        runuser = shutil.which("runuser") or (
            "/usr/sbin/runuser" if os.path.exists("/usr/sbin/runuser") else None
        )
        if runuser:
            self._demote = [runuser, "-u", self.os_user, "--"]
            self._popen_user = {}
        else:  # no util-linux: let subprocess drop privileges itself
            self._demote = []
            self._popen_user = {"user": self._uid, "group": self._gid, "extra_groups": []}

    def _run(self, args: list, *, timeout: float, check: bool = False) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if self._demote is not None:
            cmd = self._demote + cmd
        return subprocess.run(
            cmd,
            cwd=self.base_dir or "/",
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            **self._popen_user,
        )

    def _tmp_parent(self) -> str:
        parent = Path(tempfile.gettempdir())
        too_long = len(str(parent)) + len(_PREFIX) + 20 > _SOCKET_NAME_MAX
        hidden = self._demote is not None and not _world_traversable(parent)
        return "/tmp" if (too_long or hidden) else str(parent)

    def _make_base_dir(self) -> None:
        base = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=self._tmp_parent()))
        self.base_dir = base
        (base / _OWNER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        self.socket_dir = base / "sock"
        self.socket_dir.mkdir(mode=0o700)
        self.data_dir = base / "data"
        self.log_file = base / "server.log"
        if self._demote is not None:  # root: hand the folder to the postgres user
            for path in (base, self.socket_dir):
                os.chown(path, self._uid, self._gid)

    def _initdb(self) -> None:
        outputs = []
        for locale in ("C.UTF-8", "C"):
            shutil.rmtree(self.data_dir, ignore_errors=True)
            result = self._run(
                [
                    self.bin_dir / "initdb",
                    "-D", self.data_dir,
                    "-A", "trust",
                    "-U", SUPERUSER,
                    "--encoding=UTF8",
                    f"--locale={locale}",
                    "--no-sync",
                ],
                timeout=180,
            )
            if result.returncode == 0:
                return
            outputs.append(f"--- initdb --locale={locale} (exit {result.returncode})\n"
                           f"{result.stdout}{result.stderr}")
        raise RuntimeError("initdb failed:\n" + "\n".join(outputs))

    def _configure(self) -> None:
        settings = dict(TEST_SETTINGS)
        settings["unix_socket_directories"] = f"'{self.socket_dir}'"
        settings.update(self.extra_conf)
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# --- yordam throw-away test server ---\n")
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")
        with open(self.data_dir / "pg_hba.conf", "w") as hba:
            hba.write(
                "# yordam throw-away test server: loopback/socket only, trust\n"
                "local   all   all                 trust\n"
                "host    all   all   127.0.0.1/32  trust\n"
            )

    def _start_server(self) -> None:
        failures = []
        for _attempt in range(3):
            port = _free_port()
            log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            try:
                result = self._run(
                    [
                        self.bin_dir / "pg_ctl",
                        "-D", self.data_dir,
                        "-l", self.log_file,
                        "-o", f"-p {port}",
                        "-w", "-t", self.startup_timeout,
                        "start",
                    ],
                    timeout=self.startup_timeout + 30,
                )
                ok = result.returncode == 0
                output = f"{result.stdout}{result.stderr}"
            except subprocess.TimeoutExpired as exc:
                ok, output = False, f"pg_ctl start timed out: {exc}"
            if ok:
                self.host, self.port = HOST, port
                self.url = f"postgresql+psycopg://{APP_ROLE}@{HOST}:{port}/{APP_DB}"
                self.admin_url = f"postgresql+psycopg://{SUPERUSER}@{HOST}:{port}/postgres"
                return
            log = self._log_since(log_offset)
            failures.append(f"--- pg_ctl start on port {port}\n{output.strip()}\n"
                            f"--- server log tail ({self.log_file})\n{log}")
            self._kill_cluster(self.data_dir)  # in case it half-started
            if not re.search(r"could not bind|Address already in use|could not create any TCP/IP", log):
                break
        raise RuntimeError("PostgreSQL failed to start:\n" + "\n".join(failures))

    def _log_since(self, offset: int, lines: int = 40) -> str:
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(offset)
                text = fh.read().decode(errors="replace")
        except OSError:
            return _tail(self.log_file, lines)
        return "\n".join(text.splitlines()[-lines:])

    def _bootstrap(self) -> None:
        from psycopg import sql

        role_opts = "LOGIN SUPERUSER" if self.superuser else "LOGIN CREATEDB"
        try:
            with self._admin_connect() as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} " + role_opts).format(sql.Identifier(APP_ROLE))
                )
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(APP_DB), sql.Identifier(APP_ROLE)
                    )
                )
        except Exception as exc:
            raise RuntimeError(
                f"could not create role/database {APP_ROLE}: {exc}\n"
                f"--- server log tail ({self.log_file})\n{_tail(self.log_file)}"
            ) from exc

    def _kill_cluster(self, data_dir: Path) -> None:
        """pg_ctl stop -m immediate; SIGKILL the postmaster if it is still there."""
        pid = _postmaster_pid(data_dir)
        if pid is None:
            return
        try:
            self._run(
                [self.bin_dir / "pg_ctl", "-D", data_dir, "-m", "immediate",
                 "-w", "-t", "30", "stop"],
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            pass
        if _pid_alive(pid) and _postmaster_pid(data_dir) == pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def _sweep_stale(self) -> None:
        """Remove folders left by earlier runs whose owning process is gone (kill -9 etc.)."""
        host = socket.gethostname()
        parents = {tempfile.gettempdir(), "/tmp"}
        for parent in parents:
            for base in glob.glob(os.path.join(parent, _PREFIX + "*")):
                base = Path(base)
                try:
                    owner_host, owner_pid = (base / _OWNER_FILE).read_text().split()
                    owner_pid = int(owner_pid)
                except (OSError, ValueError):
                    continue  # not ours, not readable, or still being created
                if owner_host != host or owner_pid == os.getpid() or _pid_alive(owner_pid):
                    continue
                try:
                    self._kill_cluster(base / "data")
                except Exception:
                    pass
                shutil.rmtree(base, ignore_errors=True)

    def _drop_created_databases(self) -> None:
        if not self._created_dbs:
            return
        from psycopg import sql

        try:
            with self._admin_connect() as conn:
                for name in reversed(self._created_dbs):
                    ident = sql.Identifier(name)
                    try:
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
                    except Exception:  # server < 13
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))
        except Exception:
            pass  # best effort: an external server outlives us anyway
        self._created_dbs.clear()
