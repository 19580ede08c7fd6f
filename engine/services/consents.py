"""The consent register: consent per purpose (assessment, data sharing with a named agency, referral to one),
given by the person or a legal representative (for a child), when, on what evidence, until when; revoked with
a reason, never deleted.

A consent is valid on a day if it was given by then, is not revoked and has not expired (``expires_on`` is the
last day it holds). A user task of the process may require a valid consent (its ``requires_consent`` property,
workflows/README.md §10): completing it without one is refused. Revoking a consent opens a task for the case's
social worker ("Consent revoked: referral (Polyclinic No. 3) — review the case"), which they mark done.

Who: whoever may see the case reads its consents; its social worker (owner, or a worker of its mahalla) and
the district's supervisors and centre head record and revoke them. Every write is audited.
"""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db.models import AGENCY_PURPOSES, Case, Consent, Task
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..i18n import N_
from . import inputs
from .actors import Actor, case_scope, visible_case
from .assignment import assign
from .audit import record
from .deadlines import calendar_for
from .notifications import holders_of, notify
from .progress import lock_case
from .views import iso, user_ref

WRITERS = ("social_worker", "supervisor", "center_head")
#: English words for the purposes in engine messages (the UI translates them from notifications.PURPOSE_NAMES).
PURPOSE_WORDS = {"assessment": "assessment", "data_sharing": "data sharing", "referral": "referral"}
REVIEW_TASK = "consent_revoked"  # the bpmn_id of the review tasks (they are not in any diagram)


# --- reading ------------------------------------------------------------------------------------------------

def list_consents(engine, actor: Actor, case_id: int, *, record_view: bool = True) -> dict:
    """The case's consents, newest first, each with its validity today. The read is audited like a case read
    (``record_view=False`` when the caller has just recorded one, as the case page does)."""
    with engine.db.write() as session:
        case = visible_case(session, actor, case_id)
        now = engine.now()
        if record_view:
            record(session, now, "case.viewed", actor_id=actor.id, case_id=case.id, origin=actor.origin)
        today = local_today(session, case, now)
        rows = session.scalars(select(Consent).where(Consent.case_id == case.id)
                               .options(selectinload(Consent.person), selectinload(Consent.recorded_by),
                                        selectinload(Consent.revoked_by))
                               .order_by(Consent.given_at.desc(), Consent.id.desc())).all()
        tasks = dict(session.execute(select(Task.consent_id, Task.id).where(Task.case_id == case.id,
                                                                          Task.kind == "consent")).all())
        return {"case_id": case.id, "today": today.isoformat(),
                "items": [consent_view(c, today, tasks.get(c.id)) for c in rows]}


def valid_consent(session, case_id: int, purpose: str, agency: str | None = None, on: date | None = None):
    """The newest consent of the case for ``purpose`` valid on the day ``on``, or None. For data sharing and
    referral, ``agency`` narrows it to consents naming that agency (case and spacing ignored); without one, a
    consent for any agency will do."""
    if on is None:
        raise ValueError("valid_consent needs the day to check (on=)")
    query = select(Consent).where(Consent.case_id == case_id, Consent.purpose == purpose,
                                  Consent.revoked_at.is_(None), Consent.given_at <= on,
                                  (Consent.expires_on.is_(None)) | (Consent.expires_on >= on))
    rows = session.scalars(query.order_by(Consent.given_at.desc(), Consent.id.desc())).all()
    if agency and purpose in AGENCY_PURPOSES:
        rows = [c for c in rows if same_agency(c.agency, agency)]
    return rows[0] if rows else None


def same_agency(a: str | None, b: str | None) -> bool:
    return _agency_key(a) == _agency_key(b)


