"""Break-glass: an administrator reads one case's contents for a limited time, with a reason, in plain sight.

Administrators manage users and settings and see no case contents (``actors.case_scope``). When a case truly
needs them (a worker cannot open it, a data request from the person, a court order), an administrator opens
break-glass access to that one case: a reason is required, the access ends by itself after at most four hours,
it is audited, every read during it lands in the case's access log as usual, and the supervisors and the head of
the case's district are told at once and see it on their dashboard. Access is to read, never to act.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..db.models import BreakGlass, Case, User
from ..errors import NotAllowed, NotFound
from . import inputs
from .actors import Actor
from .audit import record
from .notifications import holders_of, notify
from .views import iso

MAX_MINUTES = 240  # see inputs.BreakGlassIn
#: Supervisors see grants of the last this-many days on their dashboard.
SHOWN_DAYS = 30


def open_access(engine, actor: Actor, payload) -> dict:
    """Open break-glass access to one case (``case_id``, ``reason``, ``minutes``); tell the district's
    supervisors and head."""
    if actor.role != "admin":
        raise NotAllowed("Only an administrator opens break-glass access; others have their own scope.")
    data = inputs.load(inputs.BreakGlassIn(), payload)
    case_id, reason, minutes = data["case_id"], " ".join(data["reason"].split()), data["minutes"]
    now = engine.now()
    with engine.db.write() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("There is no case with this number.")
        grant = BreakGlass(user_id=actor.id, case_id=case.id, district_id=case.district_id, reason=reason,
                           opened_at=now, expires_at=now + timedelta(minutes=minutes))
        session.add(grant)
        session.flush()
        record(session, now, "case.break_glass_opened", actor_id=actor.id, case_id=case.id, reason=reason,
               minutes=minutes, origin=actor.origin)
        watchers = holders_of(session, "supervisor", case.district_id) + holders_of(session, "center_head",
                                                                                    case.district_id)
        notify(engine, session, watchers, "case.break_glass", case_id=case.id, who=actor.full_name,
               case=case.id, reason=reason)
        return _view(grant, actor.full_name, now)


def close_access(engine, actor: Actor, grant_id: int) -> None:
    """End one's own break-glass access before it runs out."""
    now = engine.now()
    with engine.db.write() as session:
        grant = session.get(BreakGlass, grant_id) if isinstance(grant_id, int) else None
        if grant is None or grant.user_id != actor.id:
            raise NotFound("There is no such break-glass access of yours.")
        if grant.closed_at is None and grant.expires_at > now:
            grant.closed_at = now
            record(session, now, "case.break_glass_closed", actor_id=actor.id, case_id=grant.case_id)


def granted_case_ids(session, user_id: int, now) -> frozenset[int]:
    """The cases an administrator holds open break-glass access to right now."""
    return frozenset(session.scalars(select(BreakGlass.case_id).where(
        BreakGlass.user_id == user_id, BreakGlass.closed_at.is_(None), BreakGlass.expires_at > now)))


def list_access(engine, actor: Actor) -> list[dict]:
    """An administrator's own grants; a supervisor's or head's: the grants on cases of their district."""
    now = engine.now()
    query = select(BreakGlass, User.full_name).join(User, User.id == BreakGlass.user_id)
    if actor.role == "admin":
        query = query.where(BreakGlass.user_id == actor.id)
    elif actor.role in ("supervisor", "center_head"):
        query = query.where(BreakGlass.district_id == actor.district_id)
    else:
        raise NotAllowed("Your role does not see break-glass access.")
    query = query.where(BreakGlass.opened_at > now - timedelta(days=SHOWN_DAYS)).order_by(BreakGlass.opened_at.desc())
    with engine.db.read() as session:
        return [_view(grant, name, now) for grant, name in session.execute(query.limit(200))]


def _view(grant: BreakGlass, who: str, now) -> dict:
    return {"id": grant.id, "case_id": grant.case_id, "user": who, "reason": grant.reason,
            "opened_at": iso(grant.opened_at), "expires_at": iso(grant.expires_at), "closed_at": iso(grant.closed_at),
            "active": grant.closed_at is None and grant.expires_at > now}
