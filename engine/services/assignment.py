"""Who gets a task: the lane names a role; social-worker tasks go to the case owner, others to the role's queue
in the case's district. Never an unowned task: with nobody to take it, the district supervisors' queue gets it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select

from ..db.models import Case, User


@dataclass(frozen=True)
class Assignment:
    role: str
    assignee_id: int | None
    reason: str | None = None  # why the task did not go where its lane says


def assign(session, case: Case, lane: str | None) -> Assignment:
    if lane == "social_worker":
        owner = session.get(User, case.owner_id)
        if owner is not None and owner.is_active:
            return Assignment("social_worker", owner.id)
        return Assignment("supervisor", None, "the case owner is deactivated")
    if lane and role_is_held(session, lane, case.district_id):
        return Assignment(lane, None)
    reason = f"nobody holds the role {lane} in the district" if lane else "the task is in no lane"
    return Assignment("supervisor", None, reason)


def role_is_held(session, role: str, district_id: int) -> bool:
    return session.scalar(select(exists().where(User.role == role, User.district_id == district_id,
                                                User.is_active.is_(True))))
