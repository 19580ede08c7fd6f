"""Two scheduler processes racing over 10,000 due timers on PostgreSQL: each timer fires exactly once."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bench.timerload import load_due_timers, open_cases
from engine.db.models import Task, Timer
from engine.settings import ROOT
from tests.conftest import START, _pg_copy, make_engine

TIMERS = 10_000


@pytest.fixture
def pg_url(pg_server, pg_template):
    return _pg_copy(pg_server, pg_template)


def test_two_scheduler_processes_fire_each_of_10000_timers_once(pg_url):
    engine = make_engine(pg_url)
    case_ids = open_cases(engine, 50)
    assert load_due_timers(engine, case_ids, TIMERS // 50) == TIMERS
    env = dict(os.environ, DATABASE_URL=pg_url, YORDAM_ALLOW_TIME_TRAVEL="1")
    at = (START + timedelta(minutes=1)).isoformat()
    started = time.monotonic()
    runs = [subprocess.Popen([sys.executable, "-m", "webui.cli", "tick", "--at", at], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    print(f"two processes fired {TIMERS} timers in {time.monotonic() - started:.1f} s")

    with engine.db.read() as session:
        statuses = dict(session.execute(select(Timer.status, func.count())
                                        .where(Timer.task_id.in_(select(Task.id).where(Task.title.like("Load task %"))))
                                        .group_by(Timer.status)).all())
        by_worker = dict(session.execute(select(Timer.claimed_by, func.count()).where(Timer.status == "fired")
                                         .group_by(Timer.claimed_by)).all())
        escalations = session.scalar(select(func.count()).select_from(Task).where(Task.kind == "escalation"))
        distinct = session.scalar(select(func.count(func.distinct(Task.escalates_task_id)))
                                  .where(Task.kind == "escalation"))
        never_late = session.scalar(select(func.count()).select_from(Timer)
                                    .where(Timer.status == "fired", Timer.late_seconds <= 0))
    assert statuses == {"fired": TIMERS}
    assert escalations == distinct == TIMERS  # one escalation per overdue task: none lost, none doubled
    assert sum(by_worker.values()) == TIMERS and len(by_worker) <= 2
    assert never_late == 0  # every one fired late (they were due a day before) and says by how much
    fired_counts = sorted(int(out.split("fired ")[1].split(" ")[0]) for out, _ in outputs)
    assert sum(fired_counts) == TIMERS
    print("fired per process:", fired_counts)
    engine.db.dispose()
