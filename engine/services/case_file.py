"""The case file: the whole case as a centre hands it over (to a court, another district, an archive).

Not the person's own request for their data (``retention.export_case``, "Personal data held"): this is the
professional file, in the reader's language:

* ``case`` — the case as its page shows it (subject, mahalla, owner, stage, status, risk, categories, process
  version), with ``open_tasks``;
* ``forms`` — every completed form of the case in the order it was completed, each with its raw ``answers``
  (the case data as the process holds it, read from the task's own data in the process state, so earlier answers
  that a later form replaced are there too) and ``fields``: the same answers with the form's labels and the
  labels of the choices, translated by the form's ``.i18n.json``;
* ``plan_versions`` — each completion of the individual service plan form (the first plan, a plan returned for
  rework, a revision after monitoring), with why it was drawn up again and the decision taken on it;
* ``timeline`` — the case's story (``narrative.narrate``) and ``events``, the raw audit rows (not the reads);
* ``documents`` — the documents issued (audit rows ``document.issued``): name, language, when, by whom;
* ``deadlines`` (met, missed, open, overdue, with working days late), ``escalations``, ``holds``, ``consents``.

Who may read the case may export its file (``visible_case``: the case page's rule, with an administrator's
break-glass access). Every export is logged as a read of the case (``case.viewed``, the access log) and as
``case.file_exported`` with its format. Shape changes bump ``FORMAT_VERSION``.
"""
from __future__ import annotations

from datetime import date, datetime

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db.models import AuditEvent, Consent, OrgUnit, Task
from ..errors import InvalidInput
from ..i18n import N_, babel_locale, day_with_year, gettext, moment
from .actors import Actor, visible_case
from .audit import record
from .cases import PLAN_FORM, _detail
from .consents import consent_view, local_today
from .deadlines import calendar_for
from .views import iso, user_ref
from .vocabulary import words_of

FORMAT = "yordam.case_file"
FORMAT_VERSION = 1
FORMATS = ("json", "pdf")
DOCUMENT_ISSUED = "document.issued"
#: Why a plan was drawn up again, from the shared decision vocabulary (DESIGN §2) of the form before it.
PLAN_REASONS = {"first": N_("First plan"), "returned": N_("Redrawn after it was returned"),
                "revised": N_("Revised after a monitoring visit"), "again": N_("Drawn up again")}
YES, NO = N_("yes"), N_("no")  # the catalogue's words of the form editor


def case_file(engine, actor: Actor, case_id, *, format: str = "json") -> dict:
    """The case file of ``case_id`` in the actor's language; the export is logged (``format``: json or pdf)."""
    if format not in FORMATS:
        raise InvalidInput("Unknown format.", fields={"format": [f"Use one of: {', '.join(FORMATS)}."]})
    language = actor.language
    now = engine.now()
    with engine.db.write() as session:
        case = visible_case(session, actor, case_id)  # unknown, out of scope, not an id: not found
        record(session, now, "case.viewed", actor_id=actor.id, case_id=case.id, origin=actor.origin)
        detail = _detail(engine, session, case, language)
        version = case.definition_version
        calendar = calendar_for(session, case.district_id)
        titles = engine.title_translator(version, language)
        tasks = session.scalars(select(Task).where(Task.case_id == case.id)
                                .options(selectinload(Task.completed_by), selectinload(Task.assignee),
                                         selectinload(Task.escalates))
                                .order_by(Task.created_at, Task.id)).all()
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                          AuditEvent.action != "case.viewed")
                                 .options(selectinload(AuditEvent.actor))
                                 .order_by(AuditEvent.at, AuditEvent.id)).all()
        story = {(entry["at"], entry["action"], entry["task_id"]): entry["text"] for entry in detail["story"]}
        forms = _forms(engine, case, version, tasks, events, titles, language, calendar)
        district = session.get(OrgUnit, case.district_id)
        today = local_today(session, case, now)
        consents = session.scalars(select(Consent).where(Consent.case_id == case.id)
                                   .options(selectinload(Consent.person), selectinload(Consent.recorded_by),
                                            selectinload(Consent.revoked_by))
                                   .order_by(Consent.given_at, Consent.id)).all()
        review_tasks = {t.consent_id: t.id for t in tasks if t.kind == "consent"}
        file = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "language": language,
            "exported_at": iso(now),
            "exported_by": {**user_ref(actor), "role": actor.role},
            "case": {**{k: v for k, v in detail.items()
                        if k not in ("viewers", "open_tasks", "timeline", "story", "plan")},
                     "district": {"id": district.id, "name": district.name} if district else None,
                     "category_labels": _labels(words_of(engine, version, language), "client_categories",
                                               case.categories or []),
                     "legal_hold_reason": case.legal_hold_reason},
            "open_tasks": detail["open_tasks"],
            "forms": forms,
            "plan_versions": _plan_versions(forms, language),
            "timeline": detail["story"],
            "events": detail["timeline"],
            "documents": _documents(events),
            "deadlines": _deadlines(tasks, events, titles, calendar, now, case.held_since),
            "escalations": _escalations(tasks, events, titles, story),
            "holds": _holds(events, story),
            "consents": [consent_view(c, today, review_tasks.get(c.id)) for c in consents],
        }
        record(session, now, "case.file_exported", actor_id=actor.id, case_id=case.id, format=format,
               origin=actor.origin, format_version=FORMAT_VERSION)
        return file


