"""Try a draft before publishing it: scenarios run in a sandbox.

A scenario is a list of steps, each the answers to one task (named by its form key or BPMN id), optionally after
some time has passed ("3 working days"), and what the case should look like at the end. It runs through the real
services — forms validation, gateways, decision tables, deadlines, reminders, escalation ladders and BPMN timers —
on a throw-away in-memory database holding the demo organisation and a synthetic client, with a clock that moves
only when the scenario says so. Nothing of the sandbox outlives the run, and no real case or person is read: the
methodologist sees the path taken, the deadlines computed and the escalations that would fire.

Scenarios are saved with the draft and run again on every save and check; publishing needs every one to pass.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from forms import FormValidationError
from forms.sample import sample_answers

from ..clock import FakeClock, utc
from ..db.models import AuditEvent, Base, CalendarDay, Case, OrgUnit, Task, Timer, User
from ..deadlines.calendar import JURISDICTIONS, WorkingCalendar
from ..deadlines.rules import RuleError, parse_duration
from ..errors import DefinitionInvalid, EngineError, InvalidInput, ScriptFailed
from ..i18n import N_, tell
from ..settings import Settings
from . import cases, definitions, tasks
from .actors import Actor
from .deadlines import add_duration, calendar_for
from .demo import answerer_id, load_org_and_users
from .demo_answers import SAMPLE_ANSWERS
from .inputs import CHANNELS, text_problem
from .scheduler import next_due, tick

MAX_SCENARIOS = 20
MAX_STEPS = 60
#: A scenario waits for the process's own timers (a monitoring interval, say) at most this long per step.
MAX_WAIT = timedelta(days=400)
#: How many steps a recorded scenario takes at most (a process that loops on sample answers stops there).
RECORD_LIMIT = 30
MAX_TIMER_PASSES = 2_000
_NAME = re.compile(r"^[^\x00-\x1f]{1,120}$")
NAME_RULE = "Name the scenario (1–120 characters)."
#: Known sample answers that walk the default process to its end (monitoring would otherwise continue for ever).
_RECORD_ANSWERS = {**SAMPLE_ANSWERS, "monitoring_visit": {**SAMPLE_ANSWERS["monitoring_visit"], "outcome": "close"}}
_SUBJECT = {"kind": "person", "full_name": "Sandbox Client", "birth_date": "1950-01-01", "sex": "female"}
_UNUSABLE_PASSWORD = "!sandbox"  # not a hash: nobody signs in to a sandbox


# --- the scenario as the methodologist writes it --------------------------------------------------------------

def normalise(payload) -> dict:
    """A scenario checked and put in its stored shape, or ``InvalidInput`` naming each wrong part."""
    payload = payload if isinstance(payload, dict) else {}
    problems: dict[str, list[str]] = {}
    name = " ".join(str(payload.get("name") or "").split())
    if not _good_name(name):
        problems["name"] = [NAME_RULE]
    start = payload.get("start") if isinstance(payload.get("start"), dict) else {}
    start_date = start.get("date")
    if start_date not in (None, ""):
        try:
            start_date = date.fromisoformat(str(start_date)).isoformat()
        except ValueError:
            problems["start.date"] = ["Write the start date as YYYY-MM-DD."]
    else:
        start_date = None
    channel = start.get("channel") or "mahalla"
    if channel not in CHANNELS:
        problems["start.channel"] = [f"Use one of: {', '.join(CHANNELS)}."]
    calendar = start.get("calendar") or "UZ"
    if calendar not in JURISDICTIONS:
        problems["start.calendar"] = [f"Use one of: {', '.join(sorted(JURISDICTIONS))}."]
    steps = _steps(payload.get("steps"), problems)
    expect = payload.get("expect") if isinstance(payload.get("expect"), dict) else {}
    status = expect.get("status") or None
    if status not in (None, "open", "closed"):
        problems["expect.status"] = ["Expect the case to be open or closed at the end."]
    stage = expect.get("stage") or None
    if stage is not None and (not isinstance(stage, str) or len(stage) > 64 or text_problem(stage)):
        problems["expect.stage"] = ["Name a stage of the process."]
    if problems:
        raise InvalidInput("The scenario is not valid.", fields=problems)
    return {"name": name, "start": {"date": start_date, "channel": channel, "calendar": calendar},
            "steps": steps, "expect": {"status": status, "stage": stage}}


def check_name(name: str) -> None:
    if not _good_name(name):
        raise InvalidInput("The scenario is not valid.", fields={"name": [NAME_RULE]})


def _good_name(name: str) -> bool:
    return bool(_NAME.match(name)) and not text_problem(name)


def _steps(raw, problems) -> list[dict]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
        problems["steps"] = [f"Give 1 to {MAX_STEPS} steps, each a task and its answers."]
        return []
    steps = []
    for i, step in enumerate(raw, 1):
        step = step if isinstance(step, dict) else {}
        task, answers, after = step.get("task"), step.get("answers", {}), step.get("after") or None
        if not isinstance(task, str) or not 1 <= len(task) <= 200 or text_problem(task):
            problems[f"steps.{i}.task"] = ["Name the task by its form key or its BPMN id."]
        if not isinstance(answers, dict):
            problems[f"steps.{i}.answers"] = ["Give the answers as an object of field names and values."]
        if after is not None:
            try:
                parse_duration("after", str(after), allow_expression=False)
            except RuleError:
                problems[f"steps.{i}.after"] = ['Write how long passes before the answer, e.g. "3 working days".']
        steps.append({"task": task, "answers": answers, "after": after})
    return steps


# --- running -------------------------------------------------------------------------------------------------

class Sandbox:
    """The demo organisation and the draft published as version 1, in memory, with a clock of its own."""

    def __init__(self, files: dict[str, str], process_id: str, start: datetime, calendar: str = "UZ",
                 days: list[dict] = ()):
        from ..core import Engine  # the composition root builds a second, private engine
        self.clock = FakeClock(start)
        self.played: list[str] = []  # the ids of the tasks the steps completed, in order
        self.engine = Engine(Settings(database_url="sqlite:///:memory:", secret_key="sandbox"), clock=self.clock)
        Base.metadata.create_all(self.engine.db.engine)
        load_org_and_users(self.engine, password_hash=_UNUSABLE_PASSWORD)
        with self.engine.db.write() as session:
            for district in session.scalars(select(OrgUnit).where(OrgUnit.kind == "district")):
                district.calendar = calendar
            session.add_all(CalendarDay(created_at=start, **day) for day in days)
        self.version, _ = definitions.publish(self.engine, files, note="sandbox", process_id=process_id)

    def close(self) -> None:
        self.engine.db.dispose()

    def actor(self, user_id: int, language: str) -> Actor:
        with self.engine.db.read() as session:
            return dataclasses.replace(Actor.of(session.get(User, user_id)), language=language)

    def open_case(self, channel: str, language: str) -> int:
        """The synthetic client's case, opened by the first social worker in her first mahalla."""
        with self.engine.db.read() as session:
            worker = session.scalars(select(User).where(User.role == "social_worker").order_by(User.id)).first()
            mahalla_id = min(m.id for m in worker.mahallas)
        return cases.open_case(self.engine, self.actor(worker.id, language), {
            "subject": dict(_SUBJECT), "mahalla_id": mahalla_id, "channel": channel,
            "summary": "Synthetic scenario of the workbench."})["id"]

    def answer(self, task: Task, answers: dict, language: str) -> None:
        """Complete the task as the user who would: its assignee, or a holder of its queue's role."""
        with self.engine.db.read() as session:
            user_id = answerer_id(session, task)
        tasks.complete_task(self.engine, self.actor(user_id, language), task.id, {"data": answers})

    def next_process_timer(self, case_id: int) -> datetime | None:
        """When the process's own next timer fires (a monitoring interval, a follow-up after closure)."""
        with self.engine.db.read() as session:
            return session.scalar(select(Timer.due_at).where(Timer.case_id == case_id, Timer.kind == "bpmn",
                                                             Timer.status == "pending")
                                  .order_by(Timer.due_at).limit(1))

    def pass_time(self, until: datetime) -> None:
        """Move the clock to ``until``, firing every timer on the way at its own due instant, in order."""
        for _ in range(MAX_TIMER_PASSES):  # a timer that keeps failing stays due: never loop for ever on it
            due = next_due(self.engine)
            if due is None or due > until:
                break
            self.clock.set(max(due, self.clock.now()))
            tick(self.engine, worker="sandbox")
        if until > self.clock.now():
            self.clock.set(until)


