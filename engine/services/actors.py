"""Who is acting, and what they may see: the record-level scope applied to every case and task query."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, or_, select, true

from ..db.models import Case, Task, User, UserMahalla
from ..errors import NotAllowed, NotFound

CASE_ROLES = ("social_worker", "supervisor", "center_head", "specialist")


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    full_name: str
    role: str
    district_id: int | None
    mahalla_ids: frozenset[int]
    language: str
    origin: str | None = None  # where the request came from (an IP address), for the access log
    #: An administrator's open break-glass access (``breakglass.py``): these cases' contents, to read only.
    granted_case_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(user.id, user.username, user.full_name, user.role, user.district_id,
                   frozenset(m.id for m in user.mahallas), user.language)

    def require(self, *roles: str, action: str = "do this"):
        if self.role not in roles:
            raise NotAllowed(f"Your role ({self.role}) may not {action}.")


def case_scope(actor: Actor):
    """A WHERE clause limiting cases to those the actor may see."""
    if actor.role in ("supervisor", "center_head"):
        return Case.district_id == actor.district_id
    assigned = select(Task.case_id).where(Task.assignee_id == actor.id)
    if actor.role == "social_worker":
        mine = select(UserMahalla.mahalla_id).where(UserMahalla.user_id == actor.id)
        return or_(Case.owner_id == actor.id, Case.mahalla_id.in_(mine), Case.id.in_(assigned))
    if actor.role == "specialist":
        return Case.id.in_(assigned)
    if actor.role == "admin" and actor.granted_case_ids:
        return Case.id.in_(sorted(actor.granted_case_ids))
    return false()  # methodologists and administrators read no case contents


def visible_case(session, actor: Actor, case_id) -> Case:
    """The case ``case_id`` if the actor may see it; anything else (unknown, out of scope, not an id) is
    not found, so nobody learns which cases exist."""
    is_id = isinstance(case_id, int) and not isinstance(case_id, bool) and 0 < case_id < 2 ** 31
    case = session.scalar(select(Case).where(Case.id == case_id, case_scope(actor))) if is_id else None
    if case is None:
        raise NotFound(f"There is no case {case_id} that you may see.")
    return case


def task_scope(actor: Actor):
    """A WHERE clause limiting tasks to those the actor may see."""
    if actor.role in ("supervisor", "center_head"):
        return Task.district_id == actor.district_id
    if actor.role == "social_worker":
        mine = select(UserMahalla.mahalla_id).where(UserMahalla.user_id == actor.id)
        # Escalations are the supervisors' business: a worker sees one only if it is given to them. A task
        # waiting in the queue is seen by the workers of its mahalla, never by the whole district: another
        # mahalla's client is none of a worker's business until the task is given to them.
        return or_(Task.assignee_id == actor.id,
                   (Task.kind == "process") & or_(
                       Task.mahalla_id.in_(mine), Task.case_id.in_(select(Case.id).where(Case.owner_id == actor.id))))
    if actor.role == "specialist":
        return or_(Task.assignee_id == actor.id,
                   (Task.role == actor.role) & (Task.district_id == actor.district_id) & Task.assignee_id.is_(None))
    if actor.role == "admin" and actor.granted_case_ids:
        return Task.case_id.in_(sorted(actor.granted_case_ids))
    return false()


def may_act_on(actor: Actor, task: Task) -> bool:
    """Whether the actor may complete the task: its assignee, or a holder of its queue's role in its district."""
    if task.assignee_id is not None:
        return task.assignee_id == actor.id
    if task.kind == "escalation" and actor.role == "center_head":  # the head may decide any rung below
        return task.district_id == actor.district_id
    return task.role == actor.role and task.district_id == actor.district_id


def everything():
    return true()
