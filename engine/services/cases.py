"""Cases: open one from a referral, list and search them, read one with its open tasks and timeline."""
from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from ..db.models import AuditEvent, Case, Household, HouseholdMember, OrgUnit, Person, Task, User, UserMahalla
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..names import normalise_name, search_key
from . import definitions, inputs
from .actors import Actor, case_scope, visible_case
from .audit import record
from .progress import apply_outcome, lock_case
from .deadlines import (Calendars, calendar_for, cancel_task_timers, clock_stopped_since, held_extension,
                        move_deadline)
from .narrative import narrate
from .notifications import holders_of, notify
from .views import case_summary, task_view, timeline_entry, user_ref

OPENERS = ("social_worker", "supervisor", "center_head")


def mahallas_for(session, actor: Actor):
    """The mahallas the actor may open cases in."""
    query = select(OrgUnit).where(OrgUnit.kind == "mahalla").order_by(OrgUnit.name)
    if actor.role == "social_worker":
        query = query.where(OrgUnit.id.in_(actor.mahalla_ids))
    elif actor.role in ("supervisor", "center_head"):
        query = query.where(OrgUnit.parent_id == actor.district_id)
    else:
        return []
    return session.scalars(query).all()


def open_case(engine, actor: Actor, payload) -> dict:
    """Register a referral as a case and start the process on the latest published version."""
    actor.require(*OPENERS, action="open cases")
    data = inputs.load(inputs.OpenCaseIn(), payload)
    now = engine.now()
    with engine.db.write() as session:
        mahalla = _mahalla_in_scope(session, actor, data["mahalla_id"])
        owner = _owner(session, actor, mahalla, data["owner_id"])
        version = definitions.latest(session)
        if version is None:
            raise NotFound("No process definition is published yet: run `yordam workflows publish`.")
        subject_name, key, person, household = _create_subject(session, data["subject"], now)
        case = Case(subject_kind=data["subject"]["kind"], person=person, household=household,
                    subject_name=subject_name, search_key=key, mahalla_id=mahalla.id,
                    district_id=mahalla.parent_id, owner_id=owner.id, channel=data["channel"],
                    summary=data["summary"].strip(), status="open", categories=[],
                    definition_version_id=version.id, opened_at=now, updated_at=now, stage=None)
        session.add(case)
        session.flush()
        record(session, now, "case.opened", actor_id=actor.id, case_id=case.id, channel=case.channel,
               owner_id=owner.id, definition_version=version.version)
        seed = {"case_id": case.id, "channel": case.channel, "summary": case.summary,
                "subject_kind": case.subject_kind, "mahalla_id": case.mahalla_id, "district_id": case.district_id}
        outcome = engine.runtime.start(version.key, engine.spec_loader(version), seed)
        apply_outcome(engine, session, case, outcome, actor_id=actor.id)
        session.flush()
        return _detail(engine, session, case, actor.language)


def _mahalla_in_scope(session, actor, mahalla_id):
    mahalla = session.get(OrgUnit, mahalla_id)
    if mahalla is None or mahalla.kind != "mahalla":
        raise InvalidInput("Unknown mahalla.", fields={"mahalla_id": ["There is no mahalla with this id."]})
    if mahalla not in mahallas_for(session, actor):
        raise NotAllowed("You may not open cases in this mahalla.")
    return mahalla


def _owner(session, actor, mahalla, owner_id):
    if actor.role == "social_worker" and owner_id in (None, actor.id):
        return session.get(User, actor.id)
    if owner_id is None:
        owner = session.scalar(select(User).join(UserMahalla, UserMahalla.user_id == User.id)
                               .where(UserMahalla.mahalla_id == mahalla.id, User.role == "social_worker",
                                      User.is_active.is_(True)).order_by(User.id).limit(1))
        if owner is None:
            raise InvalidInput("No social worker is attached to this mahalla.",
                               fields={"owner_id": ["Choose the social worker who will own the case."]})
        return owner
    if actor.role == "social_worker":
        raise NotAllowed("A social worker opens cases for themselves; a supervisor chooses another owner.")
    owner = session.get(User, owner_id)
    if owner is None or owner.role != "social_worker" or not owner.is_active or \
            owner.district_id != mahalla.parent_id:
        raise InvalidInput("Not a valid owner.",
                           fields={"owner_id": ["Choose an active social worker of the case's district."]})
    return owner


