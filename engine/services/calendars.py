"""Working-day calendars as administrators see and correct them: the days of a period with why each is or is
not a working day, and overrides (an extra day off, a transferred working day, a regional difference).

Deadlines are computed when a task opens, so an override changes the deadlines of tasks opened after it; the
explanation of each task says which days it skipped.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..db.models import CalendarDay, OrgUnit
from ..deadlines.calendar import JURISDICTIONS, WorkingCalendar
from ..errors import Conflict, InvalidInput, NotFound
from . import inputs
from .actors import Actor
from .audit import record
from .deadlines import _chain, calendar_code, effective_overrides, forget_calendars

MAX_SPAN_DAYS = 400


def _code(code: str) -> str:
    upper = (code or "").upper()
    if upper not in JURISDICTIONS:
        raise NotFound(f"There is no calendar {code!r}; the calendars are " + ", ".join(JURISDICTIONS) + ".")
    return upper


def list_days(engine, actor: Actor, code: str, start: date | None, end: date | None, org_unit_id=None,
              language=None) -> dict:
    code = _code(code)
    today = engine.now().date()
    start = start or today.replace(day=1)
    if end is None:
        end = start + timedelta(days=41) if start.year < 2100 else start
    if not (1900 <= start.year <= 2100 and 1900 <= end.year <= 2100):
        raise InvalidInput("Bad period.", fields={"from": ["Give dates between 1900 and 2100."]})
    if end < start or (end - start).days > MAX_SPAN_DAYS:
        raise InvalidInput("Bad period.", fields={"to": [f"Give a period of 0 to {MAX_SPAN_DAYS} days."]})
    language = language or actor.language
    with engine.db.read() as session:
        if org_unit_id is not None and session.get(OrgUnit, org_unit_id) is None:
            raise NotFound(f"There is no org unit {org_unit_id}.")
        rows = _overrides(session, code, org_unit_id)
        # Exactly the calendar deadlines use for this place: the jurisdiction's, its region's and its own.
        calendar = WorkingCalendar(code, effective_overrides(session, code, org_unit_id))
        days, current = [], start
        while current <= end:
            working, reason, name = calendar.day_kind(current)
            if reason == "holiday":
                name = calendar.holiday_name(current, language) or name
            days.append({"date": current.isoformat(), "working": working, "reason": reason or None,
                         "name": name or None})
            current += timedelta(days=1)
        return {"calendar": code, "time_zone": calendar.tz.key, "from": start.isoformat(), "to": end.isoformat(),
                "days": days, "overrides": [_override_view(r) for r in rows]}


def _overrides(session, code, org_unit_id):
    """The override rows an administrator sees for a place: the jurisdiction's and those of the place's
    region and district."""
    places = set(_chain(session, org_unit_id)) if org_unit_id is not None else set()
    rows = session.scalars(select(CalendarDay).where(CalendarDay.calendar == code)).all()
    return sorted([r for r in rows if r.org_unit_id is None or r.org_unit_id in places],
                  key=lambda r: (r.date, r.org_unit_id or 0))


def _override_view(row: CalendarDay) -> dict:
    return {"id": row.id, "date": row.date.isoformat(), "kind": row.kind, "name": row.name,
            "org_unit_id": row.org_unit_id, "created_at": row.created_at.isoformat()}


def add_override(engine, actor: Actor, code: str, payload) -> dict:
    actor.require("admin", action="change working calendars")
    code = _code(code)
    data = inputs.load(inputs.CalendarDayIn(), payload)
    try:
        with engine.db.write() as session:
            if data["org_unit_id"] is not None:
                unit = session.get(OrgUnit, data["org_unit_id"])
                if unit is None or unit.kind == "mahalla":
                    raise InvalidInput("Unknown region or district.",
                                       fields={"org_unit_id": ["Give a region or district id."]})
                if calendar_code(session, unit.id) != code:
                    raise InvalidInput("That place keeps another calendar.",
                                       fields={"org_unit_id": [f"This region or district does not follow the "
                                                               f"{code} calendar."]})
            same = select(CalendarDay.id).where(CalendarDay.calendar == code, CalendarDay.date == data["date"])
            same = same.where(CalendarDay.org_unit_id.is_(None) if data["org_unit_id"] is None
                              else CalendarDay.org_unit_id == data["org_unit_id"])
            if session.scalar(same) is not None:
                raise IntegrityError("duplicate override", None, None)
            row = CalendarDay(calendar=code, date=data["date"], kind=data["kind"], name=data["name"],
                              org_unit_id=data["org_unit_id"], created_by_id=actor.id, created_at=engine.now())
            session.add(row)
            session.flush()
            forget_calendars(session)
            record(session, engine.now(), "calendar.override_added", actor_id=actor.id, calendar=code,
                   date=data["date"].isoformat(), kind=data["kind"], name=data["name"],
                   org_unit_id=data["org_unit_id"])
            return _override_view(row)
    except IntegrityError:
        raise Conflict(f"{data['date'].isoformat()} already has an override here; delete it first.") from None


def delete_override(engine, actor: Actor, code: str, override_id: int) -> None:
    actor.require("admin", action="change working calendars")
    code = _code(code)
    with engine.db.write() as session:
        row = session.get(CalendarDay, override_id)
        if row is None or row.calendar != code:
            raise NotFound(f"There is no override {override_id} in calendar {code}.")
        record(session, engine.now(), "calendar.override_removed", actor_id=actor.id, calendar=code,
               date=row.date.isoformat(), kind=row.kind, name=row.name, org_unit_id=row.org_unit_id)
        session.delete(row)
        forget_calendars(session)