def _agency_key(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def local_today(session, case, now) -> date:
    """Today in the case's district (its calendar's time zone): consents are given and expire on local days."""
    return calendar_for(session, case.district_id).local_date(now)


def consent_view(consent: Consent, today: date, review_task_id: str | None = None) -> dict:
    if consent.revoked_at is not None:
        status = "revoked"
    elif consent.given_at > today:
        status = "not_yet_given"
    elif consent.expires_on is not None and today > consent.expires_on:
        status = "expired"
    else:
        status = "valid"
    return {
        "id": consent.id,
        "case_id": consent.case_id,
        "person": {"id": consent.person.id, "full_name": consent.person.full_name},
        "purpose": consent.purpose,
        "agency": consent.agency,
        "given_by": consent.given_by,
        "representative_name": consent.representative_name,
        "representative_relation": consent.representative_relation,
        "given_at": consent.given_at.isoformat(),
        "evidence": consent.evidence,
        "expires_on": consent.expires_on.isoformat() if consent.expires_on else None,
        "status": status,
        "valid": status == "valid",
        "recorded_by": user_ref(consent.recorded_by),
        "recorded_at": iso(consent.recorded_at),
        "revoked_at": iso(consent.revoked_at),
        "revoked_by": user_ref(consent.revoked_by),
        "revocation_reason": consent.revocation_reason,
        "review_task_id": review_task_id,
    }


# --- writing ------------------------------------------------------------------------------------------------

def record_consent(engine, actor: Actor, case_id: int, payload) -> dict:
    """Record a consent given for one purpose (with its agency for data sharing and referral)."""
    actor.require(*WRITERS, action="record consents")
    data = inputs.load(inputs.ConsentIn(), payload)
    with engine.db.write() as session:
        case = _case_to_write(session, actor, case_id)
        if case.status != "open":
            raise Conflict(N_("The case is closed: consents are recorded while it is open."))
        now = engine.now()
        today = local_today(session, case, now)
        errors = {}
        person_id = _person_of(case, data["person_id"], errors)
        if data["given_at"] > today:
            errors["given_at"] = [N_("The consent cannot be given in the future.")]
        if errors:
            raise InvalidInput("Some fields are not valid.", fields=errors)
        representative = data["given_by"] == "legal_representative"
        consent = Consent(
            case_id=case.id, person_id=person_id, purpose=data["purpose"],
            agency=_clean(data["agency"]) if data["purpose"] in AGENCY_PURPOSES else None,
            given_by=data["given_by"],
            representative_name=_clean(data["representative_name"]) if representative else None,
            representative_relation=_clean(data["representative_relation"]) if representative else None,
            given_at=data["given_at"], evidence=data["evidence"].strip(), expires_on=data["expires_on"],
            recorded_by_id=actor.id, recorded_at=now)
        session.add(consent)
        session.flush()
        # The audit names what was consented to, not the evidence or the representative (no personal data).
        record(session, now, "consent.recorded", actor_id=actor.id, case_id=case.id, consent_id=consent.id,
               purpose=consent.purpose, agency=consent.agency, given_by=consent.given_by,
               given_at=consent.given_at.isoformat(),
               expires_on=consent.expires_on.isoformat() if consent.expires_on else None)
        session.refresh(consent)
        return consent_view(consent, today)


def revoke_consent(engine, actor: Actor, consent_id: int, payload, *, case_id: int | None = None) -> dict:
    """Record that a consent was revoked, with the reason, and open a task for the case's social worker to
    review the case (what was shared, the referrals in progress). ``case_id``: the consent must be of it."""
    actor.require(*WRITERS, action="revoke consents")
    data = inputs.load(inputs.RevokeConsentIn(), payload)
    with engine.db.write() as session:
        found = session.scalar(select(Consent.case_id).join(Case, Case.id == Consent.case_id)
                               .where(Consent.id == consent_id, case_scope(actor))) if _is_id(consent_id) else None
        if found is None or (case_id is not None and found != case_id):
            raise NotFound(f"There is no consent {consent_id} that you may see.")
        case = lock_case(session, found)
        _check_writer(actor, case)
        consent = session.get(Consent, consent_id, populate_existing=True)
        if consent.revoked_at is not None:
            raise Conflict(f"This consent was already revoked on {consent.revoked_at:%Y-%m-%d}.")
        now = engine.now()
        consent.revoked_at, consent.revoked_by_id, consent.revocation_reason = now, actor.id, data["reason"].strip()
        task = _open_review_task(session, case, consent, now)
        record(session, now, "consent.revoked", actor_id=actor.id, case_id=case.id, task_id=task.id,
               consent_id=consent.id, purpose=consent.purpose, agency=consent.agency, reason=data["reason"].strip())
        recipients = [task.assignee_id] if task.assignee_id else holders_of(session, task.role, case.district_id)
        notify(engine, session, [u for u in recipients if u != actor.id], "consent.revoked", case_id=case.id,
               task_id=task.id, purpose=consent.purpose, subject=case.subject_name)
        session.flush()
        session.refresh(consent)
        return consent_view(consent, local_today(session, case, now), task.id)


def _open_review_task(session, case, consent, now) -> Task:
    """The worker's task "Consent revoked: <purpose> (<agency>) — review the case" (kind ``consent``)."""
    target = assign(session, case, "social_worker")
    what = PURPOSE_WORDS[consent.purpose] + (f" ({consent.agency})" if consent.agency else "")
    task = Task(id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"yordam:consent:{consent.id}:revoked")), case_id=case.id,
                bpmn_id=REVIEW_TASK, title=f"Consent revoked: {what} — review the case"[:300],
                lane="social_worker", role=target.role, assignee_id=target.assignee_id,
                district_id=case.district_id, mahalla_id=case.mahalla_id, form_key=None, stage=case.stage,
                state="open", created_at=now, kind="consent", consent_id=consent.id, escalation_level=0)
    session.add(task)
    return task


