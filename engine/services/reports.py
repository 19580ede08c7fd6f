"""Monthly reports: the figures a centre hands in every month, per social worker, mahalla, district or region.

Every figure is one SQL aggregate (GROUP BY the report's level) over the columns it needs; no case is loaded.
The month is taken in the region's time zone (Asia/Tashkent unless told): its first and last instants are
turned into UTC instants, and every "in the month" below means ``start <= instant < end``.

Figures and where they come from:

* ``opened`` — cases whose ``opened_at`` falls in the month.
* ``closed``, ``closed_by_reason`` — cases whose ``closed_at`` falls in the month; the reason is not a column:
  it is read from the case's ``case.closed`` audit row (``details.reason``), found through the
  ``(case_id, at)`` index.
* ``open_at_end``, ``open_by_stage``, ``open_by_risk`` — cases opened before the month's end and not closed
  by then. The stage is the one the case was in at the month's end: the stage of its newest process task
  opened before the end. The risk level is the case's current one (``cases.risk_level``): its history is
  only in the process state.
* ``served`` — people (person cases) and households (household cases) whose case was open at some time in
  the month, counted once each, overall and per client category (``cases.categories``, as they stand now).
* ``services_by_type``, ``referrals_by_destination`` — from the ``task.completed`` audit rows of tasks completed
  in the month: ``details.delivered[].service_type`` and ``details.referrals`` / ``details.referred_to``. The
  answers live only in the process state otherwise, whose per-task deltas leave out a value equal to the one
  before (a second identical referral would be lost), so the audit row is the one correct cheap source.
* ``deadlines`` — process tasks completed in the month that had a due instant, per stage: met when
  ``completed_at <= due_at``, else missed.
* ``working_days_by_stage`` — stages a case finished in the month (its process tasks of the stage all ended,
  the last in the month): working days from the first task of the stage opening to the last one completing,
  in the district's calendar (``working_days_between``), averaged per stage.
* ``escalations``, ``escalations_by_stage`` — escalation tasks raised in the month.

The "worker" level groups cases by their owner and tasks by their assignee (an escalation by the assignee of
the overdue task it is about).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, and_, func, literal, or_, select, text, true, tuple_, union_all
from sqlalchemy import case as when
from sqlalchemy.orm import aliased

from ..db.models import AuditEvent, Case, OrgUnit, Task, User
from ..errors import InvalidInput, NotFound
from ..i18n import N_
from .actors import Actor
from .deadlines import Calendars

LEVELS = ("worker", "mahalla", "district", "region")
NATIONAL = ("methodologist", "admin")
DISTRICT = ("supervisor", "center_head")
REPORTING = ("social_worker", *DISTRICT, *NATIONAL)
DEFAULT_TIME_ZONE = "Asia/Tashkent"
MIN_YEAR, MAX_YEAR = 2000, 2100
UNKNOWN = "unknown"  # a case without a risk level or a stage, a task without a stage
#: How far a ``task.completed`` audit row's instant may be from the task's ``completed_at`` (both are read in the
#: completion's own transaction, microseconds apart): a bound for the index, never a filter in practice.
AUDIT_SLACK = timedelta(days=1)


def monthly(engine, actor: Actor, *, year, month, level, unit_id=None, time_zone=DEFAULT_TIME_ZONE) -> dict:
    """The month's figures grouped by ``level``; ``unit_id`` narrows them to one region, district or mahalla."""
    actor.require(*REPORTING, action="see monthly reports")
    zone = _check(year, month, level, unit_id, time_zone)
    start, end = month_bounds(year, month, zone)
    with engine.db.read() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Compiling these aggregates to machine code costs more than it saves (0.1-0.6 s a statement at a
            # national month, bench/reports.py): the planner's JIT is off for this transaction only.
            session.execute(text("SET LOCAL jit = off"))
        scope = _Scope(session, actor, unit_id)
        groups = defaultdict(_empty)
        totals = _empty()
        # Regions: the counts are grouped by district in SQL and added up per region below (a region is its
        # districts' parent: looking it up row by row cost more than the counting). People served are counted
        # once per region, so that figure is grouped by region in SQL.
        by = "district" if level == "region" else level
        added = defaultdict(_empty) if level == "region" else groups
        _cases_opened(session, scope, by, start, end, added, totals)
        _cases_closed(session, scope, by, start, end, added, totals)
        _open_at_end(session, scope, by, end, added, totals)
        _served(session, scope, level, start, end, groups, totals)
        _services(session, scope, by, start, end, added, totals)
        _deadlines(session, scope, by, start, end, added, totals)
        _working_days(session, scope, by, start, end, added, totals)
        _escalations(session, scope, by, start, end, added, totals)
        if level == "region":
            _add_up_regions(session, added, groups)
        names = _names(session, level, set(groups))
        unit_name = session.scalar(select(OrgUnit.name).where(OrgUnit.id == unit_id)) if unit_id else None
    rows = [{"id": key, "name": names.get(key), "figures": _finish(figures)} for key, figures in groups.items()]
    rows.sort(key=lambda r: (r["name"] is None, r["name"] or "", r["id"] or 0))
    return {"year": year, "month": month, "level": level, "unit_id": unit_id, "unit_name": unit_name,
            "time_zone": zone.key,
            "from": start.isoformat(), "until": end.isoformat(), "groups": rows, "totals": _finish(totals)}


# --- the request --------------------------------------------------------------------------------------------

def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(year, month, level, unit_id, time_zone) -> ZoneInfo:
    problems = {}
    if not _whole(year) or not MIN_YEAR <= year <= MAX_YEAR:
        problems["year"] = [N_("Give a year from 2000 to 2100.")]
    if not _whole(month) or not 1 <= month <= 12:
        problems["month"] = [N_("Give a month from 1 to 12.")]
    if level not in LEVELS:
        problems["level"] = [N_("Choose a level: worker, mahalla, district or region.")]
    if unit_id is not None and not (_whole(unit_id) and 0 < unit_id < 2 ** 31):
        problems["unit_id"] = [N_("Give the number of a region, district or mahalla.")]
    zone = None
    try:
        zone = ZoneInfo(time_zone) if isinstance(time_zone, str) and time_zone else None
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder of the zone database: OSError
        zone = None
    if zone is None:
        problems["time_zone"] = [N_("Give a time zone such as Asia/Tashkent.")]
    if problems:
        raise InvalidInput(N_("The report request is not valid."), fields=problems)
    return zone


def month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's first instant, local midnight in ``zone``, in UTC."""
    following = (year + month // 12, month % 12 + 1)
    return (datetime(year, month, 1, tzinfo=zone).astimezone(timezone.utc),
            datetime(*following, 1, tzinfo=zone).astimezone(timezone.utc))


# --- who sees what --------------------------------------------------------------------------------------------

class _Scope:
    """The WHERE clauses of the actor's figures: a worker's own, a district's, or the nation's; narrowed to one
    org unit when asked."""

    def __init__(self, session, actor: Actor, unit_id):
        self.actor = actor
        self.districts = None  # district ids, or None for every district
        self.mahalla = None
        if actor.role in DISTRICT:
            self.districts = [actor.district_id]
        elif actor.role == "social_worker":
            self.districts = [actor.district_id] if actor.district_id is not None else None
        if unit_id is not None:
            unit = session.get(OrgUnit, unit_id)
            if unit is None:
                raise NotFound(N_("There is no such region, district or mahalla."))
            if unit.kind == "region":
                wanted = list(session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id == unit.id)))
            elif unit.kind == "district":
                wanted = [unit.id]
            else:
                wanted, self.mahalla = [unit.parent_id], unit.id
            if self.districts is not None:
                wanted = [d for d in wanted if d in self.districts]
                if not wanted:
                    raise NotFound(N_("There is no such region, district or mahalla in what you may see."))
            self.districts = wanted

    def cases(self, table=Case):
        return self._where(table, table.owner_id)

    def tasks(self, table=Task, assignee=None):
        return self._where(table, assignee if assignee is not None else table.assignee_id)

    def _where(self, table, worker_column):
        """The rows of ``table`` (cases or tasks) in the report's units; a social worker's own (``worker_column``)."""
        clauses = []
        if self.districts is not None:
            clauses.append(table.district_id.in_(self.districts))
        if self.mahalla is not None:
            clauses.append(table.mahalla_id == self.mahalla)
        if self.actor.role == "social_worker":
            clauses.append(worker_column == self.actor.id)
        return and_(true(), *clauses)


