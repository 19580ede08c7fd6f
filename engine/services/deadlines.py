"""Deadlines of tasks: computed when a task opens, kept on the task with how they were reached, turned into
durable timers (reminders, escalation rungs), moved by holds and extensions, cancelled when the task ends.

``Task.deadline`` is the record behind the explanation users read::

    {"unit": "working_days", "amount": 5, "expression": null, "source": "...", "calendar": "UZ",
     "start": iso, "computed_due": iso, "skipped": [{"date", "reason", "name"}], "rolled_from": null,
     "reminders": [80], "ladder": [{"role": "supervisor", "after": null}, ...], "generation": 0,
     "changes": [{"kind": "hold" | "extension", "due_before", "due_after", ...}]}
"""
from __future__ import annotations

import time
import weakref
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..db.models import CalendarDay, Case, OrgUnit, Task, Timer
from ..deadlines.calendar import DayOverride, WorkingCalendar
from ..deadlines.rules import DeadlineRule, Duration, RuleError, parse_rule
from ..errors import Conflict, InvalidInput, ScriptFailed
from ..process.definitions import ESCALATION_ROLES
from ..process.scripting import evaluate_expression

DEFAULT_CALENDAR = "UZ"
LIVE_TIMER = ("pending", "claimed")


# --- calendars --------------------------------------------------------------------------------------------

def calendar_code(session, org_unit_id: int) -> str:
    """The jurisdiction of a district (or of the region above it)."""
    unit = session.get(OrgUnit, org_unit_id)
    while unit is not None:
        if unit.calendar:
            return unit.calendar
        unit = unit.parent
    return DEFAULT_CALENDAR


#: Calendars per database and district, kept a short while: firing 10,000 timers must not read the org tree
#: and the overrides 10,000 times. This process forgets them at once when an override changes; other
#: processes see the change within ``CALENDAR_TTL_SECONDS``.
CALENDAR_TTL_SECONDS = 60.0
_calendar_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def calendar_for(session, district_id: int) -> WorkingCalendar:
    """The district's working calendar: its jurisdiction's, with the overrides for the whole jurisdiction and
    for the district's own region or district (regional differences)."""
    per_database = _calendar_cache.setdefault(session.get_bind().engine, {})
    cached = per_database.get(district_id)
    if cached and time.monotonic() - cached[1] < CALENDAR_TTL_SECONDS:
        return cached[0]
    calendar = _read_calendar(session, district_id)
    per_database[district_id] = (calendar, time.monotonic())
    return calendar


def forget_calendars(session) -> None:
    _calendar_cache.pop(session.get_bind().engine, None)


def _read_calendar(session, district_id: int) -> WorkingCalendar:
    code = calendar_code(session, district_id)
    return WorkingCalendar(code, effective_overrides(session, code, district_id))


def effective_overrides(session, code: str, unit_id: int | None) -> list[DayOverride]:
    """The overrides that apply to an org unit: the jurisdiction's, then its region's, then its own; for one
    date the most specific wins (regional differences)."""
    chain = _chain(session, unit_id) if unit_id is not None else []  # the unit's ancestors, top first
    depth = {unit: n for n, unit in enumerate(chain, start=1)}
    rows = [r for r in session.scalars(select(CalendarDay).where(CalendarDay.calendar == code))
            if r.org_unit_id is None or r.org_unit_id in depth]
    rows.sort(key=lambda r: depth.get(r.org_unit_id, 0))
    return list({r.date: DayOverride(r.date, r.kind, r.name) for r in rows}.values())


def _chain(session, unit_id) -> list[int]:
    chain, unit = [], session.get(OrgUnit, unit_id)
    while unit is not None:
        chain.append(unit.id)
        unit = unit.parent
    return list(reversed(chain))


# --- computing ------------------------------------------------------------------------------------------

def add_duration(calendar: WorkingCalendar, start: datetime, unit: str, amount: float):
    if unit == "working_days":
        return calendar.add_working_days(start, int(amount))
    if unit == "working_hours":
        return calendar.add_working_hours(start, amount)
    if unit == "calendar_days":
        return calendar.add_calendar_days(start, int(amount))
    return _plain_hours(start, amount)