def run(files: dict[str, str], process_id: str, scenario: dict, *, today: date, language: str = "en",
        days: list[dict] = ()) -> dict:
    """Play a (normalised) scenario on the files and say what happened, step by step."""
    start = _start_instant(scenario["start"], today)
    try:
        sandbox = Sandbox(files, process_id, start, scenario["start"]["calendar"], days)
    except DefinitionInvalid:
        return _result(None, None, _failure(N_("The draft has problems: fix them before trying it.")))
    try:
        return _play(sandbox, scenario, language)
    except EngineError as err:  # the case could not even open (a start script failed, say)
        return _result(None, None, _failure(N_("The scenario could not start: %(error)s"), error=err.message))
    finally:
        sandbox.close()


def _play(sandbox: Sandbox, scenario: dict, language: str) -> dict:
    case_id, failure = sandbox.open_case(scenario["start"]["channel"], language), None
    for number, step in enumerate(scenario["steps"], 1):
        failure = _play_step(sandbox, case_id, number, step, language)
        if failure:
            break
    if failure is None:
        failure = _unmet_expectation(sandbox, case_id, scenario["expect"])
    return _result(sandbox, case_id, failure)


def _play_step(sandbox, case_id, number, step, language) -> dict | None:
    if step["after"]:
        duration = parse_duration("after", step["after"], allow_expression=False)
        with sandbox.engine.db.read() as session:
            calendar = calendar_for(session, session.get(Case, case_id).district_id)
        sandbox.pass_time(add_duration(calendar, sandbox.clock.now(), duration.unit, duration.amount).due)
    task = _wait_for(sandbox, case_id, step["task"])
    if task is None:
        return _failure(N_('Step %(step)d: no open task "%(task)s" (open: %(open)s).'), step=number,
                        task=step["task"], open=", ".join(_open_names(sandbox, case_id)) or "—")
    try:
        sandbox.answer(task, step["answers"], language)
        sandbox.played.append(task.id)
    except InvalidInput as err:
        return _failure(N_("Step %(step)d (%(task)s): some answers are not valid: %(errors)s"), step=number,
                        task=step["task"], errors=_field_errors(err))
    except ScriptFailed as err:
        return _failure(N_("Step %(step)d (%(task)s): the process failed: %(error)s"), step=number,
                        task=step["task"], error=err.message)
    except EngineError as err:
        return _failure(N_("Step %(step)d (%(task)s): %(error)s"), step=number, task=step["task"],
                        error=err.message)
    return None


