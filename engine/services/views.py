"""Plain dictionaries of what users read: the same shapes serve the API and the HTML pages."""
from __future__ import annotations

from ..deadlines.explain import explain
from ..i18n import gettext, ngettext
from .notifications import PURPOSE_NAMES


def iso(dt):
    return dt.isoformat() if dt else None


def user_ref(user):
    return {"id": user.id, "username": user.username, "full_name": user.full_name} if user else None


def case_summary(case) -> dict:
    return {
        "id": case.id,
        "subject_name": case.subject_name,
        "subject_kind": case.subject_kind,
        "mahalla": {"id": case.mahalla.id, "name": case.mahalla.name},
        "owner": user_ref(case.owner),
        "stage": case.stage,
        "status": case.status,
        "anonymised": case.anonymised_at is not None,
        "risk_level": case.risk_level,
        "categories": list(case.categories or []),
        "opened_at": iso(case.opened_at),
        "closed_at": iso(case.closed_at),
        "on_hold": case.held_since is not None,
        "held_since": iso(case.held_since),
        "hold_reason": case.hold_reason,
    }


def task_view(task, now, *, language: str = "en", calendars=None, titles=None) -> dict:
    """A task as its reader sees it; ``calendars`` (district → working calendar) lets the view explain the
    deadline and count lateness in working days."""
    held = task.case.held_since is not None
    calendar = calendars(task.district_id) if calendars else None
    titles = titles or (lambda text: text)
    view = {
        "id": task.id,
        "case_id": task.case_id,
        "kind": task.kind,
        "subject_name": task.case.subject_name,
        "mahalla": {"id": task.mahalla_id, "name": task.case.mahalla.name},
        "name": task.bpmn_id,
        "title": _title(task, now, language, calendar, titles),
        "role": task.role,
        "lane": task.lane,
        "assignee": user_ref(task.assignee),
        "stage": task.stage,
        "form_key": task.form_key,
        "state": task.state,
        "created_at": iso(task.created_at),
        "due_at": iso(task.due_at),
        # A case on hold has its clocks stopped: nothing of it is overdue until it resumes.
        "overdue": bool(task.state == "open" and task.due_at and task.due_at < now and not held),
        "clock_stopped": held and task.state == "open" and task.due_at is not None,
        "deadline_explanation": explain(task.deadline, language, calendar) if calendar and task.deadline else None,
        "escalation_level": task.escalation_level or 0,
        "completed_at": iso(task.completed_at),
        "completed_by": user_ref(task.completed_by),
    }
    if task.requires_consent:
        view["requires_consent"] = {"purpose": task.requires_consent.get("purpose"),
                                    "agency_field": task.requires_consent.get("agency_field")}
    if task.kind == "consent" and task.consent is not None:
        consent = task.consent
        view["consent"] = {"id": consent.id, "purpose": consent.purpose, "agency": consent.agency,
                           "revoked_at": iso(consent.revoked_at), "revocation_reason": consent.revocation_reason}
    if task.kind == "escalation" and task.escalates is not None:
        view["escalates"] = {"id": task.escalates.id, "title": titles(task.escalates.title),
                             "due_at": iso(task.escalates.due_at), "state": task.escalates.state,
                             "assignee": user_ref(task.escalates.assignee), "rung": task.rung}
        view["actions"] = ["reassign", "extend", "acknowledge"] if task.escalates.state == "open" \
            else ["acknowledge"]
    return view


def _title(task, now, language, calendar, titles) -> str:
    """Process tasks show the methodologist's title (translated beside the process); an escalation says what is
    late and by how much."""
    if task.kind == "consent" and task.consent is not None:
        return consent_task_title(task.consent, language)
    if task.kind != "escalation" or task.escalates is None:
        return titles(task.title)
    overdue = task.escalates
    until = now if task.state == "open" else (task.completed_at or now)
    if task.case.held_since is not None:  # the clock stopped with the hold
        until = min(until, task.case.held_since)
    days = max(0, calendar.working_days_between(overdue.due_at, until)) if calendar and overdue.due_at else 0
    if days:
        lateness = ngettext(language, "%(num)d working day late", "%(num)d working days late", days)
    else:
        lateness = gettext(language, "due today")
    return gettext(language, "Overdue: “%(task)s” of %(subject)s, %(lateness)s", task=titles(overdue.title),
                   subject=task.case.subject_name, lateness=lateness)


def consent_task_title(consent, language: str) -> str:
    """The review task a revoked consent opens, in the reader's language."""
    purpose = gettext(language, PURPOSE_NAMES[consent.purpose])
    if consent.agency:
        return gettext(language, "Consent revoked: %(purpose)s (%(agency)s) — review the case", purpose=purpose,
                       agency=consent.agency)
    return gettext(language, "Consent revoked: %(purpose)s — review the case", purpose=purpose)


def timeline_entry(event) -> dict:
    return {"at": iso(event.at), "action": event.action, "actor": user_ref(event.actor),
            "task_id": event.task_id, "details": dict(event.details or {})}
