"""Scheduler benchmark: how long one and two scheduler processes take to fire a flood of due timers, and how
soon after its due instant an escalation appears while the ticker runs. Prints figures; asserts only that
every timer fired exactly once.

    .venv/bin/python bench/timers.py                       # 100,000 timers on SQLite, 1 and 2 processes
    .venv/bin/python bench/timers.py --postgres            # the same on a throw-away PostgreSQL
    .venv/bin/python bench/timers.py --timers 10000 --processes 2
    .venv/bin/python bench/timers.py --postgres --quick    # 2,000 timers, for development

Prints the machine it ran on and writes bench/results/timers-<database>.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.common import Run  # noqa: E402
from bench.timerload import load_due_timers, open_cases  # noqa: E402
from engine.clock import FakeClock, SystemClock  # noqa: E402
from engine.core import Engine  # noqa: E402
from engine.db.migrate import upgrade  # noqa: E402
from engine.db.models import Task, Timer  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services.demo import load_org_and_users  # noqa: E402
from engine.settings import Settings  # noqa: E402

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
PER_CASE = 200


def fresh_database(make_url) -> str:
    url = make_url()
    upgrade(url)
    engine = Engine(Settings(database_url=url, secret_key="bench"), clock=FakeClock(START))
    load_org_and_users(engine)
    definitions.publish_shipped(engine)
    return url


def flood(url: str, timers: int, processes: int) -> dict:
    engine = Engine(Settings(database_url=url, secret_key="bench"), clock=FakeClock(START))
    loading = time.monotonic()
    case_ids = open_cases(engine, max(1, timers // PER_CASE))
    loaded = load_due_timers(engine, case_ids, PER_CASE if timers >= PER_CASE else timers)
    loading = time.monotonic() - loading
    env = dict(os.environ, DATABASE_URL=url, YORDAM_ALLOW_TIME_TRAVEL="1")
    at = (START + timedelta(minutes=1)).isoformat()
    began = time.monotonic()
    runs = [subprocess.Popen([sys.executable, "-m", "webui.cli", "tick", "--at", at], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    outputs = [run.communicate() for run in runs]
    elapsed = time.monotonic() - began
    if any(run.returncode for run in runs):
        raise SystemExit(f"a scheduler failed: {outputs}")
    with engine.db.read() as session:
        fired = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired"))
        escalations = session.scalar(select(func.count(func.distinct(Task.escalates_task_id)))
                                     .where(Task.kind == "escalation"))
        per_worker = sorted(session.scalars(select(func.count()).select_from(Timer).where(Timer.status == "fired")
                                            .group_by(Timer.claimed_by)))
    engine.db.dispose()
    assert fired == loaded == escalations, (fired, loaded, escalations)
    return {"timers": loaded, "processes": processes, "seconds": elapsed, "per_second": loaded / elapsed,
            "per_process": per_worker, "loading_seconds": loading}


def latency(url: str, count: int = 20) -> list[float]:
    """Real clock, the ticker running: seconds from each timer's due instant to its escalation."""
    from engine.scheduler import Ticker
    engine = Engine(Settings(database_url=url, secret_key="bench"), clock=SystemClock())
    case_ids = open_cases(engine, 1)
    load_due_timers(engine, case_ids, count, overdue_by=timedelta(0))
    now = engine.now()
    with engine.db.write() as session:  # spread the due instants over the next few seconds
        rows = session.scalars(select(Timer).where(Timer.status == "pending", Timer.case_id.in_(case_ids),
                                                   Timer.key.like("task:%:g0:rung:1"))
                               .join(Task, Task.id == Timer.task_id).where(Task.title.like("Load task %"))).all()
        assert len(rows) == count
        for n, timer in enumerate(rows):
            timer.due_at = now + timedelta(seconds=2 + n * 0.37)
    ticker = Ticker(engine)
    ticker.start()
    try:
        time.sleep(2 + count * 0.37 + 3)
    finally:
        ticker.stop()
    with engine.db.read() as session:
        rows = session.scalars(select(Timer).where(Timer.status == "fired", Timer.fired_at > now)).all()
        delays = [(t.fired_at - t.due_at).total_seconds() for t in rows]
    engine.db.dispose()
    return delays


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, help="due timers (default 100,000; --quick 2,000)")
    parser.add_argument("--quick", action="store_true", help="2,000 timers, for development")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--postgres", action="store_true", help="run on a throw-away PostgreSQL")
    args = parser.parse_args()
    args.timers = args.timers or (2_000 if args.quick else 100_000)
    run = Run("timers", "postgresql" if args.postgres else "sqlite", args, quick=args.quick)

    server = None
    if args.postgres:
        from tests.pg import ThrowawayPostgres
        server = ThrowawayPostgres().__enter__()
        counter = iter(range(1000))
        make_url = lambda: server.create_database(f"bench_{next(counter)}")  # noqa: E731
    else:
        folder = tempfile.mkdtemp(prefix="yordam-bench-")
        counter = iter(range(1000))
        make_url = lambda: f"sqlite:///{folder}/bench_{next(counter)}.sqlite"  # noqa: E731
    database = "PostgreSQL" if args.postgres else "SQLite"
    try:
        run.machine(server.url if server else None)
        print(f"# Scheduler flood on {database}: {args.timers:,} due escalation timers")
        for processes in args.processes:
            result = flood(fresh_database(make_url), args.timers, processes)
            run.results[f"flood_{processes}_processes"] = result
            print(f"{processes} process(es): {result['timers']:,} fired once each in {result['seconds']:.1f} s "
                  f"= {result['per_second']:,.0f} timers/s (per process {result['per_process']}; "
                  f"loading took {result['loading_seconds']:.1f} s)")
        delays = latency(fresh_database(make_url))
        print(f"# Ticker latency (real clock, tick every {Settings().tick_seconds:g} s, {len(delays)} timers): "
              f"p50 {statistics.median(delays):.2f} s, p95 {percentile(delays, 95):.2f} s, "
              f"max {max(delays):.2f} s")
        run.results["ticker_latency"] = {"tick_seconds": Settings().tick_seconds, "timers": len(delays),
                                         "p50_s": round(statistics.median(delays), 3),
                                         "p95_s": round(percentile(delays, 95), 3), "max_s": round(max(delays), 3)}
        run.target("escalation_latency", "escalation after its due instant, p95 (s)", 2.0,
                   run.results["ticker_latency"]["p95_s"])
    finally:
        if server:
            server.__exit__(None, None, None)
    run.finish()


if __name__ == "__main__":
    main()
