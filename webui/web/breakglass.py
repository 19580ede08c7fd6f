"""Break-glass access for administrators: ask for one case with a reason; end it early; see one's own grants."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import EngineError, InvalidInput, NotFound
from engine.services import breakglass

from ..i18n import format_moment
from . import bp, engine, login_required
from .util import flash_error, form_int


@bp.route("/break-glass", methods=["GET", "POST"])
@login_required
def break_glass():
    g.actor.require("admin", action="open break-glass access")  # others: 403, as for any refused page
    errors = {}
    if request.method == "POST":
        try:
            grant = breakglass.open_access(engine(), g.actor, {
                "case_id": form_int(request.form.get("case_id")), "reason": request.form.get("reason", ""),
                "minutes": form_int(request.form.get("minutes", 60))})
        except InvalidInput as err:
            errors = err.fields
        except NotFound:
            errors = {"case_id": ["none"]}
        else:
            flash(_("Break-glass access is open until %(until)s. The district's supervisors were told.",
                    until=format_moment(grant["expires_at"])), "success")
            return redirect(url_for("web.case", case_id=grant["case_id"]))
    page = render_template("break_glass.html", grants=breakglass.list_access(engine(), g.actor), errors=errors,
                           form=request.form, max_minutes=breakglass.MAX_MINUTES)
    return page, 422 if errors else 200


@bp.post("/break-glass/<int:grant_id>/close")
@login_required
def close_break_glass(grant_id):
    try:
        breakglass.close_access(engine(), g.actor, grant_id)
        flash(_("Break-glass access ended."), "success")
    except EngineError as err:
        flash_error(err)
    return redirect(url_for("web.break_glass"))