def _case_key(level, table=Case):
    return {"worker": table.owner_id, "mahalla": table.mahalla_id, "district": table.district_id,
            "region": _region_of(table.district_id)}[level]


def _task_key(level, table=Task, assignee=None):
    return {"worker": assignee if assignee is not None else table.assignee_id, "mahalla": table.mahalla_id,
            "district": table.district_id, "region": _region_of(table.district_id)}[level]


def _region_of(district_column):
    return select(OrgUnit.parent_id).where(OrgUnit.id == district_column).scalar_subquery()


def _add_up_regions(session, by_district: dict, groups: dict) -> None:
    """Add the districts' counts into their regions' figures."""
    districts = [d for d in by_district if d is not None]
    region_of = dict(session.execute(select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id.in_(districts))).all()) \
        if districts else {}
    for district, figures in by_district.items():
        _add(groups[region_of.get(district)], figures)


def _add(into: dict, figures: dict) -> None:
    for name, value in figures.items():
        if isinstance(value, dict):
            _add(into[name], value)
        elif isinstance(value, list):  # working days: [sum, count]
            into[name] = [a + b for a, b in zip(into[name], value)]
        else:
            into[name] += value


def _names(session, level, keys) -> dict:
    ids = [k for k in keys if k is not None]
    if not ids:
        return {}
    if level == "worker":
        return dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())
    return dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all())


