"""The supervisor's dashboard, reassignment of one task or of all of a worker's tasks, and notifications."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext as plural_  # extracted with -k plural_:1,2 (ngettext is the engine's, language first)

from engine.errors import EngineError, InvalidInput
from engine.services import breakglass
from engine.services import dashboard as dashboard_service
from engine.services import notifications as notification_service
from engine.services import tasks as task_service

from . import bp, engine, login_required
from .util import flash_error, page_args, safe_path


@bp.get("/dashboard")
@login_required
def dashboard():
    data = dashboard_service.dashboard(engine(), g.actor)  # others' roles: 403, as for any refused page
    return render_template("dashboard.html", data=data, break_glass=breakglass.list_access(engine(), g.actor))


@bp.post("/dashboard/reassign")
@login_required
def reassign_one():
    try:
        task_service.assign_task(engine(), g.actor, request.form.get("task_id", ""),
                                 {"user": _user(request.form.get("to_user")), "reason": request.form.get("reason")})
        flash(_("The task was reassigned."), "success")
    except InvalidInput as err:
        flash_error(err, _("Choose who takes the task and say why."))
    except EngineError as err:
        flash_error(err)
    back = request.form.get("back")
    return redirect(safe_path(back) if back else url_for("web.dashboard"))


@bp.post("/dashboard/reassign-all")
@login_required
def reassign_all():
    try:
        result = task_service.reassign_all(engine(), g.actor, {
            "from_user": _user(request.form.get("from_user")), "to_user": _user(request.form.get("to_user")),
            "reason": request.form.get("reason", ""), "include_cases": request.form.get("include_cases") == "1"})
        flash(plural_("%(num)d task was handed over to %(name)s.", "%(num)d tasks were handed over to %(name)s.",
                       len(result["moved_tasks"]), name=result["to_user"]["full_name"]), "success")
    except InvalidInput as err:
        flash_error(err, _("Choose both workers and say why (at least 3 characters)."))
    except EngineError as err:
        flash_error(err)
    return redirect(url_for("web.dashboard"))


def _user(raw):
    try:
        return int(raw)
    except (TypeError, ValueError):
        return raw or None


@bp.get("/notifications")
@login_required
def notifications():
    limit, offset = page_args(50)
    listing = notification_service.list_notifications(engine(), g.actor, limit=limit, offset=offset)
    return render_template("notifications.html", listing=listing)


@bp.post("/notifications/read")
@login_required
def notifications_read():
    notification_service.mark_read(engine(), g.actor)
    return redirect(url_for("web.notifications"))


@bp.app_template_filter("dashboard_row")
def dashboard_row(row: dict, kind: str) -> dict:
    """One bar of a dashboard chart: its label in the reader's language and its value."""
    from .labels import label
    if kind == "user":
        return {"label": row["user"]["full_name"] if row["user"] else _("Queue"), "value": row["count"],
                "alert": True}
    if kind == "mahalla":
        return {"label": row["mahalla"]["name"], "value": row["count"], "alert": True}
    if kind == "stage_days":
        return {"label": label("stage", row["stage"]), "value": row["days"]}
    return {"label": label("stage", row["stage"]), "value": row["count"]}