def _create_subject(session, subject, now):
    if subject["kind"] == "person":
        person = _person(subject, now)
        session.add(person)
        return person.full_name, person.search_key, person, None
    members = [(_person(m, now), m["relation"]) for m in subject["members"]]
    head = next((p for p, relation in members if relation == "head"), members[0][0])
    name = normalise_name(subject.get("name") or head.full_name)
    household = Household(name=name, created_at=now)
    household.members = [HouseholdMember(person=p, relation=r, position=i) for i, (p, r) in enumerate(members)]
    session.add(household)
    key = " | ".join([search_key(name)] + [p.search_key for p, _ in members])
    return name, key[:2000], None, household


def _person(data, now) -> Person:
    try:
        full_name = normalise_name(data["full_name"])
    except ValueError as err:
        raise InvalidInput("Not a valid name.", fields={"full_name": [str(err)]}) from None
    return Person(full_name=full_name, search_key=search_key(full_name), birth_date=data.get("birth_date"),
                  sex=data.get("sex"), created_at=now)


def list_cases(engine, actor: Actor, *, stage=None, status=None, mahalla_id=None, owner_id=None, overdue=None,
               q=None, limit=50, offset=0) -> dict:
    now = engine.now()
    query = select(Case).where(case_scope(actor))
    if stage:
        query = query.where(Case.stage == stage)
    if status:
        query = query.where(Case.status == status)
    if mahalla_id:
        query = query.where(Case.mahalla_id == mahalla_id)
    if owner_id:
        query = query.where(Case.owner_id == owner_id)
    if overdue:
        query = query.where(Case.held_since.is_(None),
                            exists().where(Task.case_id == Case.id, Task.state == "open", Task.due_at < now))
    if q:
        for term in search_key(q).split():
            query = query.where(Case.search_key.contains(term, autoescape=True))
    with engine.db.read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.options(selectinload(Case.owner), selectinload(Case.mahalla))
                               .order_by(Case.id.desc()).limit(limit).offset(offset)).all()
        return {"items": [case_summary(c) for c in rows], "total": total, "limit": limit, "offset": offset}


def get_case(engine, actor: Actor, case_id: int) -> dict:
    """A case with its subject, open tasks and timeline; the read itself is audited (who viewed this case)."""
    with engine.db.write() as session:
        case = visible_case(session, actor, case_id)
        record(session, engine.now(), "case.viewed", actor_id=actor.id, case_id=case.id, origin=actor.origin)
        detail = _detail(engine, session, case, actor.language)
        detail["viewers"] = _viewers(session, case.id)
        return detail


def _viewers(session, case_id, limit=20) -> list[dict]:
    """Who has read this case, most recent first (the access log, shown on the case page)."""
    rows = session.execute(select(AuditEvent.actor_id, func.max(AuditEvent.at), func.count())
                           .where(AuditEvent.case_id == case_id, AuditEvent.action == "case.viewed")
                           .group_by(AuditEvent.actor_id).order_by(func.max(AuditEvent.at).desc())
                           .limit(limit)).all()
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_([r[0] for r in rows])))}
    return [{"user": user_ref(people.get(actor_id)), "last_viewed_at": at.isoformat(), "views": count}
            for actor_id, at, count in rows]


def _detail(engine, session, case, language="en") -> dict:
    tasks = session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "open")
                            .order_by(Task.created_at, Task.id)).all()
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                      AuditEvent.action != "case.viewed")
                             .options(selectinload(AuditEvent.actor))
                             .order_by(AuditEvent.at, AuditEvent.id)).all()
    detail = case_summary(case)
    detail.update({
        "summary": case.summary,
        "channel": case.channel,
        "subject": _subject(case),
        "stages": list(case.definition_version.stages),
        "definition": {"process_id": case.definition_version.process_id,
                       "version": case.definition_version.version},
        "open_tasks": [task_view(t, engine.now(), language=language, calendars=Calendars(session),
                                 titles=engine.title_translator(case.definition_version, language)) for t in tasks],
        "timeline": [timeline_entry(e) for e in events],
        # The same events told in plain language, in the reader's language, with lateness in working days.
        "story": narrate(session, case, events, language, calendar_for(session, case.district_id)),
        "plan": _service_plan(engine, case),
    })
    return detail


PLAN_FORM = "service_plan"


