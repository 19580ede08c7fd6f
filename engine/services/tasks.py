"""Tasks: inboxes and queues, a task with its form, claim, assign, save a draft, complete."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from forms import FormValidationError
from forms.formdata import untouched

from .. import faults
from ..db.models import Case, Task
from ..names import search_key
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from . import consents, inputs
from .actors import Actor, may_act_on, task_scope
from .audit import record
from .progress import apply_outcome, lock_case
from .deadlines import Calendars
from .escalations import act_on_escalation, extend, reassign
from .views import case_summary, task_view

SUPERVISING = ("supervisor", "center_head")
#: What the timeline keeps of a completed form: the decision vocabulary shared across processes (DESIGN §2).
DECISION_KEYS = ("decision", "comment", "outcome", "closure_reason", "in_need", "risk_level")
#: What monthly reports count of a completed form (``reports.py``): the types of services delivered and the
#: destinations of referrals, never the free text beside them (provider, result), which stays in the case.
REPORTED_LISTS = ("referrals", "referred_to")


def reported(cleaned: dict) -> dict:
    """The reported figures of a completed form's answers, for its ``task.completed`` audit row."""
    out = {}
    if isinstance(cleaned.get("delivered"), list):
        out["delivered"] = [{"service_type": item.get("service_type")} for item in cleaned["delivered"]
                            if isinstance(item, dict)]
    for key in REPORTED_LISTS:
        if isinstance(cleaned.get(key), list):
            out[key] = [value for value in cleaned[key] if isinstance(value, str)]
    return out


def list_tasks(engine, actor: Actor, *, mine=False, queue=False, overdue=False, case_id=None, state="open",
               kind=None, stage=None, mahalla_id=None, q=None, limit=100, offset=0) -> dict:
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
    if stage:
        query = query.where(Task.stage == stage)
    if mahalla_id:
        query = query.where(Task.mahalla_id == mahalla_id)
    if q:
        matching = select(Case.id)
        for term in search_key(q).split():
            matching = matching.where(Case.search_key.contains(term, autoescape=True))
        query = query.where(Task.case_id.in_(matching))
    query = query.options(selectinload(Task.assignee), selectinload(Task.completed_by),
                          # a list shows no case's process state: it stays in the database (KBs per row)
                          selectinload(Task.case).defer(Case.state).selectinload(Case.mahalla),
                          selectinload(Task.escalates).selectinload(Task.assignee),  # an escalation's view names it
                          selectinload(Task.consent))
    # Tasks without a deadline last. Overdue tasks all have one: ordered by due_at alone, an index on it gives
    # the first page without sorting all of a district's overdue tasks.
    order = [Task.due_at, Task.created_at, Task.id] if overdue else \
        [Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id]
    with engine.db.read() as session:
        rows = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
        calendars = Calendars(session)
        return {"items": [_view(engine, actor, t, now, calendars) for t in rows], "limit": limit, "offset": offset}


def _view(engine, actor, task, now, calendars) -> dict:
    titles = engine.title_translator(task.case.definition_version, actor.language)
    return task_view(task, now, language=actor.language, calendars=calendars, titles=titles)


def inbox_counts(engine, actor: Actor) -> dict:
    """How much waits for the actor: own open tasks (and how many are overdue), the role queue, escalations."""
    now = engine.now()
    running = Task.case_id.in_(select(Case.id).where(Case.held_since.is_(None)))
    base = select(func.count()).select_from(Task).where(task_scope(actor), Task.state == "open")
    queue = base.where(Task.assignee_id.is_(None), Task.role == actor.role, Task.district_id == actor.district_id)
    with engine.db.read() as session:
        return {
            "mine": session.scalar(base.where(Task.assignee_id == actor.id)),
            "mine_overdue": session.scalar(base.where(Task.assignee_id == actor.id, Task.due_at < now, running)),
            "queue": session.scalar(queue),
            "escalations": session.scalar(queue.where(Task.kind == "escalation")),
        }