def _wait_for(sandbox, case_id, name) -> Task | None:
    """The open task the step names; while the process waits on a timer of its own (a monitoring interval),
    time passes until it fires — overdue work on the way escalates as it would."""
    limit = sandbox.clock.now() + MAX_WAIT
    while True:
        task = _open_task(sandbox, case_id, name)
        if task is not None:
            return task
        due = sandbox.next_process_timer(case_id)
        if due is None or due > limit:
            return None
        sandbox.pass_time(due)


def _open_task(sandbox, case_id, name) -> Task | None:
    with sandbox.engine.db.read() as session:
        return session.scalar(select(Task).where(
            Task.case_id == case_id, Task.state == "open", Task.kind == "process",
            (Task.form_key == name) | (Task.bpmn_id == name)).order_by(Task.created_at, Task.id).limit(1))


def _open_names(sandbox, case_id) -> list[str]:
    with sandbox.engine.db.read() as session:
        return [t.form_key or t.bpmn_id for t in session.scalars(select(Task).where(
            Task.case_id == case_id, Task.state == "open", Task.kind == "process").order_by(Task.created_at, Task.id))]


def _unmet_expectation(sandbox, case_id, expect) -> dict | None:
    with sandbox.engine.db.read() as session:
        case = session.get(Case, case_id)
        status, stage = case.status, case.stage
    if expect["status"] and status != expect["status"]:
        return _failure(N_("The case ended %(status)s; the scenario expects it %(expected)s."), status=status,
                        expected=expect["status"])
    if expect["stage"] and stage != expect["stage"]:
        return _failure(N_('The case ended at stage "%(stage)s"; the scenario expects "%(expected)s".'),
                        stage=stage or "—", expected=expect["stage"])
    return None


# --- what the methodologist sees ------------------------------------------------------------------------------

def _result(sandbox, case_id, failure) -> dict:
    result = {"passed": failure is None, "failure": failure, "path": [], "events": [], "end": None}
    if sandbox is None:
        return result
    with sandbox.engine.db.read() as session:
        rows = session.scalars(select(Task).where(Task.case_id == case_id)
                               .order_by(Task.created_at, Task.id)).all()
        titles = {t.id: t.title for t in rows}
        # in the order the steps took them; then what else opened (still open, or cancelled by the process)
        order = {task_id: i for i, task_id in enumerate(sandbox.played)}
        process = [t for t in rows if t.kind == "process"]
        process.sort(key=lambda t: (order.get(t.id, len(order)), t.created_at))
        result["path"] = [_path_entry(t) for t in process]
        result["events"] = [_event(e, titles) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id,
                                     AuditEvent.action.in_(("task.reminded", "task.escalated")))
            .order_by(AuditEvent.at, AuditEvent.id))]
        case = session.get(Case, case_id)
        result["end"] = {"status": case.status, "stage": case.stage, "at": case.updated_at.isoformat(),
                         "open": [t.form_key or t.bpmn_id for t in rows if t.state == "open"]}
    return result


def _path_entry(task: Task) -> dict:
    deadline = task.deadline or {}
    late = (task.due_at is not None and task.completed_at > task.due_at) if task.state == "completed" else None
    return {"task": task.bpmn_id, "title": task.title, "form_key": task.form_key, "stage": task.stage,
            "role": task.role, "state": task.state, "opened_at": task.created_at.isoformat(),
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "deadline": {"unit": deadline["unit"], "amount": deadline["amount"]} if deadline else None,
            "completed_at": task.completed_at.isoformat() if task.completed_at else None, "late": late}