# --- the figures ----------------------------------------------------------------------------------------------

def _empty() -> dict:
    return {"opened": 0, "closed": 0, "closed_by_reason": defaultdict(int), "open_at_end": 0,
            "open_by_stage": defaultdict(int), "open_by_risk": defaultdict(int),
            "served": {"persons": 0, "households": 0, "by_category": defaultdict(lambda: {"persons": 0,
                                                                                          "households": 0})},
            "services_by_type": defaultdict(int), "referrals_by_destination": defaultdict(int),
            "deadlines": defaultdict(lambda: {"met": 0, "missed": 0}),
            "working_days": defaultdict(lambda: [0, 0]),  # stage -> [sum, count]; averaged by _finish
            "escalations": 0, "escalations_by_stage": defaultdict(int)}


def _finish(figures: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, defaultdict) else v) for k, v in figures.items() if k != "working_days"}
    out["served"] = {"persons": figures["served"]["persons"], "households": figures["served"]["households"],
                     "by_category": {c: dict(v) for c, v in sorted(figures["served"]["by_category"].items())}}
    out["deadlines"] = {s: dict(v) for s, v in figures["deadlines"].items()}
    out["working_days_by_stage"] = {s: round(total / n, 1) for s, (total, n) in figures["working_days"].items() if n}
    return out


def _in(column, start, end):
    return and_(column >= start, column < end)


def _cases_opened(session, scope, level, start, end, groups, totals):
    key = _case_key(level)
    for group, n in session.execute(select(key, func.count()).where(scope.cases(), _in(Case.opened_at, start, end))
                                    .group_by(key)):
        groups[group]["opened"] += n
        totals["opened"] += n