def _plain_hours(start, amount):
    from ..deadlines.calendar import Deadline
    return Deadline(start=start, due=start + timedelta(hours=amount), skipped=())


def rule_of(properties: dict, task_label: str) -> DeadlineRule | None:
    try:
        return parse_rule(properties, roles=ESCALATION_ROLES)
    except RuleError as err:  # the lint refuses these; a definition published before a rule change may not
        raise ScriptFailed(f"The deadline of task '{task_label}' cannot be read ({err.prop}: {err}).") from None


def _amount(duration: Duration, data: dict, task_label: str) -> float:
    if duration.expression is None:
        return duration.amount
    try:
        value = evaluate_expression(duration.expression, data)
    except Exception as err:  # noqa: BLE001 - any failure of the methodologist's expression stops the step
        raise ScriptFailed(f"The deadline of task '{task_label}' could not be computed: "
                           f"{duration.expression} → {type(err).__name__}: {err}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value > 3660:
        raise ScriptFailed(f"The deadline of task '{task_label}' must be a number of days or hours from 0 to "
                           f"3660; {duration.expression} gave {value!r}.")
    return float(value)


def open_deadline(session, case: Case, task: Task, properties: dict, data: dict, now: datetime,
                  calendar: WorkingCalendar | None = None) -> None:
    """Give a newly opened task its due instant, its explanation record and its timers."""
    rule = rule_of(properties, task.bpmn_id)
    if rule is None:
        return
    calendar = calendar or calendar_for(session, case.district_id)
    amount = _amount(rule.duration, data, task.bpmn_id)
    deadline = add_duration(calendar, now, rule.duration.unit, amount)
    task.due_at = deadline.due
    task.deadline = {
        "unit": rule.duration.unit, "amount": amount, "expression": rule.duration.expression,
        "source": rule.source, "calendar": calendar.code, "start": now.isoformat(),
        "computed_due": deadline.due.isoformat(),
        "skipped": [{"date": d.date.isoformat(), "reason": d.reason, "name": d.name} for d in deadline.skipped],
        "rolled_from": deadline.rolled_from.isoformat() if deadline.rolled_from else None,
        "reminders": list(rule.reminders),
        "ladder": [{"role": r.role, "after": r.after.as_dict() if r.after else None} for r in rule.ladder],
        "generation": 0, "changes": [],
    }
    if case.held_since is None:  # a task opened while the case is on hold gets its timers when it resumes
        schedule_timers(session, task, calendar, now)


def schedule_timers(session, task: Task, calendar: WorkingCalendar, now: datetime, first_rung: int = 1) -> None:
    """Timers for the task's current deadline generation: reminders still ahead, and rungs from ``first_rung``."""
    record_, due = task.deadline, task.due_at
    generation = record_["generation"]
    start = datetime.fromisoformat(record_["start"])
    for percent in record_.get("reminders", []):
        at = _fraction_point(calendar, record_["unit"], start, due, percent)
        if at > now:
            _add_timer(session, f"task:{task.id}:g{generation}:reminder:{percent}", "reminder", task, at, now)
    for number, rung in enumerate(record_.get("ladder", []), start=1):
        if number < first_rung:
            continue
        after = rung["after"]
        at = add_duration(calendar, due, after["unit"], after["amount"]).due if after else due
        _add_timer(session, f"task:{task.id}:g{generation}:rung:{number}", "escalation", task, at, now,
                   rung=number, target_role=rung["role"])


def _fraction_point(calendar, unit, start, due, percent) -> datetime:
    """The instant ``percent`` of the allowed time after the start (working time for working units)."""
    if unit.startswith("working"):
        span = calendar.working_seconds_between(start, due)
        return calendar.add_working_seconds(start, span * percent / 100).due
    return start + (due - start) * percent / 100


def _add_timer(session, key, kind, task, at, now, rung=None, target_role=None):
    session.add(Timer(key=key, kind=kind, case_id=task.case_id, task_id=task.id, rung=rung,
                      target_role=target_role, due_at=at, status="pending", created_at=now))


def cancel_task_timers(session, task_id: str, now: datetime, why: str) -> int:
    """Pending (and claimed, not yet fired) timers of a task stop: a claimed one can then no longer fire,
    because firing requires the claim to be intact."""
    return session.execute(update(Timer).where(Timer.task_id == task_id, Timer.status.in_(LIVE_TIMER))
                           .values(status="cancelled", outcome=why[:200], lease_until=None)
                           .execution_options(synchronize_session=False)).rowcount


# --- moving a deadline -------------------------------------------------------------------------------------

def move_deadline(session, task: Task, calendar, now, new_due: datetime, change: dict, *, restart_ladder: bool):
    """Set a new due instant, record why, and replace the task's live timers with a new generation."""
    if not task.deadline:
        task.deadline = {"unit": "working_days", "amount": 0, "expression": None, "source": "",
                         "calendar": calendar.code, "start": now.isoformat(),
                         "computed_due": (task.due_at or new_due).isoformat(), "skipped": [], "rolled_from": None,
                         "reminders": [], "ladder": [], "generation": 0, "changes": []}
    record_ = dict(task.deadline)
    change = dict(change, due_before=task.due_at.isoformat() if task.due_at else None,
                  due_after=new_due.isoformat())
    record_["changes"] = list(record_.get("changes", [])) + [change]
    record_["generation"] = record_.get("generation", 0) + 1
    task.deadline, task.due_at = record_, new_due
    cancel_task_timers(session, task.id, now, f"deadline moved ({change['kind']})")
    if restart_ladder:
        task.escalation_level = 0
    if session.get(Case, task.case_id).held_since is None:  # no clock runs while the case is on hold
        schedule_timers(session, task, calendar, now, first_rung=task.escalation_level + 1)


def held_extension(calendar, unit, due, held_from, held_to) -> datetime:
    """Resuming extends a deadline by the time held: working time for working-day rules, clock time else (a
    calendar-day deadline still ends on a working day)."""
    if unit.startswith("working"):
        return calendar.add_working_seconds(due, calendar.working_seconds_between(held_from, held_to)).due
    moved = due + (held_to - held_from)
    if unit == "calendar_days":
        day = calendar.local_date(moved)
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        if day != calendar.local_date(moved):
            moved = calendar.end_of_day(day)
    return moved


def clock_stopped_since(task: Task, held_since: datetime) -> datetime:
    """From when a task's clock was stopped by a hold: not before the task existed, nor before its deadline was
    last set (an extension granted during the hold starts from then)."""
    since = max(held_since, task.created_at)
    for change in (task.deadline or {}).get("changes", []):
        changed_at = change.get("at") or change.get("held_to")
        if changed_at:
            since = max(since, datetime.fromisoformat(changed_at))
    return since


def extension_due(calendar, task: Task, payload: dict, now) -> datetime:
    if payload.get("until") is not None:
        if not calendar.is_working_day(payload["until"]):
            raise InvalidInput("A deadline ends on a working day.",
                               fields={"until": ["This date is not a working day; choose a working day."]})
        until = calendar.end_of_day(payload["until"])
        if until <= now:
            raise InvalidInput("The new deadline must be in the future.",
                               fields={"until": ["Choose a date after today."]})
        if task.due_at and until <= task.due_at:
            raise InvalidInput("An extension moves the deadline later.",
                               fields={"until": ["Choose a date after the current deadline."]})
        return until
    base = task.due_at if task.due_at and task.due_at > now else now  # an overdue task gets time from today
    return calendar.add_working_days(base, payload["working_days"]).due


def ensure_open(task: Task):
    if task.state != "open":
        raise Conflict("This task is no longer open.")


class Calendars:
    """Working calendars of the districts met while serving one request, each read once."""

    def __init__(self, session):
        self.session, self._by_district = session, {}

    def __call__(self, district_id: int) -> WorkingCalendar:
        if district_id not in self._by_district:
            self._by_district[district_id] = calendar_for(self.session, district_id)
        return self._by_district[district_id]
