"""Retention of closed cases, and a person's request for everything held on them.

A closed case is kept for the years its categories require (the longest of them; ``RETENTION_YEARS``), then the
nightly job anonymises it: the statistical skeleton stays (district, mahalla, stages, dates, risk, categories,
who worked on it) so reports keep counting it; every personal datum goes — the subject's and household members'
names, birth dates and search keys, the summary, the process state with its form answers, drafts, free-text
reasons and answers in the audit, notifications and queued e-mails naming the person. A case under legal hold is
skipped and reported. Each anonymisation is itself audited (without personal data).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select

from ..db.models import AuditEvent, Case, Consent, Notification, OutboxEmail, Person, Task, User
from ..errors import Conflict, InvalidInput
from .actors import Actor, visible_case
from .audit import record
from .progress import lock_case
from .views import iso

#: Years a closed case is kept, per category; a case takes the longest of its categories, else the default.
#: Child protection and violence are kept longer: a child may ask for their file as an adult.
RETENTION_YEARS = {"child": 25, "child_without_care": 25, "violence": 10, "disability": 10}
DEFAULT_YEARS = 5
SHORTEST = min([DEFAULT_YEARS, *RETENTION_YEARS.values()])  # no case closed more recently is ever due
#: Audit detail keys that never hold personal data; every other key is dropped on anonymisation.
SAFE_DETAIL_KEYS = frozenset({"stage", "from_stage", "to_stage", "form_key", "bpmn_id", "task", "rung", "level",
                              "role", "target_role", "minutes", "due_before", "due_after", "waiting_for", "kind",
                              "risk_level", "version", "outcome", "decision", "lateness_seconds", "count"})
ANONYMISED_NAME = "—"


def retention_years(categories) -> int:
    return max([RETENTION_YEARS.get(c, DEFAULT_YEARS) for c in categories or []] or [DEFAULT_YEARS])


def due_on(case: Case):
    """The instant a closed case's personal data must be gone, or None while it is open."""
    return _due(case.closed_at, case.categories)


def _due(closed_at, categories):
    return None if closed_at is None else closed_at + timedelta(days=round(365.25 * retention_years(categories)))


def set_legal_hold(engine, actor: Actor, case_id, reason: str | None) -> dict:
    """Keep a case from anonymisation (a court, prosecutor or inspection asked for it), or lift the hold."""
    actor.require("supervisor", "center_head", action="put a case under legal hold")
    reason = " ".join((reason or "").split()) or None
    if reason is not None and not 3 <= len(reason) <= 500:
        raise InvalidInput("The legal hold is not valid.", fields={"reason": ["Use 3–500 characters."]})
    with engine.db.write() as session:
        case = visible_case(session, actor, case_id)
        case.legal_hold_reason = reason
        record(session, engine.now(), "case.legal_hold" if reason else "case.legal_hold_lifted",
               actor_id=actor.id, case_id=case.id, reason=reason)
        return {"id": case.id, "legal_hold_reason": reason}


def run(engine, *, limit: int = 500) -> dict:
    """The nightly job: anonymise every closed case past its retention date; report the held ones."""
    now = engine.now()
    done, held = [], []
    with engine.db.read() as session:
        candidates = session.execute(select(Case.id, Case.closed_at, Case.categories, Case.legal_hold_reason)
                                     .where(Case.status == "closed", Case.anonymised_at.is_(None),
                                            Case.closed_at <= now - timedelta(days=round(365.25 * SHORTEST)))
                                     .order_by(Case.closed_at)).all()
    for case_id, closed_at, categories, hold in candidates:
        if _due(closed_at, categories) > now:
            continue
        if hold:
            held.append(case_id)
            continue
        if len(done) >= limit:
            break
        anonymise(engine, case_id)
        done.append(case_id)
    return {"anonymised": done, "on_legal_hold": held, "at": iso(now)}


