"""The case list and search, opening a case from a referral, the case page, hold and resume."""
from __future__ import annotations

import json
from datetime import date

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import i18n
from engine.errors import Conflict, EngineError, InvalidInput, NotAllowed
from engine.services import cases as case_service
from engine.services import consents as consent_service
from engine.services import rectification
from engine.services import retention
from engine.services.inputs import CHANNELS, RELATIONS, SEXES

from ..i18n import current_language, format_day
from . import bp, engine, login_required
from .util import arg_int, flash_error, form_int, page_args, translated

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
    g.actor.require(*case_service.OPENERS, action="open cases")  # no referral form for those who may not
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
    return render_template("case.html", case=detail, opened=request.args.get("opened") == "1",
                           **_consents(detail))


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


@bp.post("/cases/<int:case_id>/rectify")
@login_required
def rectify(case_id):
    """Correct a person's details at their request; the old values stay in the history."""
    form = request.form
    payload = {"person_id": form_int(form.get("person_id")), "reason": form.get("reason", "")}
    if form.get("full_name", "").strip():
        payload["full_name"] = form["full_name"]
    if form.get("birth_date", "").strip():
        payload["birth_date"] = form["birth_date"].strip()
    if form.get("sex", "").strip():
        payload["sex"] = form["sex"].strip()
    try:
        rectification.rectify_person(engine(), g.actor, case_id, payload)
        flash(_("The details were corrected; the old ones stay in the history."), "success")
    except InvalidInput as err:
        flash_error(err, _("Change at least one detail and say why (at least 3 characters)."))
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


@bp.get("/cases/<int:case_id>/export")
@login_required
def export_case(case_id):
    """A person's data, printable; ``?format=json`` downloads the same as JSON."""
    export = retention.export_case(engine(), g.actor, case_id)
    if request.args.get("format") == "json":
        response = current_app.response_class(json.dumps(export, ensure_ascii=False, indent=2),
                                              mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="case-{case_id}-export.json"'
        return response
    return render_template("case_export.html", export=export)


# --- the consent register on the case page ----------------------------------------------------------------------

CONSENT_FIELDS = ("purpose", "agency", "person_id", "given_by", "representative_name", "representative_relation",
                  "given_at", "evidence", "expires_on")


def _consents(detail, form=None, errors=None) -> dict:
    """What the case page's "Consents" section needs: the register, and the form to record one."""
    listing = consent_service.list_consents(engine(), g.actor, detail["id"], record_view=False)
    for item in listing["items"]:  # consents run for years: their days are shown with the year
        for key in ("given_at", "expires_on"):
            item[key + "_text"] = _day_with_year(item[key])
        item["revoked_at_text"] = format_day(item["revoked_at"]) if item["revoked_at"] else None
    may_write = consent_service.may_write(g.actor, owner_id=detail["owner"]["id"], mahalla_id=detail["mahalla"]["id"])
    return {"consents": listing["items"], "consent_form": form or {}, "consent_errors": errors or {},
            "may_record_consent": may_write and detail["status"] == "open", "may_revoke_consent": may_write}


def _day_with_year(value) -> str | None:
    return i18n.day_with_year(current_language(), date.fromisoformat(value)) if value else None


def _consent_payload(form) -> dict:
    """The browser's consent form as the JSON the API takes; empty optional answers are left out."""
    payload = {k: form.get(k, "").strip() for k in ("purpose", "given_by", "given_at", "evidence")}
    for key in ("agency", "representative_name", "representative_relation", "expires_on"):
        _optional(payload, key, form.get(key, "").strip())
    person = form.get("person_id", "").strip()
    if person:
        payload["person_id"] = int(person) if person.isdigit() and len(person) < 11 else person
    return payload


@bp.post("/cases/<int:case_id>/consents")
@login_required
def record_consent(case_id):
    try:
        consent_service.record_consent(engine(), g.actor, case_id, _consent_payload(request.form))
    except InvalidInput as err:
        flash_error(err, _("Some answers need your attention; see the messages by the fields."))
        detail = case_service.get_case(engine(), g.actor, case_id)
        values = {k: request.form.get(k, "") for k in CONSENT_FIELDS}
        return render_template("case.html", case=detail, opened=False,
                               **_consents(detail, values, _flatten(translated(err.fields or {})))), 422
    except (Conflict, NotAllowed) as err:  # not found: the error page
        flash_error(err)
    else:
        flash(_("The consent is recorded."), "success")
    return redirect(url_for("web.case", case_id=case_id) + "#consents")


@bp.post("/cases/<int:case_id>/consents/<int:consent_id>/revoke")
@login_required
def revoke_consent(case_id, consent_id):
    try:
        consent_service.revoke_consent(engine(), g.actor, consent_id, {"reason": request.form.get("reason", "")},
                                       case_id=case_id)
    except InvalidInput:
        flash(_("Say why the consent was revoked (at least 3 characters)."), "error")
    except (Conflict, NotAllowed) as err:
        flash_error(err)
    else:
        flash(_("The consent is revoked. A task asks the case's social worker to review the case."), "success")
    return redirect(url_for("web.case", case_id=case_id) + "#consents")
