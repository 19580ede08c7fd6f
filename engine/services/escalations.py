"""What a due reminder or escalation rung does, and what a supervisor does with an escalation.

A rung opens an escalation task for the rung's role in the case's district ("Overdue: <task> of <case>"),
whose three actions are: reassign the overdue task, extend its deadline with a reason, or acknowledge.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from ..db.models import Case, Task, Timer, User
from ..errors import InvalidInput, NotAllowed
from . import inputs
from .assignment import assign
from .audit import record
from .deadlines import calendar_for, ensure_open, extension_due, move_deadline
from .notifications import holders_of, notify

ESCALATION_ACTIONS = ("reassign", "extend", "acknowledge")


def fire_reminder(engine, session, timer: Timer, now: datetime) -> str:
    task = session.get(Task, timer.task_id)
    if task is None or task.state != "open":
        return "task no longer open"
    if task.due_at is not None and task.due_at <= now:
        return "deadline already passed; the escalation ladder takes over"
    if session.get(Case, task.case_id).held_since is not None:
        return "case on hold"
    # Reminders missed while the scheduler was down fire as one: the later points of this generation that
    # are already due are folded into this one.
    folded = session.scalars(select(Timer).where(Timer.task_id == task.id, Timer.kind == "reminder",
                                                 Timer.status.in_(("pending", "claimed")),
                                                 Timer.due_at <= now,
                                                 Timer.id != timer.id)).all()
    for other in folded:
        other.status, other.outcome = "cancelled", f"coalesced into {timer.key}"[:200]
    case = session.get(Case, task.case_id)
    recipients = [task.assignee_id] if task.assignee_id else holders_of(session, task.role, task.district_id)
    notify(engine, session, recipients, "task.reminder", case_id=case.id, task_id=task.id, task=task.title,
           subject=case.subject_name, due=task.due_at.isoformat())
    record(session, now, "task.reminded", case_id=case.id, task_id=task.id, timer=timer.key,
           coalesced=len(folded))
    return f"reminded {len(recipients)} user(s)" + (f", {len(folded)} coalesced" if folded else "")


def fire_rung(engine, session, timer: Timer, now: datetime) -> str:
    task = session.get(Task, timer.task_id)
    if task is None or task.state != "open":
        return "task no longer open"
    case = session.get(Case, task.case_id)
    if case.held_since is not None:
        return "case on hold"
    calendar = calendar_for(session, case.district_id)
    late_days = max(0, calendar.working_days_between(task.due_at, now))
    with session.no_autoflush:
        target = assign(session, case, timer.target_role)
        recipients = holders_of(session, target.role, case.district_id) if target.assignee_id is None \
            else [target.assignee_id]
    # The id derives from the timer's key: whatever the schedulers do, one rung makes one escalation task.
    escalation = Task(id=str(uuid.uuid5(uuid.NAMESPACE_URL, "yordam:" + timer.key)), case_id=case.id, bpmn_id="escalation",
                      title=f"Overdue: {task.title}", lane=timer.target_role, role=target.role,
                      assignee_id=target.assignee_id, district_id=case.district_id, mahalla_id=case.mahalla_id,
                      form_key=None, stage=task.stage, state="open", created_at=now, kind="escalation",
                      escalates_task_id=task.id, rung=timer.rung)
    session.add(escalation)
    task.escalation_level = max(task.escalation_level or 0, timer.rung)
    details = {"rung": timer.rung, "role": target.role, "escalation_task_id": escalation.id,
               "late_working_days": late_days, "late_seconds": round((now - timer.due_at).total_seconds(), 3),
               "due_at": task.due_at.isoformat()}
    if target.reason:
        details["rerouted_because"] = target.reason
    record(session, now, "task.escalated", case_id=case.id, task_id=task.id, **details)
    notify(engine, session, recipients, "escalation.opened", case_id=case.id, task_id=escalation.id,
           task=task.title, subject=case.subject_name)
    notify(engine, session, [task.assignee_id], "task.overdue", case_id=case.id, task_id=task.id,
           task=task.title, subject=case.subject_name, role=target.role)
    return f"escalated to {target.role} (rung {timer.rung}, {late_days} working days late)"


def close_escalations_of(session, task: Task, now: datetime, why: str) -> None:
    """When the overdue task ends, the escalations about it have nothing left to decide."""
    for escalation in session.scalars(select(Task).where(Task.escalates_task_id == task.id,
                                                         Task.state == "open")):
        escalation.state, escalation.completed_at = "cancelled", now
        record(session, now, "escalation.resolved", case_id=task.case_id, task_id=escalation.id, reason=why)


def act_on_escalation(engine, session, actor, escalation: Task, data: dict) -> dict:
    """Complete an escalation task with one of its actions; returns the audit details."""
    payload = inputs.load(inputs.EscalationActionIn(), data)
    if actor.role not in ("supervisor", "center_head"):
        raise NotAllowed("Only a supervisor or the centre head decides on an escalation.")
    overdue = escalation.escalates
    now = engine.now()
    action = payload["action"]
    if action == "acknowledge":
        details = {"action": action, "comment": payload.get("reason")}
    elif overdue.state != "open":
        raise InvalidInput("The overdue task is already done; acknowledge this escalation instead.",
                           fields={"action": ["Only acknowledge is possible now."]})
    elif action == "reassign":
        details = reassign(engine, session, actor, overdue, payload["user"], payload["reason"], now)
    else:
        details = extend(engine, session, actor, overdue, payload, now)
    escalation.state, escalation.completed_at, escalation.completed_by_id = "completed", now, actor.id
    if escalation.assignee_id is None:
        escalation.assignee_id = actor.id
    record(session, now, "escalation.decided", actor_id=actor.id, case_id=escalation.case_id,
           task_id=escalation.id, overdue_task_id=overdue.id,
           **{("decision" if key == "action" else key): value for key, value in details.items()})
    return details


def reassign(engine, session, actor, task: Task, user_ref, reason: str, now) -> dict:
    """Give an open task to another holder of its role in its district; its deadline stays as it was."""
    ensure_open(task)
    target = user_by_ref(session, user_ref)
    if target is None or not target.is_active:
        raise InvalidInput("Unknown user.", fields={"user": ["There is no active user with this id or name."]})
    wanted = task.lane or task.role
    if target.district_id != task.district_id or target.role not in (wanted, task.role):
        raise InvalidInput("This user cannot take the task.",
                           fields={"user": [f"Choose an active {wanted} of the district."]})
    previous = task.assignee_id
    task.assignee_id, task.role = target.id, target.role
    record(session, now, "task.assigned", actor_id=actor.id, case_id=task.case_id, task_id=task.id,
           from_user_id=previous, to_user_id=target.id, reason=reason)
    case = session.get(Case, task.case_id)
    notify(engine, session, [target.id], "task.assigned", case_id=case.id, task_id=task.id, task=task.title,
           subject=case.subject_name)
    return {"action": "reassign", "to_user_id": target.id, "from_user_id": previous, "reason": reason}


def extend(engine, session, actor, task: Task, payload: dict, now) -> dict:
    ensure_open(task)
    if actor.role not in ("supervisor", "center_head"):
        raise NotAllowed("Only a supervisor or the centre head may extend a deadline.")
    case = session.get(Case, task.case_id)
    calendar = calendar_for(session, case.district_id)
    before = task.due_at
    new_due = extension_due(calendar, task, payload, now)
    move_deadline(session, task, calendar, now, new_due,
                  {"kind": "extension", "by": actor.full_name, "by_user_id": actor.id, "reason": payload["reason"],
                   "at": now.isoformat()}, restart_ladder=True)
    close_escalations_of(session, task, now, "deadline extended")
    record(session, now, "task.deadline_extended", actor_id=actor.id, case_id=task.case_id, task_id=task.id,
           due_before=before.isoformat() if before else None, due_after=new_due.isoformat(),
           reason=payload["reason"])
    notify(engine, session, [task.assignee_id], "deadline.extended", case_id=case.id, task_id=task.id,
           task=task.title, subject=case.subject_name, due=new_due.isoformat())
    return {"action": "extend", "due_before": before.isoformat() if before else None,
            "due_after": new_due.isoformat(), "reason": payload["reason"]}


def user_by_ref(session, ref):
    if isinstance(ref, int):
        return session.get(User, ref) if 1 <= ref <= 2**31 - 1 else None
    return session.scalar(select(User).where(User.username == ref))
