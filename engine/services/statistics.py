"""Process statistics for methodologists: how long each stage and each task takes, where cases wait, which
tasks go overdue most — the evidence for changing a process. No personal data at all.

Who sees what: methodologists and administrators the whole country, narrowed to a region or district if they
ask; supervisors and centre heads their own district. Social workers and specialists are refused.

The period is ``date_from`` .. ``date_until``, both days included, taken in ``time_zone`` (Asia/Tashkent unless
told): from the first day's local midnight to the midnight after the last day, as UTC instants. Without dates,
the last 90 days up to today. Durations are counted in working days of each district's own calendar (its
jurisdiction's zone, weekly pattern, holidays and overrides), as deadlines are: the working days ``d`` with
``opening day < d <= completion day``, local days in the calendar's zone (``working_days_between``).

Figures and where they come from (process tasks only, never escalation or consent tasks):

* ``stages`` — stages a case finished in the period (its process tasks of the stage all ended, the last one
  completed in the period): how many, and the median and 90th percentile of working days from the stage's
  first task opening to its last one completing (the same spans as the monthly report).
* ``tasks`` — per task of the process (stage, BPMN id, form key, title): tasks completed in the period, the
  median and 90th percentile of working days from opening to completion, how many had a deadline and how many
  of those were completed after it (``completed_at > due_at``), with that share.
* ``most_overdue`` — the tasks of ``tasks`` ranked by their late share (then by late count), at most ten.
* ``waiting`` — now, whatever the period: open tasks per stage and per task, with the median and the oldest age
  in working days and how many are past their due instant on a case that is not on hold; and cases on hold
  per stage.
* ``escalations`` — escalation tasks raised in the period, per task they are about, ranked.

``version`` narrows every figure to the cases that run on one published process version now (a migrated case
counts under the version it was moved to), so a methodologist compares a process before and after a change.

How it is computed. Counts, shares and the ranking are SQL aggregates (GROUP BY task or stage). Working days
need the calendars, which the database does not have, so durations come from the database already grouped
per (calendar, task, local opening day, local completion day) with a count — the local days computed in SQL
(``AT TIME ZONE`` on PostgreSQL; on SQLite the zone's UTC offsets over time, read from ``zoneinfo``, as a CASE on
the instant). Python turns each such row into working days (a running count of working days per calendar, so
each row costs a lookup) and adds its count to a histogram per task and per stage. No case is loaded, and the
rows number at most the distinct (district, task, day, day) combinations, far fewer than the tasks.

Percentiles use the nearest-rank method on these exact histograms: the p-th percentile is the smallest
duration such that at least p % of the tasks took no longer (rank ``ceil(p × n)``). Working days are whole
numbers, so the histogram loses nothing; a median of an even count is the lower of the two middle values.

Small cells are suppressed so that no individual can be singled out: a row resting on fewer than
``MIN_CASES`` (5) different cases shows no figures (``suppressed: true``, every figure null), and a count
inside a shown row (late tasks, overdue tasks) that rests on 1 to 4 cases is null too; either way the field
is named in ``suppressed_fields`` and pages show "<5". Where a shown figure is the sum of shown rows (a stage's
open tasks are its tasks' open tasks; cases on hold in all are those of each stage), one suppressed row could
be recovered by subtraction, so the smallest other row's figure is hidden with it (complementary suppression,
named in ``complementary_fields`` as well: it may be 5 or more; pages show "·"). No
answer holds names, case or task ids, workers or anything about a client: only codes of the process, titles
of its tasks, org units and numbers.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import Date, and_, cast, func, literal, select, text, true, tuple_
from sqlalchemy import case as when
from sqlalchemy.orm import aliased

from ..db.models import CalendarDay, Case, DefinitionVersion, OrgUnit, Task
from ..deadlines.calendar import WorkingCalendar
from ..errors import InvalidInput
from ..i18n import N_
from .actors import Actor
from .deadlines import Calendars, calendar_code
from .definitions import latest

NATIONAL = ("methodologist", "admin")
DISTRICT = ("supervisor", "center_head")
DEFAULT_TIME_ZONE = "Asia/Tashkent"
DEFAULT_DAYS = 90
MAX_DAYS = 3660
MIN_YEAR, MAX_YEAR = 2000, 2100
MIN_CASES = 5
TOP = 10
UNKNOWN = "unknown"  # a task without a stage


def process_statistics(engine, actor: Actor, *, date_from=None, date_until=None, unit_id=None, version=None,
                       time_zone=DEFAULT_TIME_ZONE) -> dict:
    actor.require(*NATIONAL, *DISTRICT, action="see process statistics")
    now = engine.now()
    zone, date_from, date_until = _check(date_from, date_until, unit_id, version, time_zone, now)
    start = datetime.combine(date_from, datetime.min.time(), tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(date_until + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(timezone.utc)
    with engine.db.read() as session:
        if session.get_bind().dialect.name == "postgresql":
            # as for the monthly reports: compiling these aggregates costs more than it saves
            session.execute(text("SET LOCAL jit = off"))
        scope = _Scope(session, actor, unit_id, version)
        shown_version = scope.version or latest(session)
        titles = engine.title_translator(shown_version, actor.language) if shown_version else (lambda t: t)
        order = list(shown_version.stages) if shown_version else []
        days = _WorkingDays(Calendars(session), now)
        stages = _stages(session, scope, days, start, end)
        tasks = _tasks(session, scope, days, start, end)
        waiting = _waiting(session, scope, days, now)
        on_hold = _on_hold(session, scope)
        escalations = _escalations(session, scope, start, end)
        units, versions = scope.offer(session), _versions(session)

    def stage_key(stage):
        return (order.index(stage) if stage in order else len(order), stage == UNKNOWN, stage)

    def task_key(row):
        return (stage_key(row["stage"]), row["title"] or "", row["task"])

    for row in tasks + waiting["tasks"] + escalations:
        row["title"] = titles(row["title"]) if row["title"] else row["task"]
    tasks.sort(key=task_key)
    waiting["tasks"].sort(key=task_key)
    stages.sort(key=lambda r: stage_key(r["stage"]))
    waiting["stages"].sort(key=lambda r: stage_key(r["stage"]))
    on_hold["by_stage"].sort(key=lambda r: stage_key(r["stage"]))
    most_overdue = sorted((r for r in tasks if not r["suppressed"] and r["late"]),
                          key=lambda r: (-r["late_share"], -r["late"], task_key(r)))[:TOP]
    escalations.sort(key=lambda r: (r["escalations"] is None, -(r["escalations"] or 0), task_key(r)))
    rows = stages + tasks + waiting["stages"] + waiting["tasks"] + [on_hold] + on_hold["by_stage"] + escalations
    return {"from": date_from.isoformat(), "until": date_until.isoformat(), "time_zone": zone.key,
            "start": start.isoformat(), "end": end.isoformat(), "now": now.isoformat(),
            "unit_id": unit_id, "unit": scope.unit, "version": scope.version.id if scope.version else None,
            "scope": "national" if actor.role in NATIONAL else "district",
            "min_cases": MIN_CASES, "stage_order": order,
            "stages": stages, "tasks": tasks, "most_overdue": most_overdue,
            "waiting": {"stages": waiting["stages"], "tasks": waiting["tasks"], "on_hold": on_hold},
            "escalations": escalations, "any_suppressed": any(r["suppressed_fields"] for r in rows),
            "units": units, "versions": versions}


def choices(engine, actor: Actor) -> dict:
    """What the actor may narrow the figures to (regions and districts, process versions), for a filter form."""
    actor.require(*NATIONAL, *DISTRICT, action="see process statistics")
    with engine.db.read() as session:
        return {"units": _Scope(session, actor, None, None).offer(session), "versions": _versions(session)}


def _versions(session) -> list[dict]:
    return [{"id": v.id, "process_id": v.process_id, "version": v.version, "published_at": v.published_at.isoformat()}
            for v in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.process_id,
                                                                        DefinitionVersion.version.desc()))]


# --- the request --------------------------------------------------------------------------------------------

def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _day(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime) and MIN_YEAR <= value.year <= MAX_YEAR


@lru_cache(maxsize=1)
def _zone_names() -> frozenset:
    return frozenset(available_timezones())


def _check(date_from, date_until, unit_id, version, time_zone, now):
    problems = {}
    # only a name of the zone database: ZoneInfo() itself would open "Asia" (a directory) or "zone.tab"
    zone = ZoneInfo(time_zone) if isinstance(time_zone, str) and time_zone in _zone_names() else None
    if zone is None:
        problems["time_zone"] = [N_("Give a time zone such as Asia/Tashkent.")]
    for name, value in (("from", date_from), ("until", date_until)):
        if value is not None and not _day(value):
            problems[name] = [N_("Give a date from 2000 to 2100 as YYYY-MM-DD.")]
    for name, value in (("unit_id", unit_id), ("version", version)):
        if value is not None and not (_whole(value) and 0 < value < 2 ** 31):
            problems[name] = [N_("Must be a whole number.")]
    if not problems:
        if date_until is None:
            date_until = max(now.astimezone(zone).date(), date_from or date.min)
        if date_from is None:
            date_from = date_until - timedelta(days=DEFAULT_DAYS - 1)
        if date_until < date_from:
            problems["until"] = [N_("The period ends before it starts.")]
        elif (date_until - date_from).days >= MAX_DAYS:
            problems["until"] = [N_("Choose a period of at most ten years.")]
    if problems:
        raise InvalidInput(N_("The statistics request is not valid."), fields=problems)
    return zone, date_from, date_until


# --- who sees what --------------------------------------------------------------------------------------------

class _Scope:
    """The districts (and the process version) of the figures: the nation's or one district's, narrowed to a
    region or district when asked; each district with the time zone of its calendar."""

    def __init__(self, session, actor: Actor, unit_id, version):
        self.actor, self.unit, self.version = actor, None, None
        # regions and districts, read once: calendar_code() then walks them in the session's identity map
        self.org = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.kind != "mahalla"))}
        allowed = None if actor.role in NATIONAL else [actor.district_id]
        self.districts = allowed  # None: every district
        if unit_id is not None:
            unit = self.org.get(unit_id)
            if unit is None:
                wanted = None
            elif unit.kind == "region":
                wanted = [d.id for d in self.org.values() if d.parent_id == unit.id and d.kind == "district"]
            else:
                wanted = [unit.id]
            if wanted is not None and allowed is not None:
                wanted = [d for d in wanted if d in allowed] or None
            if wanted is None:
                raise InvalidInput(N_("The statistics request is not valid."),
                                   fields={"unit_id": [N_("Choose a region or district that you may see.")]})
            self.districts = wanted
            self.unit = {"id": unit.id, "name": unit.name, "kind": unit.kind}
        if version is not None:
            self.version = session.get(DefinitionVersion, version)
            if self.version is None:
                raise InvalidInput(N_("The statistics request is not valid."),
                                   fields={"version": [N_("There is no such process version.")]})
        every = self.districts if self.districts is not None else \
            [u.id for u in self.org.values() if u.kind == "district"]
        self.zones = defaultdict(list)  # time zone -> districts
        for district in every:
            self.zones[WorkingCalendar.zone(calendar_code(session, district)).key].append(district)
        # Districts whose calendar has overrides of their own (or their region's) keep their own calendar; all
        # others of a jurisdiction share one (its weekly pattern, holidays and jurisdiction-wide overrides), so
        # their rows are grouped together: one zone is one jurisdiction (engine/deadlines/calendar.py).
        marked = set(session.scalars(select(CalendarDay.org_unit_id).where(CalendarDay.org_unit_id.is_not(None))
                                     .distinct()))
        self.own_calendar = {d for d in every if d in marked or self.org[d].parent_id in marked}

    def calendar_group(self, key, column):
        """A district standing for the calendar of each row's district: its own, or the shared one of its zone."""
        shared = [d for d in self.zones[key] if d not in self.own_calendar]
        if not shared:
            return column
        own = [d for d in self.zones[key] if d in self.own_calendar]
        return when((column.in_(own), column), else_=literal(shared[0])) if own else literal(shared[0])

    def tasks(self, table=Task):
        clauses = []
        if self.districts is not None:
            clauses.append(table.district_id.in_(self.districts))
        if self.version is not None:
            clauses.append(table.case_id.in_(select(Case.id).where(Case.definition_version_id == self.version.id)))
        return and_(true(), *clauses)

    def cases(self):
        clauses = []
        if self.districts is not None:
            clauses.append(Case.district_id.in_(self.districts))
        if self.version is not None:
            clauses.append(Case.definition_version_id == self.version.id)
        return and_(true(), *clauses)

    def in_zone(self, key, column):
        """Rows of the districts whose calendar keeps time in ``key`` (no clause when that is all of them)."""
        if len(self.zones) == 1:
            return true()
        return column.in_(self.zones[key])

    def offer(self, session) -> list[dict]:
        """The regions and districts the actor may narrow the figures to (for the filter)."""
        units = [u for u in self.org.values() if u.kind in ("region", "district")]
        if self.actor.role not in NATIONAL:
            units = [u for u in units if u.id == self.actor.district_id]
        return [{"id": u.id, "name": u.name, "kind": u.kind, "parent_id": u.parent_id}
                for u in sorted(units, key=lambda u: (u.parent_id or 0 if u.kind == "district" else u.id,
                                                      u.kind != "region", u.name))]