def _service_plan(engine, case) -> dict | None:
    """The individual service plan as the case holds it now (the answers of the plan form), or None."""
    version = case.definition_version
    form = engine.forms_of(version).get(PLAN_FORM)
    if form is None or not case.state:
        return None
    data = engine.runtime.inspect(version.key, engine.spec_loader(version), case.state).data
    plan = {key: data[key] for key in form.field_keys() if key in data}
    return plan or None


def _subject(case) -> dict:
    if case.person is not None:
        return {"kind": "person", **_person_view(case.person)}
    return {"kind": "household", "name": case.household.name,
            "members": [{**_person_view(m.person), "relation": m.relation} for m in case.household.members]}


def _person_view(person) -> dict:
    return {"id": person.id, "full_name": person.full_name,
            "birth_date": person.birth_date.isoformat() if person.birth_date else None, "sex": person.sex}


HOLD_ROLES = ("social_worker", "supervisor", "center_head")


def hold_case(engine, actor: Actor, case_id: int, payload) -> dict:
    """Put a case on hold while it waits for the client or another agency: the deadline clocks of its open
    tasks stop (their reminders and rungs are withdrawn) until it resumes."""
    actor.require(*HOLD_ROLES, action="put a case on hold")
    data = inputs.load(inputs.HoldCaseIn(), payload)
    with engine.db.write() as session:
        case = case_to_change(session, actor, case_id)
        if case.held_since is not None:
            raise Conflict(f"The case is already on hold since {case.held_since:%Y-%m-%d}.")
        now = engine.now()
        case.held_since, case.hold_reason, case.held_by_id = now, data["reason"], actor.id
        for task in _open_tasks(session, case):
            cancel_task_timers(session, task.id, now, "case on hold")
        record(session, now, "case.held", actor_id=actor.id, case_id=case.id, waiting_for=data["waiting_for"],
               reason=data["reason"])
        if actor.role == "social_worker":  # a hold stops the escalations: the supervisors must know of it
            notify(engine, session, holders_of(session, "supervisor", case.district_id), "case.held",
                   case_id=case.id, subject=case.subject_name, who=actor.full_name, reason=data["reason"])
        return _detail(engine, session, case, actor.language)


def resume_case(engine, actor: Actor, case_id: int) -> dict:
    """End the hold: every open task's deadline moves later by the (working) time held, with the reason kept
    in its explanation, and its timers start again."""
    actor.require(*HOLD_ROLES, action="resume a case")
    with engine.db.write() as session:
        case = case_to_change(session, actor, case_id)
        if case.held_since is None:
            raise Conflict("The case is not on hold.")
        if actor.role == "social_worker" and case.held_by_id not in (None, actor.id):
            raise NotAllowed("A supervisor put this case on hold; only a supervisor may resume it.")
        now = engine.now()
        calendar = calendar_for(session, case.district_id)
        held_from, reason = case.held_since, case.hold_reason
        case.held_since = case.hold_reason = case.held_by_id = None  # first: the moved deadlines get live timers
        moved = []
        for task in _open_tasks(session, case):
            if task.due_at is None:
                continue
            unit = (task.deadline or {}).get("unit", "working_days")
            new_due = held_extension(calendar, unit, task.due_at, clock_stopped_since(task, held_from), now)
            moved.append({"task_id": task.id, "due_before": task.due_at.isoformat(), "due_after": new_due.isoformat()})
            move_deadline(session, task, calendar, now, new_due,
                          {"kind": "hold", "held_from": held_from.isoformat(), "held_to": now.isoformat(),
                           "reason": reason}, restart_ladder=False)
        record(session, now, "case.resumed", actor_id=actor.id, case_id=case.id, held_from=held_from.isoformat(),
               held_seconds=round((now - held_from).total_seconds()), moved=moved)
        return _detail(engine, session, case, actor.language)


def case_to_change(session, actor, case_id, *, open_only: bool = True) -> Case:
    """The case, in scope and locked, for a change only its own social worker or a supervisor may make."""
    case = lock_case(session, visible_case(session, actor, case_id).id)
    if open_only and case.status != "open":
        raise Conflict("The case is closed.")
    if actor.role == "social_worker" and case.owner_id != actor.id:
        raise NotAllowed("Only the case's own social worker or a supervisor may do this.")
    return case


def _open_tasks(session, case):
    return session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "open",
                                              Task.kind == "process")).all()
