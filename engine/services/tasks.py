"""Tasks: inboxes and queues, a task with its form, claim, assign, save a draft, complete."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from forms import FormValidationError

from ..db.models import Case, Task
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from . import inputs
from .actors import Actor, may_act_on, task_scope
from .audit import record
from .progress import apply_outcome, lock_case
from .deadlines import Calendars
from .escalations import act_on_escalation, extend, reassign
from .views import case_summary, task_view

SUPERVISING = ("supervisor", "center_head")
#: What the timeline keeps of a completed form: the decision vocabulary shared across processes (DESIGN §2).
DECISION_KEYS = ("decision", "comment", "outcome", "closure_reason", "in_need", "risk_level")


def list_tasks(engine, actor: Actor, *, mine=False, queue=False, overdue=False, case_id=None, state="open",
               kind=None, limit=100, offset=0) -> dict:
    now = engine.now()
    query = select(Task).where(task_scope(actor))
    if state:
        query = query.where(Task.state == state)
    if mine:
        query = query.where(Task.assignee_id == actor.id)
    if queue:
        query = query.where(Task.assignee_id.is_(None), Task.role == actor.role,
                            Task.district_id == actor.district_id)
    if overdue:
        query = query.where(Task.due_at < now, Task.case_id.in_(select(Case.id).where(Case.held_since.is_(None))))
    if case_id:
        query = query.where(Task.case_id == case_id)
    if kind:
        query = query.where(Task.kind == kind)
    query = query.options(selectinload(Task.assignee), selectinload(Task.completed_by), selectinload(Task.case),
                          selectinload(Task.escalates))
    with engine.db.read() as session:
        rows = session.scalars(query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id)
                               .limit(limit).offset(offset)).all()
        calendars = Calendars(session)
        return {"items": [_view(actor, t, now, calendars) for t in rows], "limit": limit, "offset": offset}


def _view(actor, task, now, calendars) -> dict:
    return task_view(task, now, language=actor.language, calendars=calendars)


def _task_in_scope(session, actor, task_id) -> Task:
    task = session.scalar(select(Task).where(Task.id == str(task_id), task_scope(actor)))
    if task is None:
        raise NotFound(f"There is no task {task_id} that you may see.")
    return task


def get_task(engine, actor: Actor, task_id: str) -> dict:
    """A task with its form definition, current answers (draft, else the case's data) and case summary."""
    with engine.db.write() as session:
        task = _task_in_scope(session, actor, task_id)
        case = task.case
        view = _view(actor, task, engine.now(), Calendars(session))
        view["case"] = case_summary(case)
        if task.form_key and task.kind == "process":
            form = engine.forms_of(case.definition_version)[task.form_key]
            view["form"] = form.raw
            view["values"] = task.draft if task.draft is not None else _current_values(engine, case, task, form)
        record(session, engine.now(), "case.viewed", actor_id=actor.id, case_id=case.id, task_id=task.id)
        return view


def _current_values(engine, case, task, form) -> dict:
    """Answers the case already holds for this form's fields: a returned plan opens with the plan as it was."""
    if task.state != "open":
        return {}
    version = case.definition_version
    data = engine.runtime.task_data(version.key, engine.spec_loader(version), case.state, task.id)
    keys = form.field_keys()
    return {k: v for k, v in data.items() if k in keys}


def claim_task(engine, actor: Actor, task_id: str) -> dict:
    with engine.db.write() as session:
        task = _task_in_scope(session, actor, task_id)
        if task.state != "open":
            raise Conflict("This task is no longer open.")
        if task.assignee_id == actor.id:
            return _view(actor, task, engine.now(), Calendars(session))
        if task.assignee_id is not None:
            raise Conflict(f"This task is already taken by {task.assignee.full_name}.")
        if task.role != actor.role or task.district_id != actor.district_id:
            raise NotAllowed("This task is in the queue of another role.")
        claimed = session.execute(update(Task).where(Task.id == task.id, Task.assignee_id.is_(None),
                                                     Task.state == "open")
                                  .values(assignee_id=actor.id, row_version=Task.row_version + 1)
                                  .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            raise Conflict("Someone else took this task a moment ago.")
        record(session, engine.now(), "task.claimed", actor_id=actor.id, case_id=task.case_id, task_id=task.id)
        session.expire(task)
        return _view(actor, task, engine.now(), Calendars(session))


def assign_task(engine, actor: Actor, task_id: str, payload) -> dict:
    """A supervisor gives an open task to a user who holds its role in the district."""
    actor.require(*SUPERVISING, action="assign tasks")
    data = inputs.load(inputs.AssignTaskIn(), payload)
    with engine.db.write() as session:
        task = _task_in_scope(session, actor, task_id)
        reassign(engine, session, actor, task, data["user"], data["reason"], engine.now())
        session.flush()
        return _view(actor, task, engine.now(), Calendars(session))


def extend_deadline(engine, actor: Actor, task_id: str, payload) -> dict:
    """A supervisor moves an open task's deadline later, with a reason kept in its explanation."""
    actor.require(*SUPERVISING, action="extend deadlines")
    data = inputs.load(inputs.ExtendDeadlineIn(), payload)
    with engine.db.write() as session:
        task = _task_in_scope(session, actor, task_id)
        if task.kind != "process":
            raise InvalidInput("Only a case task has a deadline to extend.")
        lock_case(session, task.case_id)
        session.refresh(task)
        extend(engine, session, actor, task, data, engine.now())
        session.flush()
        return _view(actor, task, engine.now(), Calendars(session))


def save_draft(engine, actor: Actor, task_id: str, payload) -> dict:
    """Keep unfinished answers on the task (checked for types and unknown fields, not for completeness)."""
    data = inputs.load(inputs.CompleteTaskIn(), payload)["data"]
    with engine.db.write() as session:
        task = _task_in_scope(session, actor, task_id)
        _check_may_complete(actor, task)
        if task.kind != "process" or not task.form_key:
            raise InvalidInput("This task has no form to keep a draft of.")
        form = engine.forms_of(task.case.definition_version)[task.form_key]
        try:
            task.draft = form.validate(data, partial=True)
        except FormValidationError as err:
            raise InvalidInput("Some answers are not valid.", fields=err.errors) from None
        record(session, engine.now(), "task.draft_saved", actor_id=actor.id, case_id=task.case_id,
               task_id=task.id)
        return _view(actor, task, engine.now(), Calendars(session))


def complete_task(engine, actor: Actor, task_id: str, payload) -> dict:
    """Validate the answers, advance the case in one transaction, and say what happens next."""
    data = inputs.load(inputs.CompleteTaskIn(), payload)["data"]
    try:
        with engine.db.write() as session:
            return _complete(engine, session, actor, str(task_id), data)
    except StaleDataError:
        raise Conflict("The case changed while you were working on it; reload the task.") from None


def _complete(engine, session, actor, task_id, data) -> dict:
    scoped = session.scalar(select(Task.case_id).where(Task.id == task_id, task_scope(actor)))
    if scoped is None:
        raise NotFound(f"There is no task {task_id} that you may see.")
    case = lock_case(session, scoped)  # lock first, then read the task: the loser of a race sees it completed
    task = session.get(Task, task_id, populate_existing=True)
    if task.state != "open":
        who = f" by {task.completed_by.full_name}" if task.completed_by else ""
        raise Conflict(f"This task was already {task.state}{who}.")
    _check_may_complete(actor, task)
    if task.kind == "escalation":
        return _decide_escalation(engine, session, actor, case, task, data)
    version = case.definition_version
    cleaned = _validated(engine, version, task, data)
    outcome = engine.runtime.complete_task(version.key, engine.spec_loader(version), case.state, task.id, cleaned)
    if task.assignee_id is None:
        task.assignee_id = actor.id
    now = engine.now()
    record(session, now, "task.completed", actor_id=actor.id, case_id=case.id, task_id=task.id,
           bpmn_id=task.bpmn_id, title=task.title, stage=task.stage,
           **{k: cleaned[k] for k in DECISION_KEYS if k in cleaned})
    apply_outcome(engine, session, case, outcome, actor_id=actor.id, completed_task_id=task.id)
    session.flush()
    return _after_completion(session, actor, case, task, now)


def _after_completion(session, actor, case, task, now) -> dict:
    next_tasks = session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "open")
                                 .order_by(Task.created_at)).all()
    calendars = Calendars(session)
    return {"task": _view(actor, task, now, calendars), "case": case_summary(case),
            "next_tasks": [_view(actor, t, now, calendars) for t in next_tasks]}


def _decide_escalation(engine, session, actor, case, task, data) -> dict:
    """An escalation is completed with its action: reassign or extend the overdue task, or acknowledge."""
    act_on_escalation(engine, session, actor, task, data)
    session.flush()
    return _after_completion(session, actor, case, task, engine.now())


def _check_may_complete(actor, task):
    if not may_act_on(actor, task):
        if task.assignee_id is not None:
            raise NotAllowed("This task is assigned to someone else.")
        raise NotAllowed(f"This task waits for a {task.role} of the district.")


def _validated(engine, version, task, data) -> dict:
    if not task.form_key:
        if data:
            raise InvalidInput("This task takes no answers.", fields={k: ["Unknown field."] for k in data})
        return {}
    form = engine.forms_of(version)[task.form_key]
    try:
        return form.validate(data)
    except FormValidationError as err:
        raise InvalidInput("Some answers are not valid.", fields=err.errors) from None