def task_page(engine, actor: Actor, task_id: str) -> dict:
    """What the task page shows: the task with its case, the compiled form and the translator of its texts."""
    task = get_task(engine, actor, task_id)
    form, translate = None, None
    if task["kind"] == "process" and task.get("form_key"):
        with engine.db.read() as session:
            version = session.get(Case, task["case_id"]).definition_version
            form = engine.forms_of(version)[task["form_key"]]
            translate = engine.form_translator(version, task["form_key"], actor.language)
    candidates = []
    target_id = task["escalates"]["id"] if task["kind"] == "escalation" else task["id"]
    if task["state"] == "open" and actor.role in SUPERVISING and (
            task["kind"] != "escalation" or task["escalates"]["state"] == "open"):
        from ..db.models import User
        with engine.db.read() as session:
            overdue = session.get(Task, target_id)
            candidates = [{"id": u.id, "username": u.username, "full_name": u.full_name} for u in session.scalars(
                select(User).where(User.district_id == overdue.district_id, User.is_active.is_(True),
                                   User.role.in_({overdue.lane or overdue.role, overdue.role}))
                .order_by(User.full_name))]
    return {"task": task, "form_definition": form, "translate": translate, "candidates": candidates}


def _task_in_scope(session, actor, task_id) -> Task:
    task = session.scalar(select(Task).where(Task.id == str(task_id), task_scope(actor))) \
        if _may_be_task_id(task_id) else None
    if task is None:
        raise NotFound(f"There is no task {task_id} that you may see.")
    return task


def get_task(engine, actor: Actor, task_id: str) -> dict:
    """A task with its form definition, current answers (draft, else the case's data) and case summary."""
    with engine.db.write() as session:
        task = _task_in_scope(session, actor, task_id)
        case = task.case
        view = _view(engine, actor, task, engine.now(), Calendars(session))
        view["case"] = case_summary(case)
        if task.form_key and task.kind == "process":
            form = engine.forms_of(case.definition_version)[task.form_key]
            view["form"] = form.raw
            view["values"] = task.draft if task.draft is not None else _current_values(engine, case, task, form)
        record(session, engine.now(), "case.viewed", actor_id=actor.id, case_id=case.id, task_id=task.id,
               origin=actor.origin)
        return view


def _current_values(engine, case, task, form) -> dict:
    """Answers the case already holds for this form's fields: a returned plan opens with the plan as it was."""
    if task.state != "open":
        return {}
    version = case.definition_version
    data = engine.runtime.task_data(version.key, engine.spec_loader(version), case.state, task.id)
    keys = form.field_keys()
    return {k: v for k, v in data.items() if k in keys}


def _task_to_change(session, actor, task_id) -> Task:
    """The task, in scope, read after its case is locked (the one lock order of every change)."""
    task = _task_in_scope(session, actor, task_id)
    lock_case(session, task.case_id)
    session.refresh(task)
    return task


def claim_task(engine, actor: Actor, task_id: str) -> dict:
    with engine.db.write() as session:
        task = _task_to_change(session, actor, task_id)
        if task.state != "open":
            raise Conflict("This task is no longer open.")
        if task.assignee_id == actor.id:
            return _view(engine, actor, task, engine.now(), Calendars(session))
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
        return _view(engine, actor, task, engine.now(), Calendars(session))


def assign_task(engine, actor: Actor, task_id: str, payload) -> dict:
    """A supervisor gives an open task to a user who holds its role in the district."""
    actor.require(*SUPERVISING, action="assign tasks")
    data = inputs.load(inputs.AssignTaskIn(), payload)
    with engine.db.write() as session:
        task = _task_to_change(session, actor, task_id)
        reassign(engine, session, actor, task, data["user"], data["reason"], engine.now())
        session.flush()
        return _view(engine, actor, task, engine.now(), Calendars(session))


