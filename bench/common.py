"""What every benchmark shares: the machine it ran on, percentiles, the JSON result, a throw-away PostgreSQL and a
migrated database with the demo organisation, its users and the shipped process published.

Benchmarks print their figures and write ``bench/results/<name>-<database>.json``. Other work may run on the
machine at the same time, so the load average is recorded at the start and at the end of every run.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
#: The instant benchmark databases start at (a Monday morning, as in the tests).
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


# --- the machine --------------------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def postgres_version(url: str | None) -> str | None:
    if not url or not url.startswith("postgresql"):
        return None
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar()
    finally:
        engine.dispose()


def machine(pg_url: str | None = None) -> dict:
    """Cores, CPU, RAM, Python and library versions, the database versions and the load average now."""
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gib": _ram_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "spiffworkflow": _version("SpiffWorkflow"),
        "sqlalchemy": _version("SQLAlchemy"),
        "flask": _version("Flask"),
        "gunicorn": _version("gunicorn"),
        "psycopg": _version("psycopg"),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(pg_url),
        "git_commit": _git_commit(),
    }


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


class Run:
    """One benchmark run: the machine, load at start and end, figures, and the JSON file it ends in.

        run = Run("floor", "sqlite", args)
        run.machine(pg_url)            # once the database is known
        run.results["x"] = {...}
        run.finish()                   # prints the machine and writes bench/results/floor-sqlite.json
    """

    def __init__(self, name: str, database: str, args=None, quick: bool = False):
        self.name, self.database, self.quick = name, database, quick
        self.command = ".venv/bin/python " + shlex.join(["bench/" + Path(sys.argv[0]).name] + sys.argv[1:])
        self.started = datetime.now(timezone.utc)
        self.load_start = loadavg()
        self.info: dict = {}
        self.results: dict = {}
        self.targets: dict = {}
        self.args = {k: v for k, v in vars(args).items()} if args is not None else {}
        self._began = time.monotonic()

    def machine(self, pg_url: str | None = None) -> dict:
        self.info = machine(pg_url)
        print(describe(self.info, self.load_start), flush=True)
        return self.info

    def target(self, key: str, figure: str, limit, value, better: str = "lower") -> bool:
        """Record whether a figure meets its target (``better`` is "lower" or "higher"); print it."""
        met = value <= limit if better == "lower" else value >= limit
        self.targets[key] = {"figure": figure, "target": limit, "value": value, "better": better, "met": met}
        sign = "≤" if better == "lower" else "≥"
        print(f"  target {key}: {figure} = {fmt(value)} (target {sign} {fmt(limit)}): {'met' if met else 'MISSED'}",
              flush=True)
        return met

    def finish(self, suffix: str = "") -> Path:
        load_end = loadavg()
        elapsed = time.monotonic() - self._began
        if not self.info:
            self.info = machine()
        doc = {
            "benchmark": self.name, "database": self.database, "quick": self.quick, "command": self.command,
            "arguments": self.args, "started_at": self.started.isoformat(timespec="seconds"),
            "seconds": round(elapsed, 1), "machine": self.info,
            "loadavg_start": self.load_start, "loadavg_end": load_end,
            "results": self.results, "targets": self.targets,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = f"{self.name}-{self.database}{suffix}{'-quick' if self.quick else ''}.json"
        path = RESULTS / name
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=_jsonable) + "\n")
        print(f"# load average at start {self.load_start}, at end {load_end}; {elapsed:.0f} s in all")
        print(f"# wrote {path.relative_to(ROOT)}", flush=True)
        return path


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def describe(info: dict, load: list[float] | None = None) -> str:
    parts = [f"{info['cores']} cores ({info['cpu']})", f"{info['ram_gib']} GiB RAM", f"Python {info['python']}",
             f"SpiffWorkflow {info['spiffworkflow']}", f"SQLAlchemy {info['sqlalchemy']}",
             f"SQLite {info['sqlite']}"]
    if info.get("postgresql"):
        parts.append(f"PostgreSQL {info['postgresql']}")
    if load:
        parts.append(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return "# machine: " + ", ".join(parts)


# --- figures ------------------------------------------------------------------------------------------------

def percentile(values, p: float) -> float:
    """Nearest-rank percentile of ``values`` (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))]


