"""The case list and search, opening a case from a referral, the case page, hold and resume."""
from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import EngineError, InvalidInput
from engine.services import cases as case_service
from engine.services.inputs import CHANNELS, RELATIONS, SEXES

from . import bp, engine, login_required
from .util import arg_int, flash_error, page_args, translated

PAGE = 25
MEMBER_ROWS = 3  # empty member rows offered at first; "Add a member" adds more without JavaScript


@bp.get("/cases")
@login_required
def case_list():
    q = (request.args.get("q") or "").strip()
    stage, status = request.args.get("stage") or None, request.args.get("status") or None
    mahalla, overdue = arg_int("mahalla"), request.args.get("overdue") == "1"
    limit, offset = page_args(PAGE)
    if status not in (None, "open", "closed"):
        status = None
    listing = case_service.list_cases(engine(), g.actor, q=q or None, stage=stage, status=status,
                                      mahalla_id=mahalla, overdue=overdue, limit=limit, offset=offset)
    with engine().db.read() as session:
        mahallas = [{"id": m.id, "name": m.name} for m in case_service.mahallas_for(session, g.actor)]
    return render_template("cases.html", listing=listing, q=q, stage=stage, status=status, mahalla=mahalla,
                           overdue=overdue, mahallas=mahallas, page=offset // PAGE + 1, page_size=PAGE)


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new_case():
    with engine().db.read() as session:
        mahallas = [{"id": m.id, "name": m.name} for m in case_service.mahallas_for(session, g.actor)]
    form, errors = dict(request.form), {}
    rows = max(MEMBER_ROWS, _member_rows(request.form))
    if request.method == "POST":
        if "_add_member" in request.form:
            rows += 1
        else:
            try:
                case = case_service.open_case(engine(), g.actor, _referral(request.form))
                return redirect(url_for("web.case", case_id=case["id"], opened=1))
            except InvalidInput as err:
                errors = _flatten(translated(err.fields or {}))
                flash_error(err, _("Some answers need your attention; see the messages by the fields."))
            except EngineError as err:
                flash_error(err)
    return render_template("case_new.html", mahallas=mahallas, form=form, errors=errors, rows=rows,
                           channels=CHANNELS, sexes=SEXES, relations=RELATIONS)


def _member_rows(form) -> int:
    indexes = [int(k.split("-")[1]) for k in form if k.startswith("member-") and k.split("-")[1].isdigit()]
    return max(indexes) + 1 if indexes else 0


def _referral(form) -> dict:
    """The browser's referral form as the JSON the API takes; empty optional answers are left out."""
    kind = form.get("kind", "person")
    subject: dict = {"kind": kind}
    if kind == "household":
        subject["name"] = form.get("household_name", "").strip()
        members = []
        for i in range(_member_rows(form)):
            name = form.get(f"member-{i}-full_name", "").strip()
            if not name:
                continue
            member = {"full_name": name, "relation": form.get(f"member-{i}-relation") or "other"}
            _optional(member, "birth_date", form.get(f"member-{i}-birth_date"))
            _optional(member, "sex", form.get(f"member-{i}-sex"))
            members.append(member)
        subject["members"] = members
    else:
        subject["full_name"] = form.get("full_name", "").strip()
        _optional(subject, "birth_date", form.get("birth_date"))
        _optional(subject, "sex", form.get("sex"))
    payload = {"subject": subject, "channel": form.get("channel", ""), "summary": form.get("summary", "")}
    try:
        payload["mahalla_id"] = int(form.get("mahalla_id", ""))
    except ValueError:
        payload["mahalla_id"] = form.get("mahalla_id") or None
    return payload


def _optional(target: dict, key: str, value):
    if value not in (None, ""):
        target[key] = value


def _flatten(fields: dict, prefix="") -> dict:
    """Nested marshmallow messages ({"subject": {"members": {0: {...}}}}) keyed as the form's input names."""
    flat = {}
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            child_prefix = "member-" if key == "members" else ""
            if prefix.startswith("member-") or child_prefix:
                for index, messages in value.items():
                    if isinstance(messages, dict):
                        flat.update({f"member-{index}-{k}": v for k, v in messages.items()})
                    else:
                        flat["members"] = messages
            else:
                flat.update(_flatten(value, ""))
        else:
            flat[name] = value
    return flat


@bp.get("/cases/<int:case_id>")
@login_required
def case(case_id):
    detail = case_service.get_case(engine(), g.actor, case_id)
    return render_template("case.html", case=detail, opened=request.args.get("opened") == "1")


@bp.post("/cases/<int:case_id>/hold")
@login_required
def hold(case_id):
    try:
        case_service.hold_case(engine(), g.actor, case_id, {"waiting_for": request.form.get("waiting_for", ""),
                                                           "reason": request.form.get("reason", "")})
    except InvalidInput as err:
        flash_error(err, _("Say what the case is waiting for and why (at least 3 characters)."))
    except EngineError as err:
        flash_error(err)
    return redirect(url_for("web.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/resume")
@login_required
def resume(case_id):
    try:
        case_service.resume_case(engine(), g.actor, case_id)
    except EngineError as err:
        flash_error(err)
    return redirect(url_for("web.case", case_id=case_id))