# --- the forms and their answers --------------------------------------------------------------------------------

def _forms(engine, case, version, tasks, events, titles, language, calendar) -> list[dict]:
    """Every completed form of the case, in the order completed (the order of their audit rows: several may be
    completed within one instant), with its answers and their words."""
    order = {e.task_id: i for i, e in enumerate(events) if e.action == "task.completed"}
    done = sorted((t for t in tasks if t.kind == "process" and t.form_key and t.state == "completed"),
                  key=lambda t: (order.get(t.id, len(order)), t.completed_at, t.created_at, t.id))
    data = engine.runtime.completed_task_data(version.key, engine.spec_loader(version), case.state,
                                              [t.id for t in done]) if case.state and done else {}
    definitions = engine.forms_of(version)
    out = []
    for task in done:
        form = definitions.get(task.form_key)
        answers = None
        fields = []
        if form is not None and task.id in data:
            keys = form.field_keys()
            answers = {k: v for k, v in data[task.id].items() if k in keys}
            translate = engine.form_translator(version, task.form_key, language)
            fields = _rows(form.fields, answers, translate, language, calendar)
        out.append({"task_id": task.id, "bpmn_id": task.bpmn_id, "form_key": task.form_key,
                    "title": titles(task.title), "stage": task.stage, "created_at": iso(task.created_at),
                    "due_at": iso(task.due_at), "completed_at": iso(task.completed_at),
                    "completed_by": user_ref(task.completed_by), "answers": answers, "fields": fields})
    return out


def _rows(fields, values: dict, translate, language, calendar) -> list[dict]:
    """The answers to ``fields`` as rows to read: the field's label, the raw value and its text (choices by
    their labels); a list of items (the plan's services) has ``columns`` and ``items``, a group its ``rows``."""
    rows = []
    for field in fields:
        if field.key not in values:
            continue
        value = values[field.key]
        row = {"key": field.key, "type": field.type, "label": _word(translate, field.display_name()),
               "value": value}
        if field.type == "dynamiclist":
            row["columns"] = [_word(translate, child.display_name()) for child in field.children]
            row["items"] = [_rows(field.children, item, translate, language, calendar)
                            for item in (value or []) if isinstance(item, dict)]
        elif field.type == "group":
            row["rows"] = _rows(field.children, value if isinstance(value, dict) else {}, translate, language,
                                calendar)
        else:
            row["text"] = _text(field, value, translate, language, calendar)
        rows.append(row)
    return rows


def _word(translate, text: str) -> str:
    return translate(text) if text else text


def _text(field, value, translate, language, calendar) -> str | None:
    """One answer as text in ``language``; None when it was left empty."""
    if value is None or value == "" or value == []:
        return None
    if field.type == "checkbox" or isinstance(value, bool):
        word = gettext(language, YES if value else NO)
        return word[:1].upper() + word[1:]
    if field.options is not None:
        labels = field.option_labels or {}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(_word(translate, labels.get(v) or str(v)) for v in chosen)
    if field.type == "datetime" and isinstance(value, str):
        try:
            return day_with_year(language, date.fromisoformat(value))
        except ValueError:
            pass
        try:
            return moment(language, datetime.fromisoformat(value), calendar.tz)
        except (ValueError, TypeError):
            return value
    if field.type == "number" and isinstance(value, (int, float)):
        return format_decimal(value, locale=babel_locale(language))
    if isinstance(value, (list, dict)):
        return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return str(value)


def _labels(words: dict, key: str, values) -> list[str]:
    """The labels of ``values`` as the forms word them (the case's categories come from the referral's answers);
    a value no form knows is shown as it is."""
    return [words.get(key, {}).get(v) or str(v) for v in values]


def _answer_text(entry: dict, key: str) -> str | None:
    return next((row.get("text") for row in entry["fields"] if row["key"] == key), None)


