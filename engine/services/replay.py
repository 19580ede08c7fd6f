"""Replay on history: how many deadlines a new version's rules would have missed, against the current version's.

Before publishing "assessment within 7 working days instead of 5", the methodologist asks what it would have
meant for the last months of work. The process tasks opened in that window (in closed and open cases alike) are
judged twice, once under each version's ``deadline`` rule, from the instant the task opened and with its
district's working calendar:

* a deadline is missed when the task was completed after the due instant, or is still open and the due instant
  has passed; a task whose step has no deadline in a version is never missed under that version;
* holds and extensions are left out on both sides: the question is about the rules, not about what supervisors
  granted, and both columns must be judged the same way to be compared;
* a rule written as an expression over case data ("(monitoring_interval_days) calendar days") is replayed with
  the amount the task recorded when it opened, if the expression is the same; otherwise the task is counted as
  not replayable and in neither "missed" column, so both columns always cover the same tasks. Case state
  documents are never loaded: they are large, and they hold personal data.

The answer holds counts and rule texts only: no case, person or user appears in it (the methodologist reads
statistics, never personal data).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..db.models import Case, DefinitionDraft, DefinitionVersion, OrgUnit, Task
from ..deadlines.rules import Duration
from ..errors import InvalidInput, NotFound
from ..process.definitions import compile_definition
from . import definitions
from .deadlines import Calendars, add_duration, rule_of
from .drafts import EDITORS, _draft
from .views import iso

MIN_MONTHS, MAX_MONTHS = 1, 36
MAX_NUMBER = 2 ** 31 - 1
COUNTS = ("tasks", "missed_current", "missed_new", "not_replayable")


@dataclass(frozen=True)
class StepRule:
    """One step's deadline in one version: the duration judged, and what the methodologist wrote."""
    duration: Duration
    text: str


@dataclass(frozen=True)
class Rules:
    """The deadline rules of one definition set, with what is needed to name its steps and order its stages."""
    by_step: dict[str, StepRule]
    titles: dict[str, str]
    stages: dict[str, str | None]
    stage_order: list[str]


def replay(engine, actor, *, draft_id=None, version=None, months=6) -> dict:
    """Replay the deadline rules of a draft (``draft_id``) or of a published version (``version``) over the
    process tasks opened in the last ``months`` months, against the latest published version's rules."""
    actor.require(*EDITORS, action="replay deadline rules on past cases")
    _check_request(draft_id, version, months)
    now = engine.now()
    since = months_before(now, months)
    with engine.db.read() as session:
        new_ref, new_files, process_id = _new_source(session, draft_id, version)
        current = definitions.latest(session, process_id)
        if current is None:
            raise NotFound("No version of the process is published yet.")
        current_ref, current_files = _version_ref(current), dict(current.files)
    # compiled outside the transaction: parsing takes a while and needs no database
    current_rules, new_rules = _rules(current_files, process_id), _rules(new_files, process_id)
    with engine.db.read() as session:
        tally = _tally(session, process_id, current_rules, new_rules, since, now)
        names = _district_names(session, {district for district, _ in tally})
    order = _stage_key(new_rules.stage_order + current_rules.stage_order)
    return {"process_id": process_id, "months": months, "since": iso(since), "until": iso(now),
            "current": current_ref, "new": new_ref,
            "rules_changed": _rules_changed(current_rules, new_rules, order),
            "districts": _districts(tally, names, order),
            "stages": _stages(tally, order),
            "totals": _sum(tally.values())}


# --- the request ----------------------------------------------------------------------------------------------

