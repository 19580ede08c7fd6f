"""A case's timeline told in plain language, in the reader's language, with the real names from the data:
"On Thu 15 Jan, Nodira Yusupova (supervisor) returned the service plan with the comment: “…”",
"“Home visit and needs assessment” was 2 working days late."

Rendered at read time from the audit trail (``AuditEvent``), the task rows and the users, like the deadline
explanations (``engine.deadlines.explain``): nothing is stored in a language. The messages are English msgids
found by ``pybabel extract -k tr:2 -k ngettext:2,3``; a translator fills the catalogues later.

What is told, and what is not
=============================
Told: ``case.opened``, ``task.opened``, ``task.completed`` (with its decision, comment, outcome, closure
reason, the need found, and its lateness), ``task.cancelled``, ``task.assigned``, ``task.escalated``,
``escalation.decided``, ``task.deadline_extended``, ``case.held``, ``case.resumed``, ``case.closed``,
``consent.recorded``, ``consent.revoked``, ``consent.reviewed``.

Skipped, as noise for a social worker or supervisor reading the case:

* ``case.viewed`` (who read the case: the audit keeps it, the story does not), ``task.draft_saved``,
  ``task.claimed`` (the completion names who did the task), ``task.reminded`` (a reminder changes nothing),
  ``escalation.resolved`` (an escalation closed by itself because its task was done or extended: the
  completion or extension is told), ``timer.fired`` (a process timer: the task it opens is told);
* the ``task.assigned`` and ``task.deadline_extended`` written by an escalation decision, which is told once,
  as the decision;
* any action this module does not know (the raw ``timeline`` still lists every event).

Each entry: ``{"at": iso, "text": str, "actor": {id, username, full_name} | None, "action": str,
"task_id": str | None, "late_working_days": int | None}``. ``late_working_days`` is set when the event is
about a late task (a completion after the due instant, an escalation): the working days between the due
instant and the event (0 = late, but still on its due day); it is None for everything else, including a task
done on time. Actors are named with their role in brackets unless they are social workers, the usual actors of
a case.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db.models import AuditEvent, Task, User
from ..i18n import N_, day, moment, ngettext
from ..i18n import gettext as tr
from .deadlines import calendar_for
from .notifications import PURPOSE_NAMES, ROLE_NAMES
from .views import iso, user_ref

SKIPPED = frozenset({"case.viewed", "case.break_glass_closed", "task.draft_saved", "task.claimed", "task.reminded", "escalation.resolved",
                     "timer.fired"})

#: What a decision form decides on, for the shipped forms ("approved the service plan"); another form's
#: decision is told with its task's title.
DECISION_OBJECTS = {
    "recognition_of_need": N_("the recognition of need"),
    "plan_approval": N_("the service plan"),
    "closure_approval": N_("the closure of the case"),
    "closure_confirmation": N_("the closure of the high-risk case"),
}
CHANNELS = {
    "mahalla": N_("the mahalla"), "self": N_("the client themselves"), "polyclinic": N_("the polyclinic"),
    "school": N_("a school"), "police": N_("the police"), "information_system": N_("an information system"),
    "other": N_("another source"),
}
WAITING_FOR = {"client": N_("waiting for the client"), "agency": N_("waiting for another agency"),
               "other": N_("waiting")}
CLOSURE_REASONS = {
    "goals_achieved": N_("goals achieved"), "moved_away": N_("the client moved away"),
    "refused_services": N_("the client refused services"), "deceased": N_("the client died"),
    "transferred": N_("transferred to another service"), "no_longer_eligible": N_("no longer eligible"),
    "not_in_need": N_("not in need of social services"),
}
OUTCOMES = {"continue": N_("The services continue."), "revise_plan": N_("The service plan is to be revised."),
            "close": N_("Closing the case is proposed.")}
#: Reasons the engine itself writes (assignment.py, users.py), so that they can be translated too.
SYSTEM_REASONS = (N_("the assignee was deactivated"), N_("the case owner is deactivated"),
                  N_("the task is in no lane"))


def case_timeline(engine, session, case, language: str) -> list[dict]:
    """The told timeline of ``case``: its audit events (not the reads of it) with their actors, narrated."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                      AuditEvent.action != "case.viewed")
                             .options(selectinload(AuditEvent.actor))
                             .order_by(AuditEvent.at, AuditEvent.id)).all()
    return narrate(session, case, events, language, calendar_for(session, case.district_id))