def summary(seconds: list[float], elapsed: float | None = None) -> dict:
    """p50/p95/p99/mean/max in milliseconds, and the throughput (per second) over ``elapsed`` when given, else
    over the sum of the timings (one after another, in one thread)."""
    n = len(seconds)
    total = elapsed if elapsed is not None else sum(seconds)
    return {
        "n": n,
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p95_ms": round(percentile(seconds, 95) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "mean_ms": round(sum(seconds) / n * 1000, 3) if n else None,
        "min_ms": round(min(seconds) * 1000, 3) if n else None,
        "max_ms": round(max(seconds) * 1000, 3) if n else None,
        "per_second": round(n / total, 1) if total else None,
    }


def line(label: str, s: dict) -> str:
    return (f"{label}: p50 {s['p50_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, "
            f"mean {s['mean_ms']:.2f} ms, {s['per_second']:,.1f}/s (n={s['n']:,})")


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@contextmanager
def profiled(enabled: bool, name: str):
    """Profile the block with pyinstrument when ``enabled`` and write bench/results/profiles/<name>.txt."""
    if not enabled:
        yield
        return
    from pyinstrument import Profiler
    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        folder = RESULTS / "profiles"
        folder.mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        for prefix in (str(ROOT) + "/", sys.prefix + "/", sys.base_prefix + "/"):  # no paths of this machine
            text = text.replace(prefix, "")
        (folder / f"{name}.txt").write_text(text)
        print(f"# profile written to {(folder / (name + '.txt')).relative_to(ROOT)}")


# --- databases ----------------------------------------------------------------------------------------------

class Databases:
    """Fresh databases for one benchmark: files in a temporary folder, or databases on a throw-away PostgreSQL
    cluster (``tests.pg.ThrowawayPostgres``, fsync off as in the tests). A template (migrated, the demo
    organisation and users, the shipped process published) is built once and copied for each database.

        with Databases(postgres=True) as dbs:
            url = dbs.fresh()          # a copy of the template
    """

    def __init__(self, postgres: bool, extra_conf: dict | None = None):
        self.postgres = postgres
        self.kind = "postgresql" if postgres else "sqlite"
        self.server = None
        self.folder = None
        self.extra_conf = extra_conf
        self._template = None
        self._count = 0

    def __enter__(self) -> "Databases":
        if self.postgres:
            from tests.pg import ThrowawayPostgres
            self.server = ThrowawayPostgres(extra_conf=self.extra_conf).__enter__()
        else:
            self.folder = Path(tempfile.mkdtemp(prefix="yordam-bench-"))
        return self

    def __exit__(self, *exc):
        if self.server is not None:
            self.server.__exit__(*exc)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def admin_url(self) -> str | None:
        return self.server.admin_url if self.server else None

    def empty(self, name: str | None = None) -> str:
        """A new empty database (no tables)."""
        self._count += 1
        name = name or f"bench_{self._count}"
        if self.postgres:
            return self.server.create_database(name)
        return f"sqlite:///{self.folder}/{name}.sqlite"

    def template(self) -> str:
        if self._template is None:
            url = self.empty("bench_template")
            build_world(url)
            if not self.postgres:
                with sqlite3.connect(sqlite_path(url)) as conn:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._template = url
        return self._template

    def fresh(self, name: str | None = None) -> str:
        """A copy of the template: migrated, demo organisation and users, the shipped process published."""
        template = self.template()
        self._count += 1
        name = name or f"bench_{self._count}"
        if self.postgres:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url
            admin = create_engine(self.server.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" OWNER yordam TEMPLATE "bench_template"'))
            admin.dispose()
            return make_url(self.server.url).set(database=name).render_as_string(hide_password=False)
        path = self.folder / f"{name}.sqlite"
        shutil.copy(sqlite_path(template), path)
        return f"sqlite:///{path}"


def sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


def build_world(url: str) -> None:
    """Migrate ``url``, load the demo organisation and users, publish the shipped process (as tests do)."""
    from engine.clock import FakeClock
    from engine.db.migrate import upgrade
    from engine.services import definitions
    from engine.services.demo import load_org_and_users
    upgrade(url)
    engine = make_engine(url, FakeClock(START))
    load_org_and_users(engine)
    definitions.publish_shipped(engine)
    engine.db.dispose()


def make_engine(url: str, clock=None):
    from engine.clock import FakeClock
    from engine.core import Engine
    from engine.settings import Settings
    return Engine(Settings(database_url=url, secret_key="bench-" + "x" * 32), clock=clock or FakeClock(START))


def actor(engine, username: str):
    from engine.services.demo import actor as demo_actor
    return demo_actor(engine, username)


def base_parser(doc: str):
    import argparse
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="run on a throw-away PostgreSQL (else SQLite)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--profile", action="store_true", help="profile the measured part with pyinstrument")
    return parser