def _cases_closed(session, scope, level, start, end, groups, totals):
    key = _case_key(level)
    reason = AuditEvent.details["reason"].as_string()
    query = (select(key, reason, func.count(func.distinct(Case.id))).select_from(Case)
             .outerjoin(AuditEvent, and_(AuditEvent.case_id == Case.id, AuditEvent.action == "case.closed",
                                         AuditEvent.at == Case.closed_at))
             .where(scope.cases(), _in(Case.closed_at, start, end)).group_by(key, reason))
    for group, why, n in session.execute(query):
        for figures in (groups[group], totals):
            figures["closed"] += n
            figures["closed_by_reason"][why or UNKNOWN] += n


def _open_at(end):
    return and_(Case.opened_at < end, or_(Case.closed_at.is_(None), Case.closed_at >= end))


def _open_at_end(session, scope, level, end, groups, totals):
    key = _case_key(level)
    # the stage at the month's end: that of the newest process task opened before it (the engine's own rule),
    # looked up per open case through its tasks (case_id, created_at)
    stage = (select(Task.stage).where(Task.case_id == Case.id, Task.kind == "process", Task.stage.is_not(None),
                                      Task.created_at < end)
             .order_by(Task.created_at.desc(), Task.id.desc()).limit(1).correlate(Case).scalar_subquery())
    cases = select(key.label("grp"), Case.risk_level.label("risk"), stage.label("stage")) \
        .where(scope.cases(), _open_at(end)).subquery()
    query = select(cases.c.grp, cases.c.risk, cases.c.stage, func.count()).group_by(cases.c.grp, cases.c.risk,
                                                                                    cases.c.stage)
    for group, risk, stage, n in session.execute(query):
        for figures in (groups[group], totals):
            figures["open_at_end"] += n
            figures["open_by_risk"][risk or UNKNOWN] += n
            figures["open_by_stage"][stage or UNKNOWN] += n


def _served_where(scope, start, end):
    return and_(scope.cases(), Case.opened_at < end, or_(Case.closed_at.is_(None), Case.closed_at >= start))


def _elements(session, column):
    """The items of a JSON list column, as a table to join (json_each on SQLite, its twin on PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.json_each(column).table_valued("value")
    return func.json_array_elements_text(column).table_valued("value").lateral()


def _served(session, scope, level, start, end, groups, totals):
    for keyed, key in ((True, _case_key(level)), (False, literal(0))):
        query = (select(key, func.count(func.distinct(Case.person_id)), func.count(func.distinct(Case.household_id)))
                 .where(_served_where(scope, start, end)).group_by(key))
        for group, persons, households in session.execute(query):
            figures = groups[group] if keyed else totals
            figures["served"]["persons"] += persons
            figures["served"]["households"] += households
        category = _elements(session, Case.categories)
        query = (select(key, category.c.value, func.count(func.distinct(Case.person_id)),
                        func.count(func.distinct(Case.household_id)))
                 .select_from(Case).join(category, true())
                 .where(_served_where(scope, start, end)).group_by(key, category.c.value))
        for group, name, persons, households in session.execute(query):
            figures = groups[group] if keyed else totals
            figures["served"]["by_category"][name]["persons"] += persons
            figures["served"]["by_category"][name]["households"] += households


def _completed_rows(scope, start, end):
    """Process tasks completed in the month, each with its ``task.completed`` audit row (by the case index)."""
    return and_(scope.tasks(), Task.kind == "process", Task.state == "completed",
                _in(Task.completed_at, start, end))


def _services(session, scope, level, start, end, groups, totals):
    """Services by type and referrals by destination in one statement: the month's completions joined to their
    audit rows once (a common table), then the rows' lists unnested three ways."""
    key = _task_key(level)
    # Not by instant: the audit row and the task's completion read the clock separately, in one transaction.
    # The month with a day either side only lets the (case_id, at) index skip the case's other months.
    audit = and_(AuditEvent.case_id == Task.case_id, _in(AuditEvent.at, start - AUDIT_SLACK, end + AUDIT_SLACK),
                 AuditEvent.task_id == Task.id, AuditEvent.action == "task.completed")
    done = (select(key.label("grp"), AuditEvent.details.label("details")).select_from(Task).join(AuditEvent, audit)
            .where(_completed_rows(scope, start, end)).cte("done"))
    sqlite = session.get_bind().dialect.name == "sqlite"

    def items(field, objects):
        """The items of the audit row's list ``field`` (JSON objects, or strings as text)."""
        if sqlite:
            return func.json_each(done.c.details, f"$.{field}").table_valued("value")
        unnest = func.json_array_elements if objects else func.json_array_elements_text
        return unnest(done.c.details[field]).table_valued("value").lateral()

    parts = []
    for figure, field, inner in (("services_by_type", "delivered", "service_type"),
                                 ("referrals_by_destination", "referrals", None),
                                 ("referrals_by_destination", "referred_to", None)):
        element = items(field, inner is not None)
        value = element.c.value
        if inner:
            value = (func.json_extract(value, f"$.{inner}") if sqlite
                     else value.op("->>")(literal(inner, String)))
        parts.append(select(literal(figure, String).label("figure"), done.c.grp, value.label("value"), func.count())
                     .select_from(done).join(element, true()).group_by(done.c.grp, value))
    for figure, group, value, n in session.execute(union_all(*parts)):
        for figures in (groups[group], totals):
            figures[figure][(value or UNKNOWN) if figure == "services_by_type" else value] += n


