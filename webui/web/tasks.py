"""My tasks, role queues, the task page with its form, and escalations."""
from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, EngineError, InvalidInput, NotAllowed
from engine.services import cases as case_service
from engine.services import tasks as task_service
from forms.formdata import parse_submission
from forms.render import render_form

from ..i18n import current_language
from . import bp, engine, login_required
from .labels import label
from .util import arg_int, flash_error, page_args, translated

VIEWS = ("mine", "queue", "escalations", "all")


@bp.get("/")
@login_required
def home():
    if g.get("actor") and g.actor.role == "methodologist":
        return redirect(url_for("web.workbench"))
    return redirect(url_for("web.inbox"))


@bp.get("/tasks")
@login_required
def inbox():
    view = request.args.get("view") or ("queue" if g.actor.role in ("supervisor", "center_head") else "mine")
    if view not in VIEWS:
        view = "mine"
    stage = request.args.get("stage") or None
    mahalla = arg_int("mahalla")
    overdue = request.args.get("overdue") == "1"
    q = (request.args.get("q") or "").strip()
    limit, offset = page_args(50)
    listing = task_service.list_tasks(
        engine(), g.actor, mine=view == "mine", queue=view in ("queue", "escalations"), overdue=overdue,
        kind="escalation" if view == "escalations" else None, stage=stage, mahalla_id=mahalla, q=q or None,
        limit=limit, offset=offset)
    with engine().db.read() as session:
        mahallas = case_service.mahallas_for(session, g.actor)
        mahallas = [{"id": m.id, "name": m.name} for m in mahallas]
    counts = task_service.inbox_counts(engine(), g.actor)
    return render_template("inbox.html", listing=listing, view=view, stage=stage, mahalla=mahalla,
                           overdue=overdue, q=q, mahallas=mahallas, counts=counts, limit=limit, offset=offset)


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id):
    try:
        task_service.claim_task(engine(), g.actor, task_id)
    except (Conflict, NotAllowed) as err:
        flash_error(err)
        return redirect(request.referrer or url_for("web.inbox"))
    return redirect(url_for("web.task", task_id=task_id))


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    page = task_service.task_page(engine(), g.actor, task_id)
    if page["task"]["kind"] == "escalation":
        return _escalation(page)
    if page["task"]["kind"] == "consent":
        return _consent_review(page)
    form, translate = page["form_definition"], page["translate"]
    values, errors, notice = page["task"].get("values") or {}, None, None
    if request.method == "POST" and form is not None:
        values, action = parse_submission(form, request.form)
        if action is not None and not action.applied:
            notice = _("That list cannot change any more.")
        if action is None:
            what = request.form.get("_action", "complete")
            try:
                if what == "save":
                    task_service.save_draft(engine(), g.actor, task_id, {"data": values})
                    notice = _("Draft saved. You can come back to it later.")
                else:
                    result = task_service.complete_task(engine(), g.actor, task_id, {"data": values})
                    return render_template("task_done.html", result=result)
            except InvalidInput as err:
                errors = err.fields or {}
                notice = None
                flash_error(err, _("Some answers need your attention; see the messages by the fields."))
            except Conflict as err:
                if err.details.get("consent_purpose"):  # the step needs a consent the case does not have
                    flash_error(None, _consent_needed(err.details))
                else:
                    flash_error(err)
            except NotAllowed as err:
                flash_error(err)
    form_html = render_form(form, values, errors, translate=translate, language=current_language()) if form else None
    return render_template("task.html", page=page, task=page["task"], form_html=form_html, notice=notice,
                           errors=errors)


def _escalation(page):
    task = page["task"]
    errors, values = {}, {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k in ("action", "user", "working_days", "until",
                                                                  "reason")}
        data = dict(values)
        if data.get("working_days"):
            try:
                data["working_days"] = int(data["working_days"])
            except ValueError:
                errors["working_days"] = [_("Must be a whole number.")]
        for empty in [k for k, v in data.items() if v in ("", None)]:
            data.pop(empty)
        if data.get("action") != "reassign":
            data.pop("user", None)
        if data.get("action") != "extend":
            data.pop("working_days", None)
            data.pop("until", None)
        if not errors:
            try:
                result = task_service.complete_task(engine(), g.actor, task["id"], {"data": data})
                return render_template("task_done.html", result=result)
            except InvalidInput as err:
                errors = translated(err.fields or {})
                flash_error(err, _("Some answers need your attention; see the messages by the fields."))
            except (Conflict, NotAllowed) as err:
                flash_error(err)
    return render_template("escalation.html", page=page, task=task, errors=errors, values=values)


def _consent_needed(details) -> str:
    purpose = label("consent_purpose_word", details["consent_purpose"])
    if details.get("consent_agency"):
        return _("A valid consent for %(purpose)s (%(agency)s) is needed before this step: record it on the case "
                 "page.", purpose=purpose, agency=details["consent_agency"])
    return _("A valid consent for %(purpose)s is needed before this step: record it on the case page.",
             purpose=purpose)


def _consent_review(page):
    """A revoked consent's review task: the worker marks it done, optionally saying what they did."""
    task = page["task"]
    if request.method == "POST" and task["state"] == "open":
        comment = request.form.get("comment", "").strip()
        try:
            result = task_service.complete_task(engine(), g.actor, task["id"],
                                                {"data": {"comment": comment} if comment else {}})
            return render_template("task_done.html", result=result)
        except InvalidInput as err:
            flash_error(err, _("Say what you did in at most 500 characters."))
        except (Conflict, NotAllowed) as err:
            flash_error(err)
    return render_template("task.html", page=page, task=task, form_html=None, notice=None, errors=None)


@bp.post("/tasks/<task_id>/extend")
@login_required
def extend(task_id):
    payload = {"reason": request.form.get("reason", "")}
    try:
        payload["working_days"] = int(request.form.get("working_days") or 0)
        task_service.extend_deadline(engine(), g.actor, task_id, payload)
    except ValueError:
        flash_error(None, _("Give the number of working days as a whole number."))
    except EngineError as err:
        flash_error(err)
    return redirect(url_for("web.task", task_id=task_id))
