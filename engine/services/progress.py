"""The one mutating path of a case: apply a step's outcome to the case row and its projections.

Callers hold the case lock (``lock_case``) inside one write transaction; an exception anywhere rolls back the
state, the projections and the audit together, so a case always stays at its last committed wait state.
"""
from __future__ import annotations

from sqlalchemy import select

from ..db.models import Case, Task
from ..errors import NotFound
from ..process.definitions import consent_rule
from .assignment import assign
from .audit import record
from .deadlines import calendar_for, cancel_task_timers, open_deadline
from .escalations import close_escalations_of
from .timers import sync_bpmn_timer

RISK_LEVELS = ("none", "low", "medium", "high")


def lock_case(session, case_id: int) -> Case:
    """Load a case for change. PostgreSQL locks the row; SQLite writers already hold the database lock.

    Every change to a case or its tasks takes this lock first (one lock order, no deadlocks). It is a
    ``FOR NO KEY UPDATE`` lock, so rows that merely point at the case (audit, notifications) can still be
    inserted by others meanwhile."""
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True))
    if case is None:
        raise NotFound(f"There is no case {case_id}.")
    return case


def apply_outcome(engine, session, case: Case, outcome, *, actor_id=None, completed_task_id=None):
    now = engine.now()
    case.state = outcome.state
    case.updated_at = now
    case.next_timer_at = outcome.next_timer_at
    # Every column of the case is set before the first query below flushes it: one UPDATE of the row, not two.
    _project_case_fields(case, outcome)
    closing = outcome.completed and case.status != "closed"
    if closing:
        case.status = "closed"
        case.closed_at = now
        case.held_since = case.hold_reason = None
    _sync_tasks(engine, session, case, outcome, now, actor_id, completed_task_id)
    if closing:  # recorded after the tasks' own events, as the timeline tells it
        record(session, now, "case.closed", actor_id=actor_id, case_id=case.id,
               reason=outcome.data.get("closure_reason"))
    sync_bpmn_timer(session, case, now)


def _sync_tasks(engine, session, case, outcome, now, actor_id, completed_task_id):
    known = {t.id: t for t in session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "open",
                                                                 Task.kind == "process"))}
    open_ids = {t.id for t in outcome.open_tasks}
    for task_id, task in known.items():
        if task_id in open_ids:
            continue
        if task_id == completed_task_id:
            task.state, task.completed_at, task.completed_by_id, task.draft = "completed", now, actor_id, None
        else:
            task.state, task.completed_at = "cancelled", now
            record(session, now, "task.cancelled", case_id=case.id, task_id=task_id, bpmn_id=task.bpmn_id)
        # Early completion stops the reminders and the rungs not yet reached.
        cancel_task_timers(session, task_id, now, f"task {task.state}")
        close_escalations_of(session, task, now, f"the task was {task.state}")
    calendar = None
    for opened in outcome.open_tasks:
        if opened.id in known:
            continue
        target = assign(session, case, opened.lane)
        task = Task(id=opened.id, case_id=case.id, bpmn_id=opened.bpmn_id, title=opened.title,
                    lane=opened.lane, role=target.role, assignee_id=target.assignee_id,
                    district_id=case.district_id, mahalla_id=case.mahalla_id, form_key=opened.form_key,
                    stage=opened.stage, state="open", created_at=now, kind="process", escalation_level=0,
                    requires_consent=consent_rule(opened.properties))
        session.add(task)
        if opened.properties.get("deadline"):
            calendar = calendar or calendar_for(session, case.district_id)
            open_deadline(session, case, task, opened.properties, outcome.data, now, calendar)
        details = {"bpmn_id": opened.bpmn_id, "title": opened.title, "role": target.role,
                   "assignee_id": target.assignee_id}
        if target.reason:
            details["rerouted_because"] = target.reason
        record(session, now, "task.opened", case_id=case.id, task_id=opened.id, **details)


def _project_case_fields(case, outcome):
    """Copy what users filter and report on from the process data to columns; the stage comes from the
    definition (the ``stage`` property of the newest open task), never from code."""
    if outcome.open_tasks:
        stage = outcome.open_tasks[-1].stage
        if stage:
            case.stage = stage
    risk = outcome.data.get("risk_level")
    if risk in RISK_LEVELS:
        case.risk_level = risk
    categories = outcome.data.get("client_categories")
    if isinstance(categories, list) and all(isinstance(c, str) for c in categories):
        case.categories = categories