def extend_deadline(engine, actor: Actor, task_id: str, payload) -> dict:
    """A supervisor moves an open task's deadline later, with a reason kept in its explanation."""
    actor.require(*SUPERVISING, action="extend deadlines")
    data = inputs.load(inputs.ExtendDeadlineIn(), payload)
    with engine.db.write() as session:
        task = _task_to_change(session, actor, task_id)
        if task.kind != "process":
            raise InvalidInput("Only a case task has a deadline to extend.")
        extend(engine, session, actor, task, data, engine.now())
        session.flush()
        return _view(engine, actor, task, engine.now(), Calendars(session))


def save_draft(engine, actor: Actor, task_id: str, payload) -> dict:
    """Keep unfinished answers on the task (checked for types and unknown fields, not for completeness)."""
    data = inputs.load(inputs.CompleteTaskIn(), payload)["data"]
    with engine.db.write() as session:
        task = _task_to_change(session, actor, task_id)
        if task.state != "open":  # a completed task's answers are the case's record: no draft over them
            raise Conflict("This task is no longer open.")
        _check_may_complete(actor, task)
        if task.kind != "process" or not task.form_key:
            raise InvalidInput("This task has no form to keep a draft of.")
        version = task.case.definition_version
        form = engine.forms_of(version)[task.form_key]
        try:
            task.draft = form.validate(data, partial=True,
                                       translate=engine.form_translator(version, task.form_key, actor.language))
        except FormValidationError as err:
            raise InvalidInput("Some answers are not valid.", fields=err.errors) from None
        record(session, engine.now(), "task.draft_saved", actor_id=actor.id, case_id=task.case_id,
               task_id=task.id)
        return _view(engine, actor, task, engine.now(), Calendars(session))


def complete_task(engine, actor: Actor, task_id: str, payload) -> dict:
    """Validate the answers, advance the case in one transaction, and say what happens next."""
    data = inputs.load(inputs.CompleteTaskIn(), payload)["data"]
    try:
        with engine.db.write() as session:
            return _complete(engine, session, actor, str(task_id), data)
    except Conflict as err:
        if err.message.startswith("This was changed by someone else"):
            raise Conflict("The case changed while you were working on it; reload the task.") from None
        raise


def _may_be_task_id(task_id) -> bool:
    """Whether ``task_id`` can be a task's id at all (a NUL, say, is simply unknown: PostgreSQL refuses it)."""
    return inputs.text_problem(str(task_id)) is None


def _complete(engine, session, actor, task_id, data) -> dict:
    scoped = session.scalar(select(Task.case_id).where(Task.id == task_id, task_scope(actor))) \
        if _may_be_task_id(task_id) else None
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
    if task.kind == "consent":  # a revoked consent's review: marked done, optionally with a comment
        consents.complete_review(engine, session, actor, task, data)
        session.flush()
        return _after_completion(engine, session, actor, case, task, engine.now())
    version = case.definition_version
    cleaned = _validated(engine, version, task, data, actor.language)
    consents.require_consent(engine, session, case, task, cleaned)
    outcome = engine.runtime.complete_task(version.key, engine.spec_loader(version), case.state, task.id, cleaned)
    faults.point("after_engine_steps", case_id=case.id, task_id=task.id)
    if task.assignee_id is None:
        task.assignee_id = actor.id
    now = engine.now()
    record(session, now, "task.completed", actor_id=actor.id, case_id=case.id, task_id=task.id,
           bpmn_id=task.bpmn_id, title=task.title, stage=task.stage,
           **{k: cleaned[k] for k in DECISION_KEYS if k in cleaned}, **reported(cleaned))
    apply_outcome(engine, session, case, outcome, actor_id=actor.id, completed_task_id=task.id)
    session.flush()
    faults.point("after_serialise", case_id=case.id, task_id=task.id)
    return _after_completion(engine, session, actor, case, task, now)