def narrate(session, case, events, language: str, calendar) -> list[dict]:
    """One entry per event worth telling (see the module's docstring), in the order given."""
    story = _Story(session, case, events, language, calendar)
    entries = []
    for event in events:
        teller = TELLERS.get(event.action)
        if teller is None or event.action in SKIPPED or story.told_by_decision(event):
            continue
        told = teller(story, event)
        text, late = told if isinstance(told, tuple) else (told, None)
        entries.append({"at": iso(event.at), "text": text, "actor": user_ref(event.actor), "action": event.action,
                        "task_id": event.task_id, "late_working_days": late})
    return entries


class _Story:
    """What the sentences need beyond the event: task rows, users named by id, the reader's language."""

    def __init__(self, session, case, events, language, calendar):
        self.case, self.language, self.calendar = case, language, calendar
        self.tasks = {t.id: t for t in session.scalars(select(Task).where(Task.case_id == case.id))}
        ids = set()
        for event in events:
            details = event.details or {}
            ids.update(details.get(key) for key in ("owner_id", "assignee_id", "from_user_id", "to_user_id"))
        ids.discard(None)
        self.users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
        # An escalation decided by reassigning or extending also wrote the assignment or the extension.
        self._decided = {(e.at, (e.details or {}).get("overdue_task_id")) for e in events
                         if e.action == "escalation.decided"
                         and (e.details or {}).get("decision") in ("reassign", "extend")}

    def told_by_decision(self, event) -> bool:
        return event.action in ("task.assigned", "task.deadline_extended") and \
            (event.at, event.task_id) in self._decided

    # --- words ----------------------------------------------------------------------------------------------

    def day(self, instant: datetime) -> str:
        return day(self.language, self.calendar.local_date(instant))

    def moment(self, instant: datetime) -> str:
        return moment(self.language, instant, self.calendar.tz)

    def role(self, role: str | None) -> str:
        return tr(self.language, ROLE_NAMES[role]) if role in ROLE_NAMES else (role or "—")

    def who(self, user) -> str:
        """A person by full name; anyone but a social worker with the role in brackets."""
        if user is None:
            return tr(self.language, "the system")
        if user.role == "social_worker":
            return user.full_name
        return tr(self.language, "%(name)s (%(role)s)", name=user.full_name, role=self.role(user.role))

    def user_name(self, user_id) -> str:
        user = self.users.get(user_id)
        return user.full_name if user else "—"

    def title(self, task_id, fallback=None) -> str:
        task = self.tasks.get(task_id)
        return task.title if task else (fallback or "—")

    def reason(self, text) -> str:
        text = (text or "—").strip().rstrip(".")
        return tr(self.language, text) if text in SYSTEM_REASONS else text

    def late(self, task_title: str, days: int) -> str:
        if days <= 0:
            return tr(self.language, "“%(task)s” was done after its deadline, on its due day.", task=task_title)
        return ngettext(self.language, "“%(task)s” was %(num)d working day late.",
                        "“%(task)s” was %(num)d working days late.", days, task=task_title)


# --- one teller per action ------------------------------------------------------------------------------------

def _case_opened(story, event):
    lang, details = story.language, event.details or {}
    channel = details.get("channel")
    text = tr(lang, "On %(day)s, %(who)s opened the case of %(subject)s (referred by %(channel)s).",
              who=story.who(event.actor), subject=story.case.subject_name, day=story.day(event.at),
              channel=tr(lang, CHANNELS[channel]) if channel in CHANNELS else (channel or "—"))
    owner = details.get("owner_id")
    if owner and owner != event.actor_id:
        text += " " + tr(lang, "The case was given to %(owner)s.", owner=story.user_name(owner))
    return text