def _deadlines(session, scope, level, start, end, groups, totals):
    key = _task_key(level)
    met = Task.completed_at <= Task.due_at
    query = (select(key, Task.stage, met, func.count()).where(_completed_rows(scope, start, end),
                                                               Task.due_at.is_not(None))
             .group_by(key, Task.stage, met))
    for group, stage, on_time, n in session.execute(query):
        for figures in (groups[group], totals):
            figures["deadlines"][stage or UNKNOWN]["met" if on_time else "missed"] += n


def _working_days(session, scope, level, start, end, groups, totals):
    """Stages finished in the month: spans summed in the database per case and stage, then counted in working
    days of the district's calendar (one row per finished stage, no case data)."""
    key = _task_key(level)
    first, last = func.min(Task.created_at), func.max(Task.completed_at)
    still_open = func.sum(when((Task.state == "open", 1), else_=0))
    stage_tasks = and_(scope.tasks(), Task.kind == "process", Task.stage.is_not(None), Task.state != "cancelled")
    # A stage whose last completion falls in the month has a task completed in the month: only those (case,
    # stage) pairs are grouped (found by the completed_at index), not every task of the scope.
    ended = aliased(Task, name="ended")
    candidates = (select(ended.case_id, ended.stage)
                  .where(scope.tasks(ended), ended.kind == "process", ended.stage.is_not(None),
                         ended.state == "completed", _in(ended.completed_at, start, end)))
    spans = (select(key, Task.district_id, Task.stage, first, last)
             .where(stage_tasks, tuple_(Task.case_id, Task.stage).in_(candidates))
             .group_by(Task.case_id, Task.stage, Task.district_id, key)
             .having(and_(still_open == 0, last >= start, last < end)))
    working_days = _WorkingDays(session)
    for group, district, stage, opened, finished in session.execute(spans):
        days = working_days(district, opened, finished)
        for figures in (groups[group], totals):
            figures["working_days"][stage][0] += days
            figures["working_days"][stage][1] += 1