# --- days -----------------------------------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _offsets(key: str) -> tuple[tuple[datetime | None, int], ...]:
    """The zone's UTC offsets (minutes) from 2000 to 2100, as (until this instant, offset) pieces, the last open."""
    zone = ZoneInfo(key)

    def offset(instant):
        return int(instant.astimezone(zone).utcoffset().total_seconds() // 60)

    pieces, day = [], datetime(MIN_YEAR, 1, 1, tzinfo=timezone.utc)
    current, stop = offset(day), datetime(MAX_YEAR + 1, 1, 1, tzinfo=timezone.utc)
    while day < stop:
        following = day + timedelta(days=1)
        if offset(following) != current:
            low, high = day, following  # the change lies in (low, high]: find its second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            pieces.append((high, current))
            current = offset(following)
        day = following
    pieces.append((None, current))
    return tuple(pieces)


def _local_day(session, column, key: str):
    """The local calendar day, in zone ``key``, of a UTC instant column, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(key, column), Date)
    pieces = _offsets(key)

    def shifted(minutes):
        return func.date(column, f"{minutes:+d} minutes")
    if len(pieces) == 1:
        return shifted(pieces[0][1])
    return when(*[(column < until, shifted(minutes)) for until, minutes in pieces[:-1]],
                else_=shifted(pieces[-1][1]))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class _WorkingDays:
    """Working days between local days in a district's calendar, by a running count of working days per
    district: ``count(b) - count(a)`` is the number of working days d with a < d <= b."""

    def __init__(self, calendars: Calendars, now: datetime):
        self.calendars, self.now = calendars, now
        self._counts: dict[int, dict] = {}  # district -> {day: working days up to it, from a first day}
        self._ends: dict[int, list] = {}  # district -> [first day, last day] counted

    def between(self, district: int, first, last) -> int:
        return self._count(district, _as_date(last)) - self._count(district, _as_date(first))

    def age(self, district: int, opened) -> int:
        return max(0, self.between(district, opened, self.calendars(district).local_date(self.now)))

    def _count(self, district: int, day: date) -> int:
        counts = self._counts.get(district)
        if counts is None:
            counts, self._ends[district] = self._counts.setdefault(district, {day: 0}), [day, day]
        found = counts.get(day)
        if found is not None:
            return found
        calendar, ends = self.calendars(district), self._ends[district]
        one = timedelta(days=1)
        while ends[1] < day:
            following = ends[1] + one
            counts[following] = counts[ends[1]] + calendar.is_working_day(following)
            ends[1] = following
        while ends[0] > day:
            before = ends[0] - one
            counts[before] = counts[ends[0]] - calendar.is_working_day(ends[0])
            ends[0] = before
        return counts[day]


def _percentile(histogram: Counter, share: float):
    """Nearest rank: the smallest value with at least ``share`` of the counts at or below it."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(share * total), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None


# --- suppression ----------------------------------------------------------------------------------------------

def _row(cases: int, figures: dict, small: dict | None = None) -> dict:
    """A row of figures resting on ``cases`` cases: none shown when they are fewer than MIN_CASES; a count in
    ``small`` (field -> the cases under it) hidden when it rests on 1 to 4 of them."""
    if cases < MIN_CASES:
        return {**{k: None for k in figures}, "suppressed": True, "suppressed_fields": sorted(figures),
                "complementary_fields": []}
    hidden = sorted(k for k, n in (small or {}).items() if 0 < n < MIN_CASES)
    row = {k: (None if k in hidden else v) for k, v in figures.items()}
    return {**row, "suppressed": False, "suppressed_fields": hidden, "complementary_fields": []}


def _hide(row: dict, *fields, complementary=False):
    for field in fields:
        row[field] = None
        if field not in row["suppressed_fields"]:
            row["suppressed_fields"] = sorted(row["suppressed_fields"] + [field])
            if complementary:
                row["complementary_fields"] = sorted(row["complementary_fields"] + [field])


def _complement(rows: list[dict], field: str, totals: dict):
    """When the rows' ``field`` adds up to a figure that is shown, one hidden row would come out by subtraction:
    hide the smallest shown one too. ``totals`` holds every row's true value (by id)."""
    hidden = [r for r in rows if field in r["suppressed_fields"]]
    shown = [r for r in rows if field not in r["suppressed_fields"]]
    if len(hidden) == 1 and shown:
        _hide(min(shown, key=lambda r: (totals[id(r)], r.get("task") or r.get("stage"))), field, complementary=True)


# --- the figures ----------------------------------------------------------------------------------------------

def _in(column, start, end):
    return and_(column >= start, column < end)


def _completed(scope, start, end):
    return and_(scope.tasks(), Task.kind == "process", Task.state == "completed", _in(Task.completed_at, start, end))


def _stage(value):
    return value or UNKNOWN


def _stages(session, scope, days, start, end) -> list[dict]:
    """Stages finished in the period, with the working days each took (per case, first opening to last
    completion)."""
    finished = aliased(Task, name="finished")
    # only a (case, stage) with a task completed in the period can have finished in it (the completed_at index)
    touched = select(finished.case_id, finished.stage).where(
        scope.tasks(finished), finished.kind == "process", finished.stage.is_not(None), finished.state == "completed",
        _in(finished.completed_at, start, end))
    still_open = func.sum(when((Task.state == "open", 1), else_=0))
    histograms = defaultdict(Counter)
    for key in scope.zones:
        first, last = func.min(Task.created_at).label("first"), func.max(Task.completed_at).label("last")
        spans = (select(scope.calendar_group(key, Task.district_id).label("district"), Task.stage.label("stage"),
                        first, last)
                 .where(scope.tasks(), scope.in_zone(key, Task.district_id), Task.kind == "process",
                        Task.stage.is_not(None), Task.state != "cancelled",
                        tuple_(Task.case_id, Task.stage).in_(touched))
                 .group_by(Task.case_id, Task.stage, Task.district_id)
                 .having(and_(still_open == 0, last >= start, last < end)).subquery())
        local = select(spans.c.district, spans.c.stage, _local_day(session, spans.c.first, key).label("a"),
                       _local_day(session, spans.c.last, key).label("b")).subquery()
        query = select(local.c.district, local.c.stage, local.c.a, local.c.b, func.count()).group_by(
            local.c.district, local.c.stage, local.c.a, local.c.b)
        for district, stage, a, b, n in session.execute(query):
            histograms[stage][days.between(district, a, b)] += n
    rows = []
    for stage, histogram in histograms.items():
        n = sum(histogram.values())  # one span per case
        rows.append({"stage": stage, **_row(n, {"cases": n, "median_days": _percentile(histogram, .5),
                                                "p90_days": _percentile(histogram, .9)})})
    return rows


def _tasks(session, scope, days, start, end) -> list[dict]:
    late = and_(Task.due_at.is_not(None), Task.completed_at > Task.due_at)
    query = (select(Task.stage, Task.bpmn_id, func.max(Task.form_key), func.max(Task.title), func.count(),
                    func.count(func.distinct(Task.case_id)), func.count(Task.due_at),
                    func.sum(when((late, 1), else_=0)), func.count(func.distinct(when((late, Task.case_id)))))
             .where(_completed(scope, start, end)).group_by(Task.stage, Task.bpmn_id))
    counts = {(s, b): rest for s, b, *rest in session.execute(query)}
    histograms = defaultdict(Counter)
    for key in scope.zones:
        local = select(scope.calendar_group(key, Task.district_id).label("district"), Task.stage.label("stage"),
                       Task.bpmn_id.label("bpmn"), _local_day(session, Task.created_at, key).label("a"),
                       _local_day(session, Task.completed_at, key).label("b")).where(
            _completed(scope, start, end), scope.in_zone(key, Task.district_id)).subquery()
        query = select(local.c.district, local.c.stage, local.c.bpmn, local.c.a, local.c.b, func.count()).group_by(
            local.c.district, local.c.stage, local.c.bpmn, local.c.a, local.c.b)
        for district, stage, bpmn, a, b, n in session.execute(query):
            histograms[(stage, bpmn)][days.between(district, a, b)] += n
    rows = []
    for (stage, bpmn), (form_key, title, n, cases, with_deadline, late_n, late_cases) in counts.items():
        histogram = histograms[(stage, bpmn)]
        figures = {"completed": n, "median_days": _percentile(histogram, .5), "p90_days": _percentile(histogram, .9),
                   "with_deadline": with_deadline, "late": int(late_n or 0),
                   "late_share": round((late_n or 0) / with_deadline, 3) if with_deadline else None}
        row = {"stage": _stage(stage), "task": bpmn, "form_key": form_key, "title": title,
               **_row(cases, figures, {"late": late_cases})}
        if "late" in row["suppressed_fields"]:
            _hide(row, "late_share")
        rows.append(row)
    return rows


def _waiting(session, scope, days, now) -> dict:
    """Open process tasks now: per task and per stage, how many, how old (working days), how many overdue."""
    overdue = and_(Task.due_at < now, Case.held_since.is_(None))
    where = and_(scope.tasks(), Task.kind == "process", Task.state == "open")
    per_task = (select(Task.stage, Task.bpmn_id, func.max(Task.form_key), func.max(Task.title), func.count(),
                       func.count(func.distinct(Task.case_id)), func.sum(when((overdue, 1), else_=0)),
                       func.count(func.distinct(when((overdue, Task.case_id)))))
                .select_from(Task).join(Case, Case.id == Task.case_id).where(where).group_by(Task.stage, Task.bpmn_id))
    counts = {(s, b): rest for s, b, *rest in session.execute(per_task)}
    per_stage = (select(Task.stage, func.count(func.distinct(Task.case_id)),
                        func.count(func.distinct(when((overdue, Task.case_id)))))
                 .select_from(Task).join(Case, Case.id == Task.case_id).where(where).group_by(Task.stage))
    stage_cases = {s: rest for s, *rest in session.execute(per_stage)}
    histograms = defaultdict(Counter)
    for key in scope.zones:
        local = select(scope.calendar_group(key, Task.district_id).label("district"), Task.stage.label("stage"),
                       Task.bpmn_id.label("bpmn"), _local_day(session, Task.created_at, key).label("a")).where(
            where, scope.in_zone(key, Task.district_id)).subquery()
        query = select(local.c.district, local.c.stage, local.c.bpmn, local.c.a, func.count()).group_by(
            local.c.district, local.c.stage, local.c.bpmn, local.c.a)
        for district, stage, bpmn, a, n in session.execute(query):
            histograms[(stage, bpmn)][days.age(district, a)] += n

    def figures(n, histogram, late):
        return {"open_tasks": n, "median_age_days": _percentile(histogram, .5),
                "oldest_age_days": max(histogram) if histogram else None, "overdue": int(late or 0)}

    tasks, stages = [], []
    by_stage = defaultdict(list)
    for (stage, bpmn), (form_key, title, n, cases, late, late_cases) in counts.items():
        row = {"stage": _stage(stage), "task": bpmn, "form_key": form_key, "title": title,
               **_row(cases, figures(n, histograms[(stage, bpmn)], late), {"overdue": late_cases})}
        tasks.append(row)
        by_stage[stage].append((row, n, int(late or 0)))
    for stage, children in by_stage.items():
        histogram = sum((histograms[(stage, r["task"])] for r, _, _ in children), Counter())
        cases, late_cases = stage_cases.get(stage, (0, 0))
        row = {"stage": _stage(stage), **_row(cases, figures(sum(n for _, n, _ in children), histogram,
                                                             sum(late for _, _, late in children)),
                                              {"overdue": late_cases})}
        stages.append(row)
        rows = [r for r, _, _ in children]
        for field, values in (("open_tasks", {id(r): n for r, n, _ in children}),
                              ("overdue", {id(r): late for r, _, late in children})):
            if field not in row["suppressed_fields"]:
                _complement(rows, field, values)
    return {"stages": stages, "tasks": tasks}


def _on_hold(session, scope) -> dict:
    query = (select(Case.stage, func.count()).where(scope.cases(), Case.status == "open", Case.held_since.is_not(None))
             .group_by(Case.stage))
    counts = {_stage(s): n for s, n in session.execute(query)}
    total = sum(counts.values())
    rows = [{"stage": s, **_row(n, {"cases": n})} for s, n in counts.items()]
    truth = {id(r): counts[r["stage"]] for r in rows}
    overall = _row(total, {"cases": total}) if total else {"cases": 0, "suppressed": False, "suppressed_fields": [],
                                                           "complementary_fields": []}
    if not overall["suppressed"]:
        _complement(rows, "cases", truth)
    return {**overall, "by_stage": rows}


def _escalations(session, scope, start, end) -> list[dict]:
    about = aliased(Task, name="about")
    query = (select(about.stage, about.bpmn_id, func.max(about.form_key), func.max(about.title), func.count(),
                    func.count(func.distinct(Task.case_id)))
             .select_from(Task).join(about, about.id == Task.escalates_task_id)
             .where(scope.tasks(), Task.kind == "escalation", _in(Task.created_at, start, end))
             .group_by(about.stage, about.bpmn_id))
    return [{"stage": _stage(stage), "task": bpmn, "form_key": form_key, "title": title,
             **_row(cases, {"escalations": n})} for stage, bpmn, form_key, title, n, cases in session.execute(query)]