def _task_opened(story, event):
    lang, details = story.language, event.details or {}
    task = story.tasks.get(event.task_id)
    title = task.title if task else details.get("title", "—")
    due = _first_due(task)
    if details.get("assignee_id"):
        params = {"task": title, "assignee": story.user_name(details["assignee_id"])}
        if due:
            text = tr(lang, "“%(task)s” was given to %(assignee)s; due %(due)s.", due=story.moment(due), **params)
        else:
            text = tr(lang, "“%(task)s” was given to %(assignee)s.", **params)
    else:
        params = {"task": title, "role": story.role(details.get("role"))}
        if due:
            text = tr(lang, "“%(task)s” went to the %(role)s queue; due %(due)s.", due=story.moment(due), **params)
        else:
            text = tr(lang, "“%(task)s” went to the %(role)s queue.", **params)
    return text + _rerouted(story, details)


def _rerouted(story, details) -> str:
    if not details.get("rerouted_because"):
        return ""
    return " " + tr(story.language, "Rerouted because %(reason)s.",
                    reason=story.reason(details["rerouted_because"]))


def _first_due(task) -> datetime | None:
    """The due instant the task was given when it opened (later moves are told when they happen)."""
    if task is None:
        return None
    if task.deadline and task.deadline.get("computed_due"):
        return datetime.fromisoformat(task.deadline["computed_due"])
    return task.due_at


def _task_completed(story, event):
    lang, details = story.language, event.details or {}
    task = story.tasks.get(event.task_id)
    title = task.title if task else details.get("title", "—")
    parts = [_decision(story, event, details, task, title)]
    if details.get("in_need") == "yes":
        parts.append(tr(lang, "The client was found to be in need of social services."))
    elif details.get("in_need") == "no":
        parts.append(tr(lang, "The client was found not to be in need of social services."))
    outcome = OUTCOMES.get(details.get("outcome"))
    if outcome:
        parts.append(tr(lang, outcome))
    if details.get("closure_reason"):
        parts.append(tr(lang, "Proposed reason for closing: %(reason)s.",
                        reason=_closure_reason(story, details["closure_reason"])))
    late = None
    # The task's due instant is final once it is done: holds and extensions only move open tasks.
    if task is not None and task.due_at is not None and event.at > task.due_at:
        late = max(0, story.calendar.working_days_between(task.due_at, event.at))
        parts.append(story.late(title, late))
    return " ".join(parts), late


def _decision(story, event, details, task, title) -> str:
    lang, who, when = story.language, story.who(event.actor), story.day(event.at)
    decision, comment = details.get("decision"), str(details.get("comment") or "").strip()
    form_key = task.form_key if task else None
    if form_key in DECISION_OBJECTS:
        thing = tr(lang, DECISION_OBJECTS[form_key])
    else:
        thing = tr(lang, "“%(task)s”", task=title)
    if decision == "returned":
        if comment:  # the comment is what the worker must act on: it belongs in the sentence
            return tr(lang, "On %(day)s, %(who)s returned %(thing)s with the comment: “%(comment)s”",
                      who=who, thing=thing, day=when, comment=comment)
        return tr(lang, "On %(day)s, %(who)s returned %(thing)s for rework.", who=who, thing=thing, day=when)
    if decision == "approved":
        text = tr(lang, "On %(day)s, %(who)s approved %(thing)s.", who=who, thing=thing, day=when)
    elif decision == "rejected":
        text = tr(lang, "On %(day)s, %(who)s rejected %(thing)s.", who=who, thing=thing, day=when)
    elif decision:
        text = tr(lang, "On %(day)s, %(who)s decided “%(decision)s” on %(thing)s.", who=who, decision=decision,
                  thing=thing, day=when)
    else:
        text = tr(lang, "On %(day)s, %(who)s completed “%(task)s”.", who=who, task=title, day=when)
    return f"{text} {_comment(lang, comment)}" if comment else text


def _comment(language, comment) -> str:
    return tr(language, "Comment: “%(comment)s”", comment=comment)


def _closure_reason(story, reason) -> str:
    return tr(story.language, CLOSURE_REASONS[reason]) if reason in CLOSURE_REASONS else str(reason)


def _task_cancelled(story, event):
    title = story.title(event.task_id, (event.details or {}).get("bpmn_id"))
    return tr(story.language, "“%(task)s” was cancelled on %(day)s: the case went another way.", task=title,
              day=story.day(event.at))