def _event(event: AuditEvent, titles: dict) -> dict:
    details = event.details or {}
    kind = "escalation" if event.action == "task.escalated" else "reminder"
    return {"kind": kind, "at": event.at.isoformat(), "task": titles.get(event.task_id, event.task_id),
            "role": details.get("role"), "rung": details.get("rung"),
            "late_working_days": details.get("late_working_days")}


def not_run() -> dict:
    """The result of a scenario that could not run because the draft has problems."""
    return _result(None, None, _failure(N_("The draft has problems: fix them before trying it.")))


def failure_text(failure: dict | None, language: str) -> str | None:
    """A stored failure told in the reader's language."""
    if not failure:
        return None
    return tell(language, failure["message"], failure.get("params"))


def _failure(message: str, **params) -> dict:
    return {"message": message, "params": params}


def _field_errors(err: InvalidInput) -> str:
    def flat(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from flat(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            yield f"{prefix}: {' '.join(value)}"
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                yield from flat(f"{prefix}[{i}]", inner)
        else:
            yield f"{prefix}: {value}"
    return "; ".join(flat("", err.fields or {})) or err.message


# --- recording a scenario from sample answers ----------------------------------------------------------------

def record(files: dict[str, str], process_id: str, name: str, *, today: date, language: str = "en",
           days: list[dict] = ()) -> dict:
    """A scenario written by walking the draft with sample answers: the known ones of the default process, else
    synthetic answers made from each form. It stops when the case closes, when a task has no form it can
    answer, or after ``RECORD_LIMIT`` steps; the methodologist then edits answers and adds expectations."""
    start = {"date": None, "channel": "mahalla", "calendar": "UZ"}
    sandbox = Sandbox(files, process_id, _start_instant(start, today), days=days)
    try:
        try:
            case_id = sandbox.open_case(start["channel"], language)
        except EngineError as err:
            raise InvalidInput("The scenario is not valid.",
                               fields={"steps": [f"The case could not start: {err.message}"]}) from None
        steps = []
        while len(steps) < RECORD_LIMIT:
            task = _next_to_answer(sandbox, case_id)
            if task is None:
                break
            answers = _sample_for(sandbox, task, today)
            try:
                sandbox.answer(task, answers, language)
            except EngineError:
                break
            steps.append({"task": task.form_key or task.bpmn_id, "answers": answers, "after": None})
        with sandbox.engine.db.read() as session:
            case = session.get(Case, case_id)
            expect = {"status": case.status, "stage": case.stage}
    finally:
        sandbox.close()
    if not steps:
        raise InvalidInput("The scenario is not valid.",
                           fields={"steps": ["The draft opens no task that sample answers can complete."]})
    return {"name": name, "start": start, "steps": steps, "expect": expect}


def _next_to_answer(sandbox, case_id) -> Task | None:
    names = _open_names(sandbox, case_id)
    if names:
        return _open_task(sandbox, case_id, names[0])
    due = sandbox.next_process_timer(case_id)
    if due is None or due > sandbox.clock.now() + MAX_WAIT:
        return None
    sandbox.pass_time(due)
    names = _open_names(sandbox, case_id)
    return _open_task(sandbox, case_id, names[0]) if names else None


def _sample_for(sandbox, task: Task, today: date) -> dict:
    if not task.form_key:
        return {}
    form = sandbox.engine.forms_of(sandbox.version).get(task.form_key)
    if form is None:
        return {}
    known = _RECORD_ANSWERS.get(task.form_key)
    if known is not None:
        try:
            form.validate(dict(known))
            return dict(known)
        except FormValidationError:  # the methodologist changed the form: answers made from it instead
            pass
    return sample_answers(form, today)


# --- the sandbox's world ---------------------------------------------------------------------------------------

def _start_instant(start: dict, today: date) -> datetime:
    """09:00 in the calendar's time zone on the start date, or on the Monday after ``today``."""
    day = date.fromisoformat(start["date"]) if start.get("date") else today + timedelta(days=7 - today.weekday())
    return utc(datetime.combine(day, time(9, 0), tzinfo=WorkingCalendar.zone(start.get("calendar") or "UZ")))


def national_days(session) -> list[dict]:
    """The administrators' jurisdiction-wide calendar overrides (moved holidays, extra days off), which the
    sandbox's calendars must know to compute the same deadlines as the real ones."""
    return [{"calendar": d.calendar, "date": d.date, "kind": d.kind, "name": d.name}
            for d in session.scalars(select(CalendarDay).where(CalendarDay.org_unit_id.is_(None)))]