def _check_request(draft_id, version, months) -> None:
    problems = {}
    if not _whole(months) or not MIN_MONTHS <= months <= MAX_MONTHS:
        problems["months"] = [f"Give a whole number of months from {MIN_MONTHS} to {MAX_MONTHS}."]
    if (draft_id is None) == (version is None):
        problems["draft_id"] = ["Give either a draft or a version number to replay, not both."]
    elif version is not None and not (_whole(version) and 1 <= version <= MAX_NUMBER):
        problems["version"] = ["Give a version number (a whole number from 1)."]
    if problems:
        raise InvalidInput("The replay is not valid.", fields=problems)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def months_before(instant: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier; a day the month lacks becomes its last day
    (31 May minus 3 months is 28 or 29 February)."""
    month_index = instant.year * 12 + instant.month - 1 - months
    year, month = divmod(month_index, 12)
    first_of_next = datetime(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (first_of_next - timedelta(days=1)).day
    return instant.replace(year=year, month=month + 1, day=min(instant.day, last_day))


def _new_source(session, draft_id, version) -> tuple[dict, dict, str]:
    """What the new rules come from: a description of it, its files and its process."""
    if draft_id is not None:
        draft = _draft(session, draft_id)
        return _draft_ref(session, draft), dict(draft.files), draft.process_id
    row = definitions.numbered(session, version)
    if row is None:
        raise NotFound(f"There is no version {version} of the process.")
    return _version_ref(row), dict(row.files), row.process_id


def _draft_ref(session, draft: DefinitionDraft) -> dict:
    # only the base's number: loading the base version would read its files and compiled spec too
    based_on = session.scalar(select(DefinitionVersion.version).where(DefinitionVersion.id == draft.based_on_id)) \
        if draft.based_on_id is not None else None
    return {"kind": "draft", "draft_id": draft.id, "name": draft.name, "status": draft.status,
            "based_on_version": based_on}


def _version_ref(version: DefinitionVersion) -> dict:
    return {"kind": "version", "number": version.version, "id": version.id,
            "published_at": iso(version.published_at)}


# --- the rules --------------------------------------------------------------------------------------------------

def _rules(files: dict[str, str], process_id: str) -> Rules:
    """The deadline of every human step of a set. Compiling checks the set as publishing does, so a draft
    with problems is refused (``DefinitionInvalid``) rather than replayed half-read."""
    compiled = compile_definition(files, process_id)
    by_step = {}
    for bpmn_id, info in compiled.user_tasks.items():
        rule = rule_of(info.properties, bpmn_id)
        if rule is not None:
            by_step[bpmn_id] = StepRule(rule.duration, " ".join(info.properties["deadline"].split()))
    return Rules(by_step, {i: t.title for i, t in compiled.user_tasks.items()},
                 {i: t.stage for i, t in compiled.user_tasks.items()}, list(compiled.stages))


def _rules_changed(current: Rules, new: Rules, order) -> list[dict]:
    """The steps whose deadline differs (a reworded but equal duration is no change)."""
    changed = []
    for bpmn_id in set(current.by_step) | set(new.by_step):
        before, after = current.by_step.get(bpmn_id), new.by_step.get(bpmn_id)
        if _same(before, after):
            continue
        side = new if bpmn_id in new.titles else current
        changed.append({"bpmn_id": bpmn_id, "title": side.titles.get(bpmn_id, bpmn_id),
                        "stage": side.stages.get(bpmn_id), "current": before.text if before else None,
                        "new": after.text if after else None})
    return sorted(changed, key=lambda c: (order(c["stage"]), c["bpmn_id"]))


# --- judging the tasks -----------------------------------------------------------------------------------------

def _tally(session, process_id: str, current: Rules, new: Rules, since: datetime, now: datetime) -> dict:
    """Counts per (district id, stage): ``[tasks, missed_current, missed_new, not_replayable]``.

    One query, only the columns judged (the JSON path reads two fields of the deadline record, not the record,
    and nothing of the case is read but its version); each district's calendar is read once.
    """
    steps = sorted(set(current.by_step) | set(new.by_step))
    if not steps:
        return {}
    # the process's own cases only: another process may use the same step ids for other work
    versions = select(DefinitionVersion.id).where(DefinitionVersion.process_id == process_id)
    rows = session.execute(
        select(Task.district_id, Task.stage, Task.bpmn_id, Task.state, Task.created_at, Task.completed_at,
               Task.deadline["expression"].as_string(), Task.deadline["amount"].as_float())
        .join(Case, Case.id == Task.case_id)
        .where(Task.kind == "process", Task.state != "cancelled", Task.created_at >= since,
               Task.created_at <= now, Task.bpmn_id.in_(steps), Case.definition_version_id.in_(versions)))
    calendars, tally = Calendars(session), {}
    for district_id, stage, bpmn_id, state, created_at, completed_at, expression, amount in rows:
        calendar = calendars(district_id)
        ended = completed_at if state == "completed" and completed_at is not None else now
        before = current.by_step.get(bpmn_id)
        after = new.by_step.get(bpmn_id)
        missed_before = _missed(before, calendar, created_at, ended, expression, amount)
        # an unchanged rule gives the same answer: the calendar arithmetic is the costly part
        missed_after = missed_before if _same(before, after) \
            else _missed(after, calendar, created_at, ended, expression, amount)
        counts = tally.setdefault((district_id, stage), [0, 0, 0, 0])
        counts[0] += 1
        if missed_before is None or missed_after is None:
            counts[3] += 1
        else:
            counts[1] += missed_before
            counts[2] += missed_after
    return tally


def _same(before: StepRule | None, after: StepRule | None) -> bool:
    """Whether two versions judge a step alike: the same duration, or no deadline in either."""
    return (before.duration if before else None) == (after.duration if after else None)


def _missed(rule: StepRule | None, calendar, start, ended, expression, amount) -> bool | None:
    """Whether the task, open from ``start`` until ``ended`` (completion, or now if still open), misses the rule;
    None when the rule's amount cannot be known without the case data."""
    if rule is None:
        return False
    duration = rule.duration
    if duration.expression is not None:
        if expression != duration.expression or amount is None:
            return None
        value = amount
    else:
        value = duration.amount
    return ended > add_duration(calendar, start, duration.unit, value).due


# --- the report ---------------------------------------------------------------------------------------------------

def _district_names(session, district_ids: set[int]) -> dict[int, str]:
    if not district_ids:
        return {}
    return dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(district_ids))).all())


def _stage_key(known: list[str]):
    """Stages in the order a case meets them (the definitions' order), others after by name, none last."""
    position = {}
    for stage in known:
        position.setdefault(stage, len(position))

    def key(stage):
        if stage is None:
            return (2, 0, "")
        return (0, position[stage], "") if stage in position else (1, 0, stage)
    return key


def _sum(rows) -> dict:
    totals = [0, 0, 0, 0]
    for counts in rows:
        totals = [a + b for a, b in zip(totals, counts)]
    return dict(zip(COUNTS, totals))


def _districts(tally: dict, names: dict[int, str], order) -> list[dict]:
    by_district = {}
    for (district_id, stage), counts in tally.items():
        by_district.setdefault(district_id, {})[stage] = counts
    report = []
    for district_id, stages in by_district.items():
        report.append({"district_id": district_id, "district_name": names.get(district_id),
                       "stages": [{"stage": stage, **dict(zip(COUNTS, stages[stage]))}
                                  for stage in sorted(stages, key=order)],
                       "totals": _sum(stages.values())})
    return sorted(report, key=lambda d: (d["district_name"] or "", d["district_id"]))


def _stages(tally: dict, order) -> list[dict]:
    by_stage = {}
    for (_, stage), counts in tally.items():
        by_stage.setdefault(stage, []).append(counts)
    return [{"stage": stage, **_sum(by_stage[stage])} for stage in sorted(by_stage, key=order)]