class _WorkingDays:
    """``working_days_between`` in a district's calendar for many spans: the working days up to each date are
    counted once per district (a running count), so that each span is a subtraction, not a walk over its days."""

    def __init__(self, session):
        self.calendars = Calendars(session)
        self.districts = {}  # district -> [calendar, its time zone, origin ordinal, running counts]

    def __call__(self, district, a: datetime, b: datetime) -> int:
        entry = self.districts.get(district)
        if entry is None:
            calendar = self.calendars(district)
            entry = self.districts[district] = [calendar, calendar.tz, None, None]
        first, second = a.astimezone(entry[1]).date(), b.astimezone(entry[1]).date()  # calendar.local_date
        if second < first:
            return -(self._upto(entry, first) - self._upto(entry, second))
        return self._upto(entry, second) - self._upto(entry, first)

    @staticmethod
    def _upto(entry, day) -> int:
        """Working days d with origin < d <= day."""
        calendar, _, origin, counts = entry
        if origin is None or day.toordinal() < origin:
            origin, counts = day.toordinal() - 366, [0]
            entry[2:] = [origin, counts]
        i = day.toordinal() - origin
        while len(counts) <= i:
            counts.append(counts[-1] + calendar.is_working_day(date.fromordinal(origin + len(counts))))
        return counts[i]


def _escalations(session, scope, level, start, end, groups, totals):
    about = aliased(Task, name="escalated")
    key = _task_key(level, assignee=about.assignee_id)
    query = (select(key, Task.stage, func.count()).select_from(Task)
             .outerjoin(about, about.id == Task.escalates_task_id)
             .where(scope.tasks(assignee=about.assignee_id), Task.kind == "escalation",
                    _in(Task.created_at, start, end))
             .group_by(key, Task.stage))
    for group, stage, n in session.execute(query):
        for figures in (groups[group], totals):
            figures["escalations"] += n
            figures["escalations_by_stage"][stage or UNKNOWN] += n


# --- what a user may ask for ----------------------------------------------------------------------------------

def choices(engine, actor: Actor) -> dict:
    """The report's request as the user's form offers it: the levels and units in the user's scope, and the
    defaults (``defaults``)."""
    default = defaults(engine, actor)
    with engine.db.read() as session:
        units = _units(session, actor)
    if actor.role == "social_worker":
        levels = ("worker", "mahalla")
    elif actor.role in DISTRICT:
        levels = ("worker", "mahalla", "district")
    else:
        levels = LEVELS
    return {"levels": list(levels), "units": units, "time_zone": default["time_zone"], "default": default}


def defaults(engine, actor: Actor) -> dict:
    """What a report asked for without parameters is: the last whole month in the user's zone, grouped as a
    report of the user's office is (a worker's own cases by worker, a district by mahalla, the nation by region)."""
    actor.require(*REPORTING, action="see monthly reports")
    with engine.db.read() as session:
        zone = _zone_of(session, actor.district_id)
    today = engine.now().astimezone(zone).date()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    if actor.role == "social_worker":
        level, unit_id = "worker", None
    elif actor.role in DISTRICT:
        level, unit_id = "mahalla", actor.district_id
    else:
        level, unit_id = "region", None
    return {"year": year, "month": month, "level": level, "unit_id": unit_id, "time_zone": zone.key}


def _units(session, actor: Actor) -> list[dict]:
    """Regions and districts for the nation's readers; the own district and its mahallas for a district's."""
    if actor.role in NATIONAL:
        rows = session.execute(select(OrgUnit.id, OrgUnit.kind, OrgUnit.name, OrgUnit.parent_id)
                               .where(OrgUnit.kind.in_(("region", "district")))
                               .order_by(OrgUnit.kind.desc(), OrgUnit.name)).all()
    elif actor.district_id is not None:
        rows = session.execute(select(OrgUnit.id, OrgUnit.kind, OrgUnit.name, OrgUnit.parent_id)
                               .where(or_(OrgUnit.id == actor.district_id, OrgUnit.parent_id == actor.district_id))
                               .order_by(OrgUnit.kind, OrgUnit.name)).all()
    else:
        rows = []
    return [{"id": id_, "kind": kind, "name": name, "parent_id": parent} for id_, kind, name, parent in rows]


def _zone_of(session, district_id) -> ZoneInfo:
    """The zone of the district's working calendar (its jurisdiction's), Tashkent for the nation's readers."""
    if district_id is None:
        return ZoneInfo(DEFAULT_TIME_ZONE)
    return Calendars(session)(district_id).tz