def complete_review(engine, session, actor: Actor, task: Task, data: dict) -> None:
    """The worker marks a consent task done (optionally saying what they did). The caller holds the case lock
    and has checked the task is open and the actor may act on it."""
    payload = inputs.load(inputs.ConsentTaskIn(), data)
    now = engine.now()
    task.state, task.completed_at, task.completed_by_id = "completed", now, actor.id
    if task.assignee_id is None:
        task.assignee_id = actor.id
    comment = (payload.get("comment") or "").strip() or None
    record(session, now, "consent.reviewed", actor_id=actor.id, case_id=task.case_id, task_id=task.id,
           consent_id=task.consent_id, comment=comment)


def require_consent(engine, session, case: Case, task: Task, answers: dict) -> None:
    """Refuse to complete a task whose ``requires_consent`` has no valid consent today (nothing changes).
    For data sharing and referral, the agency is the answer to the task's ``consent_agency_field``, if given;
    without one, a consent for any agency will do."""
    rule = task.requires_consent
    if not rule:
        return
    purpose = rule.get("purpose")
    agency = answers.get(rule["agency_field"]) if rule.get("agency_field") else None
    agency = agency.strip() if isinstance(agency, str) and agency.strip() and purpose in AGENCY_PURPOSES else None
    if valid_consent(session, case.id, purpose, agency, on=local_today(session, case, engine.now())) is None:
        what = PURPOSE_WORDS.get(purpose, purpose) + (f" ({agency})" if agency else "")
        raise Conflict(f"A valid consent for {what} is needed before this step: record it on the case page.",
                       consent_purpose=purpose, consent_agency=agency)


# --- helpers ------------------------------------------------------------------------------------------------

def _is_id(value) -> bool:
    return isinstance(value, int) and 1 <= value <= inputs.MAX_ID


def _case_to_write(session, actor, case_id) -> Case:
    """The case, in scope, locked (the one lock order of every change), and the actor allowed to write."""
    case = visible_case(session, actor, case_id)
    case = lock_case(session, case.id)
    _check_writer(actor, case)
    return case


def may_write(actor: Actor, *, owner_id: int, mahalla_id: int) -> bool:
    """Whether the actor may record and revoke the consents of a case they can see (owner and mahalla given)."""
    if actor.role == "social_worker":
        return owner_id == actor.id or mahalla_id in actor.mahalla_ids
    return actor.role in WRITERS


def _check_writer(actor, case) -> None:
    if not may_write(actor, owner_id=case.owner_id, mahalla_id=case.mahalla_id):
        raise NotAllowed(N_("Only the case's social worker, a worker of its mahalla or a supervisor may record "
                            "or revoke its consents."))
    if actor.role in ("supervisor", "center_head") and case.district_id != actor.district_id:
        raise NotFound(f"There is no case {case.id} that you may see.")


def _person_of(case, person_id, errors) -> int | None:
    """The person the consent is about: the case's person, or a member of its household."""
    if case.subject_kind == "person":
        if person_id not in (None, case.person_id):
            errors["person_id"] = [N_("Choose the case's person.")]
        return case.person_id
    members = [m.person_id for m in case.household.members]
    if person_id is None:
        errors["person_id"] = [N_("Choose the member of the household the consent is about.")]
    elif person_id not in members:
        errors["person_id"] = [N_("Choose a member of the case's household.")]
    return person_id


def _clean(text):
    text = (text or "").strip()
    return " ".join(text.split()) if text else None