def _plan_versions(forms: list[dict], language: str) -> list[dict]:
    """Each completion of the plan form is a version of the plan; why it was drawn up (from the form completed
    just before it) and the decision taken on it (the next form with a ``decision``) come with it."""
    versions = []
    for index, entry in enumerate(forms):
        if entry["form_key"] != PLAN_FORM:
            continue
        before = (forms[index - 1]["answers"] or {}) if index else {}
        if not versions:
            reason = "first"
        elif before.get("decision") == "returned":
            reason = "returned"
        elif before.get("outcome") == "revise_plan":
            reason = "revised"
        else:
            reason = "again"
        review = None
        for later in forms[index + 1:]:
            if later["form_key"] == PLAN_FORM:
                break
            if (later["answers"] or {}).get("decision"):
                review = {"decision": later["answers"]["decision"],
                          "decision_text": _answer_text(later, "decision") or later["answers"]["decision"],
                          "comment": later["answers"].get("comment"),
                          "at": later["completed_at"], "by": later["completed_by"], "title": later["title"],
                          "task_id": later["task_id"]}
                break
        versions.append({"version": len(versions) + 1, "reason": reason,
                         "reason_text": gettext(language, PLAN_REASONS[reason]), "task_id": entry["task_id"],
                         "completed_at": entry["completed_at"], "completed_by": entry["completed_by"],
                         "answers": entry["answers"], "fields": entry["fields"], "review": review})
    return versions


# --- what happened around the forms -----------------------------------------------------------------------------

def _documents(events) -> list[dict]:
    """The documents issued for the case, from their audit rows."""
    out = []
    for event in events:
        if event.action != DOCUMENT_ISSUED:
            continue
        details = dict(event.details or {})
        name = next((details[k] for k in ("title", "document", "name") if details.get(k)), None)
        out.append({"at": iso(event.at), "by": user_ref(event.actor), "name": name,
                    "language": details.get("language"), "version": details.get("version")})
    return out


def _deadlines(tasks, events, titles, calendar, now, held_since) -> list[dict]:
    """Every deadline a case task had, in the order the tasks opened: met, missed (with working days late),
    still open, or overdue."""
    opened = {e.task_id: i for i, e in enumerate(events) if e.action == "task.opened"}
    out = []
    for task in sorted(tasks, key=lambda t: (t.created_at, opened.get(t.id, len(opened)), t.id)):
        if task.kind != "process" or task.due_at is None:
            continue
        late = None
        if task.state == "completed" and task.completed_at is not None:
            status = "met" if task.completed_at <= task.due_at else "missed"
            if status == "missed":
                late = max(0, calendar.working_days_between(task.due_at, task.completed_at))
        elif task.state == "open":
            until = min(now, held_since) if held_since else now
            status = "overdue" if task.due_at < until else "open"
            if status == "overdue":
                late = max(0, calendar.working_days_between(task.due_at, until))
        else:
            status = task.state  # cancelled: the case went another way
        out.append({"task_id": task.id, "title": titles(task.title), "stage": task.stage, "due_at": iso(task.due_at),
                    "completed_at": iso(task.completed_at), "completed_by": user_ref(task.completed_by),
                    "status": status, "late_working_days": late,
                    "escalation_level": task.escalation_level or 0})
    return out


def _escalations(tasks, events, titles, story) -> list[dict]:
    """Each rung of an escalation ladder that fired: which task, to whom, how late, and what was decided."""
    raised = {(e.details or {}).get("escalation_task_id"): e for e in events if e.action == "task.escalated"}
    decided = {e.task_id: e for e in events if e.action == "escalation.decided"}
    out = []
    for task in tasks:
        if task.kind != "escalation":
            continue
        event, decision = raised.get(task.id), decided.get(task.id)
        details = (event.details or {}) if event else {}
        out.append({
            "task_id": task.id, "at": iso(task.created_at), "rung": task.rung, "role": task.role,
            "assignee": user_ref(task.assignee),
            "overdue_task": {"id": task.escalates_task_id,
                             "title": titles(task.escalates.title) if task.escalates else None},
            "late_working_days": details.get("late_working_days"), "state": task.state,
            "decision": (decision.details or {}).get("decision") if decision else None,
            "decided_at": iso(decision.at) if decision else None,
            "decided_by": user_ref(decision.actor) if decision else None,
            "text": story.get((iso(event.at), event.action, event.task_id)) if event else None,
            "decision_text": story.get((iso(decision.at), decision.action, decision.task_id)) if decision else None,
        })
    return out


def _holds(events, story) -> list[dict]:
    """Each time the case waited on hold (its deadline clocks stopped), with why and until when (``to`` is None
    while it still waits)."""
    out = []
    for event in events:
        details = event.details or {}
        if event.action == "case.held":
            out.append({"from": iso(event.at), "to": None, "by": user_ref(event.actor),
                        "waiting_for": details.get("waiting_for"), "reason": details.get("reason"),
                        "resumed_by": None, "text": story.get((iso(event.at), event.action, event.task_id)),
                        "resumed_text": None})
        elif event.action == "case.resumed" and out and out[-1]["to"] is None:
            out[-1].update({"to": iso(event.at), "resumed_by": user_ref(event.actor),
                            "resumed_text": story.get((iso(event.at), event.action, event.task_id))})
    return out
