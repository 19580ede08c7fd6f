"""In-app notifications, and their e-mail copies through an outbox (off by default).

A notification stores what happened (``kind`` + ``params``), not a sentence: each reader sees it in their
own language. E-mails are written to the outbox in the same transaction as their cause, so a rolled-back
step never mails anyone, and are sent later by ``yordam outbox send``.
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from ..db.models import Notification, OutboxEmail, User
from ..errors import NotFound
from ..i18n import N_, gettext
from .actors import Actor

#: kind → message; params are filled in at read time.
MESSAGES = {
    "task.reminder": N_("Reminder: “%(task)s” for %(subject)s is due %(due)s."),
    "task.overdue": N_("“%(task)s” for %(subject)s is overdue; it was escalated to the %(role)s."),
    "escalation.opened": N_("Overdue: “%(task)s” for %(subject)s needs your decision."),
    "task.assigned": N_("You were given “%(task)s” for %(subject)s."),
    "deadline.extended": N_("The deadline of “%(task)s” for %(subject)s was moved to %(due)s."),
    "case.held": N_("%(who)s put the case of %(subject)s on hold: %(reason)s"),
    "tasks.handed_over": N_("%(source)s's open tasks were handed over to you (%(count)s)."),
    "case.break_glass": N_("%(who)s opened break-glass access to case No. %(case)s: %(reason)s"),
    "consent.revoked": N_("The consent for %(purpose)s of %(subject)s was revoked: review the case."),
}
#: What a consent is for (the consent register), as words inside a sentence.
PURPOSE_NAMES = {"assessment": N_("assessment"), "data_sharing": N_("data sharing"), "referral": N_("referral")}
ROLE_NAMES = {
    "social_worker": N_("social worker"), "supervisor": N_("supervisor"), "center_head": N_("centre head"),
    "specialist": N_("specialist"),
}


def notify(engine, session, user_ids, kind: str, *, case_id=None, task_id=None, **params) -> None:
    now = engine.now()
    for user_id in sorted(set(u for u in user_ids if u)):
        session.add(Notification(user_id=user_id, kind=kind, case_id=case_id, task_id=task_id, params=params,
                                 created_at=now))
        if engine.settings.email_outbox:
            _queue_email(session, user_id, kind, params, now)


def _queue_email(session, user_id, kind, params, now):
    user = session.get(User, user_id)
    if user is None or not user.email:
        return
    text = render(kind, params, user.language)
    session.add(OutboxEmail(to_address=user.email, subject=text[:300], body=text, created_at=now))


def render(kind: str, params: dict, language: str) -> str:
    values = dict(params)
    if "role" in values:
        values["role"] = gettext(language, ROLE_NAMES.get(values["role"], values["role"]))
    purpose = PURPOSE_NAMES.get(values.get("purpose"))
    if purpose:
        values["purpose"] = gettext(language, purpose)
    if isinstance(values.get("due"), str):
        from datetime import datetime
        from ..i18n import day
        values["due"] = day(language, datetime.fromisoformat(values["due"]).date())
    try:
        return gettext(language, MESSAGES[kind]) % values
    except (KeyError, TypeError, ValueError):
        return kind  # an unknown or damaged entry still shows something rather than failing the list


def holders_of(session, role: str, district_id: int) -> list[int]:
    return list(session.scalars(select(User.id).where(User.role == role, User.district_id == district_id,
                                                      User.is_active.is_(True))))


def list_notifications(engine, actor: Actor, *, unread=False, limit=50, offset=0, language=None) -> dict:
    language = language or actor.language
    query = select(Notification).where(Notification.user_id == actor.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    with engine.db.read() as session:
        rows = session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                               .limit(limit).offset(offset)).all()
        unread_count = session.scalar(select(func.count()).select_from(Notification)
                                      .where(Notification.user_id == actor.id, Notification.read_at.is_(None)))
        return {"items": [_view(n, language) for n in rows], "unread": unread_count, "limit": limit,
                "offset": offset}


def _view(n: Notification, language: str) -> dict:
    return {"id": n.id, "kind": n.kind, "text": render(n.kind, n.params or {}, language), "case_id": n.case_id,
            "task_id": n.task_id, "created_at": n.created_at.isoformat(),
            "read_at": n.read_at.isoformat() if n.read_at else None}


def mark_read(engine, actor: Actor, notification_id: int | None = None) -> dict:
    """Mark one notification (or, with no id, all of them) read; returns the unread count left."""
    with engine.db.write() as session:
        query = update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        if notification_id is not None:
            if not 1 <= notification_id <= 2**31 - 1:
                raise NotFound(f"There is no notification {notification_id} of yours.")
            exists = session.scalar(select(Notification.id).where(Notification.id == notification_id,
                                                                  Notification.user_id == actor.id))
            if exists is None:
                raise NotFound(f"There is no notification {notification_id} of yours.")
            query = query.where(Notification.id == notification_id)
        session.execute(query.values(read_at=engine.now()).execution_options(synchronize_session=False))
        left = session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == actor.id, Notification.read_at.is_(None)))
        return {"unread": left}


def unread_count(engine, actor: Actor) -> int:
    with engine.db.read() as session:
        return session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == actor.id, Notification.read_at.is_(None)))
