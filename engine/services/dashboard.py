"""The supervisor's view of a district: who is behind, where, how loaded each worker is, what waits for a
decision, and how cases move through the stages."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case as when
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import selectinload

from ..db.models import Case, OrgUnit, Task, User, UTCDateTime
from .actors import Actor
from .definitions import latest
from .views import user_ref

SUPERVISING = ("supervisor", "center_head")
#: How much a case weighs in a caseload: a high-risk family takes far more of a worker's week.
RISK_WEIGHTS = {None: 1, "none": 1, "low": 1, "medium": 2, "high": 3}


def dashboard(engine, actor: Actor) -> dict:
    actor.require(*SUPERVISING, action="see the district dashboard")
    now = engine.now()
    district = actor.district_id
    running = Case.held_since.is_(None)
    with engine.db.read() as session:
        workers = session.scalars(select(User).where(User.district_id == district, User.is_active.is_(True),
                                                     User.role.in_(("social_worker", "specialist")))
                                  .order_by(User.full_name)).all()
        overdue = (select(Task.assignee_id, Task.mahalla_id, func.count())
                   .join(Case, Case.id == Task.case_id)
                   .where(Task.district_id == district, Task.state == "open", Task.kind == "process",
                          Task.due_at < now, running)
                   .group_by(Task.assignee_id, Task.mahalla_id))
        overdue_rows = session.execute(overdue).all()
        open_tasks = dict(session.execute(
            select(Task.assignee_id, func.count()).where(Task.district_id == district, Task.state == "open",
                                                         Task.kind == "process")
            .group_by(Task.assignee_id)).all())
        weight = when(*[(Case.risk_level == level, w) for level, w in RISK_WEIGHTS.items() if level],
                      else_=RISK_WEIGHTS[None])
        caseload = {owner: (count, weighted) for owner, count, weighted in session.execute(
            select(Case.owner_id, func.count(), func.sum(weight)).where(Case.district_id == district,
                                                                        Case.status == "open")
            .group_by(Case.owner_id)).all()}
        mahallas = {m.id: m.name for m in session.scalars(select(OrgUnit).where(OrgUnit.parent_id == district))}
        stages_order = list(latest(session).stages) if latest(session) else []
        per_stage = dict(session.execute(select(Case.stage, func.count()).where(
            Case.district_id == district, Case.status == "open").group_by(Case.stage)).all())
        escalations = session.scalars(select(Task).where(Task.district_id == district, Task.state == "open",
                                                         Task.kind == "escalation")
                                      .options(selectinload(Task.case).load_only(Case.subject_name),
                                               selectinload(Task.escalates).selectinload(Task.assignee))
                                      .order_by(Task.created_at, Task.id).limit(50)).all()
        escalation_items = [{"id": e.id, "case_id": e.case_id, "subject": e.case.subject_name,
                             "title": e.escalates.title if e.escalates else e.title, "role": e.role,
                             "rung": e.rung, "since": e.created_at.isoformat(),
                             "assignee": user_ref(e.escalates.assignee) if e.escalates else None}
                            for e in escalations]
        stage_days = _time_per_stage(session, district, now)
        on_hold = session.scalar(select(func.count()).select_from(Case).where(
            Case.district_id == district, Case.status == "open", Case.held_since.is_not(None)))

    by_worker, by_mahalla = defaultdict(int), defaultdict(int)
    for assignee, mahalla, count in overdue_rows:
        by_worker[assignee] += count
        by_mahalla[mahalla] += count
    people = {w.id: w for w in workers}
    return {
        "overdue_by_worker": sorted(
            [{"user": user_ref(people[u]) if u in people else None, "count": n} for u, n in by_worker.items()],
            key=lambda r: -r["count"]),
        "overdue_by_mahalla": sorted([{"mahalla": {"id": m, "name": mahallas.get(m, "?")}, "count": n}
                                      for m, n in by_mahalla.items()], key=lambda r: -r["count"]),
        "caseload": [{"user": user_ref(w), "role": w.role, "open_cases": caseload.get(w.id, (0, 0))[0],
                      "weighted": int(caseload.get(w.id, (0, 0))[1] or 0), "open_tasks": open_tasks.get(w.id, 0),
                      "overdue": by_worker.get(w.id, 0)} for w in workers],
        "queue_open_tasks": open_tasks.get(None, 0),
        "escalations": escalation_items,
        "cases_per_stage": [{"stage": s, "count": per_stage.get(s, 0)} for s in stages_order]
        + [{"stage": s, "count": n} for s, n in per_stage.items() if s not in stages_order and s],
        "days_per_stage": [{"stage": s, "days": stage_days.get(s)} for s in stages_order if s in stage_days],
        "on_hold": on_hold,
        "workers": [user_ref(w) | {"role": w.role} for w in workers],
    }


def _time_per_stage(session, district, now) -> dict[str, float]:
    """Average days a case spends in each stage: from its first task of the stage opening to its last one
    completing (or now, for the stage it is in). Averaged in the database: a district holds tens of thousands
    of (case, stage) spans, which would otherwise all travel to Python on every view of the dashboard."""
    spans = (select(Task.stage.label("stage"), func.min(Task.created_at).label("first"),
                    func.max(func.coalesce(Task.completed_at, bindparam("now", now, type_=UTCDateTime)))
                    .label("last"))
             .where(Task.district_id == district, Task.kind == "process", Task.stage.is_not(None))
             .group_by(Task.case_id, Task.stage).subquery())
    if session.get_bind().dialect.name == "sqlite":
        days = func.julianday(spans.c.last) - func.julianday(spans.c.first)
    else:
        days = func.extract("epoch", spans.c.last - spans.c.first) / 86400
    rows = session.execute(select(spans.c.stage, func.avg(days)).group_by(spans.c.stage)).all()
    return {stage: round(float(average), 1) for stage, average in rows if average is not None}