def _task_assigned(story, event):
    lang, details = story.language, event.details or {}
    title, when, reason = story.title(event.task_id), story.day(event.at), story.reason(details.get("reason"))
    if details.get("to_user_id") is None:
        return tr(lang, "“%(task)s” went back to the %(role)s queue on %(day)s: %(reason)s.", task=title,
                  role=story.role(details.get("to_queue")), day=when, reason=reason)
    params = {"who": story.who(event.actor), "task": title, "to": story.user_name(details["to_user_id"]),
              "day": when, "reason": reason}
    if details.get("from_user_id"):
        return tr(lang, "%(who)s gave “%(task)s” from %(from)s to %(to)s on %(day)s: %(reason)s.",
                  **{"from": story.user_name(details["from_user_id"])}, **params)
    return tr(lang, "%(who)s gave “%(task)s” to %(to)s on %(day)s: %(reason)s.", **params)


def _task_escalated(story, event):
    lang, details = story.language, event.details or {}
    params = {"task": story.title(event.task_id), "role": story.role(details.get("role")),
              "day": story.day(event.at)}
    late = int(details.get("late_working_days") or 0)
    if late > 0:
        text = ngettext(lang, "“%(task)s” was %(num)d working day late; on %(day)s it was escalated to the "
                              "%(role)s.",
                        "“%(task)s” was %(num)d working days late; on %(day)s it was escalated to the %(role)s.",
                        late, **params)
    else:
        text = tr(lang, "“%(task)s” was not done by its deadline; on %(day)s it was escalated to the %(role)s.",
                  **params)
    return text + _rerouted(story, details), late


def _escalation_decided(story, event):
    lang, details = story.language, event.details or {}
    params = {"who": story.who(event.actor), "task": story.title(details.get("overdue_task_id")),
              "day": story.day(event.at), "reason": story.reason(details.get("reason"))}
    decision = details.get("decision")
    if decision == "reassign":
        return tr(lang, "%(who)s answered the escalation about “%(task)s” on %(day)s by giving the task to "
                        "%(to)s: %(reason)s.", to=story.user_name(details.get("to_user_id")), **params)
    if decision == "extend" and details.get("due_after"):
        return tr(lang, "%(who)s answered the escalation about “%(task)s” on %(day)s by moving its deadline to "
                        "%(due)s: %(reason)s.", due=story.moment(datetime.fromisoformat(details["due_after"])),
                  **params)
    text = tr(lang, "On %(day)s, %(who)s acknowledged the escalation about “%(task)s”.", **params)
    comment = str(details.get("comment") or "").strip()
    return f"{text} {_comment(lang, comment)}" if comment else text


def _deadline_extended(story, event):
    lang, details = story.language, event.details or {}
    params = {"who": story.who(event.actor), "task": story.title(event.task_id), "day": story.day(event.at),
              "after": story.moment(datetime.fromisoformat(details["due_after"])),
              "reason": story.reason(details.get("reason"))}
    if details.get("due_before"):
        return tr(lang, "%(who)s moved the deadline of “%(task)s” from %(before)s to %(after)s on %(day)s: "
                        "%(reason)s.", before=story.moment(datetime.fromisoformat(details["due_before"])), **params)
    return tr(lang, "%(who)s set the deadline of “%(task)s” to %(after)s on %(day)s: %(reason)s.", **params)


def _case_held(story, event):
    lang, details = story.language, event.details or {}
    waiting = details.get("waiting_for")
    return tr(lang, "Put on hold by %(who)s on %(day)s (%(waiting)s): %(reason)s.", who=story.who(event.actor),
              day=story.day(event.at), reason=story.reason(details.get("reason")),
              waiting=tr(lang, WAITING_FOR[waiting]) if waiting in WAITING_FOR else (waiting or "—"))


RECTIFIED_FIELDS = {"full_name": N_("the name"), "birth_date": N_("the birth date"), "sex": N_("the sex")}