def anonymise(engine, case_id: int) -> None:
    """Remove every personal datum of one closed case, in one transaction."""
    now = engine.now()
    with engine.db.write() as session:
        case = lock_case(session, case_id)  # two schedulers' nightly runs: the second waits, then sees it done
        if case.status != "closed":
            raise Conflict("Only a closed case is anonymised.")
        if case.anonymised_at is not None:
            return  # another scheduler got there first
        names = _names(case)
        for person in _persons(case):
            person.full_name, person.search_key, person.birth_date = ANONYMISED_NAME, "", None
        if case.household is not None:
            case.household.name = ANONYMISED_NAME
        case.subject_name, case.search_key, case.summary = ANONYMISED_NAME, "", ""
        case.hold_reason, case.state, case.anonymised_at = None, "", now
        for task in session.scalars(select(Task).where(Task.case_id == case.id)):
            task.draft = None
            if task.deadline:
                task.deadline = {k: v for k, v in task.deadline.items() if k in ("due_at", "rule", "amount", "unit")}
        for event in session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)):
            event.details = {k: v for k, v in (event.details or {}).items() if k in SAFE_DETAIL_KEYS}
        session.execute(delete(Notification).where(Notification.case_id == case.id))
        named = [n for n in names if n]
        if named:  # queued e-mails are not linked to the case: found by the names they carry
            session.execute(delete(OutboxEmail).where(or_(*[OutboxEmail.body.contains(n, autoescape=True)
                                                            | OutboxEmail.subject.contains(n, autoescape=True)
                                                            for n in named])))
        _scrub_other_tables(session, case)
        record(session, now, "case.anonymised", case_id=case.id, categories=list(case.categories or []))


def _persons(case: Case) -> list[Person]:
    people = [case.person] if case.person is not None else []
    if case.household is not None:
        people += [m.person for m in case.household.members]
    return people


def _names(case: Case) -> set[str]:
    return {case.subject_name} | {p.full_name for p in _persons(case)}


def _scrub_other_tables(session, case: Case) -> None:
    """Tables added beside the case (consents: evidence and representatives' names) lose their free text too."""
    for consent in session.scalars(select(Consent).where(Consent.case_id == case.id)):
        for column in ("evidence", "representative_name", "representative_relation", "revocation_reason",
                       "agency"):
            if hasattr(consent, column) and getattr(consent, column):
                setattr(consent, column, ANONYMISED_NAME)


def export_case(engine, actor: Actor, case_id) -> dict:
    """Everything held on the person of a case, for their request: the case, its subject and household, every
    task with its answers, the history, consents, and who viewed it (the access log). The export is logged."""
    from .cases import get_case
    detail = get_case(engine, actor, case_id)  # scope check, and the read is logged like any other
    with engine.db.write() as session:
        case = session.get(Case, detail["id"])
        tasks = session.scalars(select(Task).where(Task.case_id == case.id)
                                .order_by(Task.created_at, Task.id)).all()
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                 .order_by(AuditEvent.at, AuditEvent.id)).all()
        ids = {t.completed_by_id for t in tasks} | {e.actor_id for e in events}
        users = dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids - {None}))).all()) \
            if ids - {None} else {}
        export = {
            "exported_at": iso(engine.now()), "exported_by": actor.full_name,
            "case": {k: v for k, v in detail.items() if k not in ("viewers",)},
            "persons": [{"full_name": p.full_name, "birth_date": iso(p.birth_date), "sex": p.sex}
                        for p in _persons(case)],
            "tasks": [{"id": t.id, "title": t.title, "state": t.state, "created_at": iso(t.created_at),
                       "due_at": iso(t.due_at), "completed_at": iso(t.completed_at),
                       "completed_by": users.get(t.completed_by_id), "draft": t.draft} for t in tasks],
            "history": [{"at": iso(e.at), "action": e.action, "by": users.get(e.actor_id), "details": e.details}
                        for e in events if e.action != "case.viewed"],
            "access_log": [{"at": iso(e.at), "by": users.get(e.actor_id), "from": (e.details or {}).get("origin")}
                           for e in events if e.action == "case.viewed"],
            "consents": _consents(session, case),
            "retention": {"legal_hold": case.legal_hold_reason, "personal_data_removed_after": iso(due_on(case))},
        }
        record(session, engine.now(), "case.exported", actor_id=actor.id, case_id=case.id, origin=actor.origin)
        return export


def _consents(session, case) -> list[dict]:
    rows = session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
    return [{c.name: _plain(getattr(row, c.name)) for c in Consent.__table__.columns} for row in rows]


def _plain(value):
    return iso(value) if hasattr(value, "isoformat") else value
