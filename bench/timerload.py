"""Many due timers at once, for the scheduler's race test and its benchmark.

A few real cases are opened through the services; then, per case, open tasks with an escalation ladder and
one due rung each are written in bulk, as if the scheduler had been down while they fell due.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from engine.db.models import Case, Task, Timer, User
from engine.services import cases
from engine.services.actors import Actor


def open_cases(engine, count: int) -> list[int]:
    with engine.db.read() as session:
        worker = Actor.of(session.scalar(select(User).where(User.username == "worker1")))
    payload = {"subject": {"kind": "person", "full_name": "Bench Client"}, "mahalla_id": min(worker.mahalla_ids),
               "channel": "self", "summary": "Scheduler load."}
    return [cases.open_case(engine, worker, payload)["id"] for _ in range(count)]


def load_due_timers(engine, case_ids: list[int], per_case: int, overdue_by=timedelta(days=1)) -> int:
    """Write ``per_case`` overdue tasks with one due escalation rung each, for every case. Returns how many."""
    now = engine.now()
    due = now - overdue_by
    with engine.db.write() as session:
        cases_by_id = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
        task_rows, timer_rows = [], []
        for case_id in case_ids:
            case = cases_by_id[case_id]
            for n in range(per_case):
                task_id = str(uuid.uuid4())
                task_rows.append(dict(
                    id=task_id, case_id=case.id, bpmn_id="home_visit_assessment", title=f"Load task {n}",
                    lane="social_worker", role="social_worker", assignee_id=case.owner_id,
                    district_id=case.district_id, mahalla_id=case.mahalla_id, form_key="needs_assessment",
                    stage="assessment", state="open", created_at=due - timedelta(days=5), due_at=due,
                    kind="process", escalation_level=0, row_version=1,
                    deadline={"unit": "working_days", "amount": 5, "expression": None, "source": "load",
                              "calendar": "UZ", "start": (due - timedelta(days=5)).isoformat(),
                              "computed_due": due.isoformat(), "skipped": [], "rolled_from": None,
                              "reminders": [], "ladder": [{"role": "supervisor", "after": None}],
                              "generation": 0, "changes": []}))
                timer_rows.append(dict(key=f"task:{task_id}:g0:rung:1", kind="escalation", case_id=case.id,
                                       task_id=task_id, rung=1, target_role="supervisor", due_at=due,
                                       status="pending", created_at=now))
        for start in range(0, len(task_rows), 5000):
            session.execute(insert(Task), task_rows[start:start + 5000])
            session.execute(insert(Timer), timer_rows[start:start + 5000])
    return len(timer_rows)