def _person_rectified(story, event):
    details = event.details or {}
    before = details.get("before") or {}
    changed = []
    for name, label in RECTIFIED_FIELDS.items():
        if name not in before:
            continue
        old = before[name]
        if name == "sex" or not old:
            changed.append(tr(story.language, label))
            continue
        if name == "birth_date":
            old = day(story.language, date.fromisoformat(old))
        changed.append(tr(story.language, "%(field)s (was “%(old)s”)", field=tr(story.language, label), old=old))
    return tr(story.language, "%(who)s corrected %(what)s on %(day)s at the person's request: %(reason)s.",
              who=story.who(event.actor), what=", ".join(changed) or "—", day=story.day(event.at),
              reason=story.reason(details.get("reason")))


def _break_glass_opened(story, event):
    details = event.details or {}
    return tr(story.language, "%(who)s (administrator) opened break-glass access to this case on %(day)s for "
                              "%(minutes)s minutes: %(reason)s.", who=story.who(event.actor), day=story.day(event.at),
              minutes=details.get("minutes", "—"), reason=story.reason(details.get("reason")))


def _case_resumed(story, event):
    lang, details = story.language, event.details or {}
    who, when = story.who(event.actor), story.day(event.at)
    moved = [story.calendar.working_days_between(datetime.fromisoformat(m["due_before"]),
                                                 datetime.fromisoformat(m["due_after"]))
             for m in details.get("moved") or [] if m.get("due_before") and m.get("due_after")]
    if not moved:
        return tr(lang, "Resumed by %(who)s on %(day)s; no deadline had to move.", who=who, day=when)
    return ngettext(lang, "Resumed by %(who)s on %(day)s; deadlines moved by %(num)d working day.",
                    "Resumed by %(who)s on %(day)s; deadlines moved by %(num)d working days.", max(moved),
                    who=who, day=when)


def _case_closed(story, event):
    lang, reason, when = story.language, (event.details or {}).get("reason"), story.day(event.at)
    if event.actor is None:
        if reason:
            return tr(lang, "The case was closed on %(day)s: %(reason)s.", day=when,
                      reason=_closure_reason(story, reason))
        return tr(lang, "On %(day)s, the case was closed.", day=when)
    if reason:
        return tr(lang, "%(who)s closed the case on %(day)s: %(reason)s.", who=story.who(event.actor), day=when,
                  reason=_closure_reason(story, reason))
    return tr(lang, "On %(day)s, %(who)s closed the case.", who=story.who(event.actor), day=when)


def _consent_what(story, details) -> str:
    purpose = details.get("purpose")
    what = tr(story.language, PURPOSE_NAMES[purpose]) if purpose in PURPOSE_NAMES else (purpose or "—")
    return f"{what} ({details['agency']})" if details.get("agency") else what


def _consent_recorded(story, event):
    return tr(story.language, "On %(day)s, %(who)s recorded a consent for %(what)s.", who=story.who(event.actor),
              day=story.day(event.at), what=_consent_what(story, event.details or {}))


def _consent_revoked(story, event):
    details = event.details or {}
    return tr(story.language, "On %(day)s, %(who)s recorded that the consent for %(what)s was revoked: %(reason)s.",
              who=story.who(event.actor), day=story.day(event.at), what=_consent_what(story, details),
              reason=story.reason(details.get("reason")))


def _consent_reviewed(story, event):
    text = tr(story.language, "On %(day)s, %(who)s reviewed the case after a consent was revoked.",
              who=story.who(event.actor), day=story.day(event.at))
    comment = str((event.details or {}).get("comment") or "").strip()
    return f"{text} {_comment(story.language, comment)}" if comment else text


TELLERS = {
    "case.opened": _case_opened,
    "task.opened": _task_opened,
    "task.completed": _task_completed,
    "task.cancelled": _task_cancelled,
    "task.assigned": _task_assigned,
    "task.escalated": _task_escalated,
    "escalation.decided": _escalation_decided,
    "task.deadline_extended": _deadline_extended,
    "case.held": _case_held,
    "case.break_glass_opened": _break_glass_opened,
    "person.rectified": _person_rectified,
    "case.resumed": _case_resumed,
    "case.closed": _case_closed,
    "consent.recorded": _consent_recorded,
    "consent.revoked": _consent_revoked,
    "consent.reviewed": _consent_reviewed,
}