def _after_completion(engine, session, actor, case, task, now) -> dict:
    next_tasks = session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "open")
                                 .order_by(Task.created_at, Task.id)).all()
    calendars = Calendars(session)
    return {"task": _view(engine, actor, task, now, calendars), "case": case_summary(case),
            "next_tasks": [_view(engine, actor, t, now, calendars) for t in next_tasks]}


def _decide_escalation(engine, session, actor, case, task, data) -> dict:
    """An escalation is completed with its action: reassign or extend the overdue task, or acknowledge."""
    act_on_escalation(engine, session, actor, task, data)
    session.flush()
    return _after_completion(engine, session, actor, case, task, engine.now())


def _check_may_complete(actor, task):
    if not may_act_on(actor, task):
        if task.assignee_id is not None:
            raise NotAllowed("This task is assigned to someone else.")
        raise NotAllowed(f"This task waits for a {task.role} of the district.")


def _validated(engine, version, task, data, language="en") -> dict:
    if not task.form_key:
        if data:
            raise InvalidInput("This task takes no answers.", fields={k: ["Unknown field."] for k in data})
        return {}
    form = engine.forms_of(version)[task.form_key]
    # A field not sent is a field left as the form shows it, as in the web form: an API client leaving out
    # unticked boxes made the process fail ("name 'immediate_danger' is not defined").
    whole = {**untouched(form), **data}
    try:
        return form.validate(whole, translate=engine.form_translator(version, task.form_key, language))
    except FormValidationError as err:
        raise InvalidInput("Some answers are not valid.", fields=err.errors) from None


def reassign_all(engine, actor: Actor, payload) -> dict:
    """Hand every open task of one worker to another (leave, departure) in one transaction, each move audited;
    optionally the worker's open cases too, so that the cases' future tasks follow."""
    actor.require(*SUPERVISING, action="reassign tasks")
    data = inputs.load(inputs.ReassignAllIn(), payload)
    from .escalations import user_by_ref
    now = engine.now()
    with engine.db.write() as session:
        source, target = user_by_ref(session, data["from_user"]), user_by_ref(session, data["to_user"])
        if source is None or source.district_id != actor.district_id:
            raise InvalidInput("Unknown worker.", fields={"from_user": ["Choose a worker of your district."]})
        if target is None or not target.is_active or target.district_id != actor.district_id \
                or target.role != source.role or target.id == source.id:
            raise InvalidInput("This user cannot take the tasks.",
                               fields={"to_user": [f"Choose another active {source.role} of your district."]})
        case_ids = sorted(set(session.scalars(select(Task.case_id).where(Task.assignee_id == source.id,
                                                                         Task.state == "open"))))
        for case_id in case_ids:  # in id order: two hand-overs at once never wait on each other in a circle
            lock_case(session, case_id)
        moved = session.scalars(select(Task).where(Task.assignee_id == source.id, Task.state == "open")
                                .order_by(Task.created_at, Task.id).execution_options(populate_existing=True)).all()
        for task in moved:
            task.assignee_id = target.id
            record(session, now, "task.assigned", actor_id=actor.id, case_id=task.case_id, task_id=task.id,
                   from_user_id=source.id, to_user_id=target.id, reason=data["reason"], bulk=True)
        cases_moved = []
        if data["include_cases"]:
            for case in session.scalars(select(Case).where(Case.owner_id == source.id, Case.status == "open")
                                        .order_by(Case.id).with_for_update(key_share=True)):
                case.owner_id = target.id
                cases_moved.append(case.id)
                record(session, now, "case.owner_changed", actor_id=actor.id, case_id=case.id,
                       from_user_id=source.id, to_user_id=target.id, reason=data["reason"])
        from .notifications import notify
        notify(engine, session, [target.id] if moved else [], "tasks.handed_over", count=len(moved),
               source=source.full_name)
        return {"moved_tasks": [t.id for t in moved], "moved_cases": cases_moved,
                "from_user": {"id": source.id, "full_name": source.full_name},
                "to_user": {"id": target.id, "full_name": target.full_name}}
