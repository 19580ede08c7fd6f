"""JSON API /api/v1: thin routes that load the request, call one engine service and return its result."""
from __future__ import annotations

import dataclasses
from datetime import date

from flask import Blueprint, current_app, g, jsonify, request

from engine.errors import InvalidInput, NotAuthenticated
from engine.i18n import LANGUAGES
from engine.services import replay as replays
from engine.services import (breakglass, calendars, cases, consents, definitions, drafts, migrations, notifications,
                             rectification, retention, tasks, users)
from engine.services import compare as comparisons
from engine.services.inputs import text_problem

from .idempotency import idempotent

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = {"api.login", "api.openapi"}


def engine():
    return current_app.extensions["yordam"]


def body() -> dict:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # brackets nested thousands deep: not a request anyone means
        raise InvalidInput("The request body is nested too deeply.") from None
    if data is None:
        raise InvalidInput("The request body must be JSON (Content-Type: application/json).")
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


def arg_int(name, default=None, maximum=2**31 - 1):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput("Bad query parameter.", fields={name: ["Must be a whole number."]}) from None
    if value < 0 or (maximum is not None and value > maximum):
        raise InvalidInput("Bad query parameter.", fields={name: [f"Must be between 0 and {maximum}."]})
    return value


def arg_text(name):
    raw = request.args.get(name)
    problem = text_problem(raw) if raw else None
    if problem:
        raise InvalidInput("Bad query parameter.", fields={name: [problem]})
    return raw


def arg_bool(name) -> bool:
    raw = (request.args.get(name) or "").lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise InvalidInput("Bad query parameter.", fields={name: ["Use true or false."]})


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise NotAuthenticated("Log in first: send Authorization: Bearer <token> from POST /api/v1/auth/login.")
    g.token = header[len("Bearer "):].strip()
    g.actor = dataclasses.replace(users.authenticate(engine(), g.token), origin=request.remote_addr)
    language = request.args.get("lang")
    if language:  # texts (deadline explanations, notifications) in another UI language for this request
        if language not in LANGUAGES:
            raise InvalidInput("Bad query parameter.", fields={"lang": ["Use one of: " + ", ".join(LANGUAGES)]})
        g.actor = dataclasses.replace(g.actor, language=language)


def arg_date(name):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("Bad query parameter.", fields={name: ["Use a date as YYYY-MM-DD."]}) from None


@bp.post("/auth/login")
def login():
    data = body()
    username, password = str(data.get("username", "")), str(data.get("password", ""))
    problems = {name: [text_problem(value)] for name, value in (("username", username), ("password", password))
                if text_problem(value)}
    if problems:  # no account has such a name or password, and no database could even look it up
        raise InvalidInput("Some fields are not valid.", fields=problems)
    token, actor = users.login(engine(), username, password, origin=request.remote_addr)
    return {"token": token, "user": _me(actor)}


@bp.post("/auth/logout")
def logout():
    users.logout(engine(), g.token)
    return "", 204


@bp.get("/me")
def me():
    return _me(g.actor)


def _me(actor):
    return {"id": actor.id, "username": actor.username, "full_name": actor.full_name, "role": actor.role,
            "district_id": actor.district_id, "mahalla_ids": sorted(actor.mahalla_ids), "language": actor.language}


@bp.get("/mahallas")
def mahallas():
    with engine().db.read() as session:
        rows = cases.mahallas_for(session, g.actor)
        return {"items": [{"id": m.id, "name": m.name, "district_id": m.parent_id} for m in rows]}


@bp.post("/cases")
@idempotent
def open_case():
    return cases.open_case(engine(), g.actor, body()), 201


@bp.get("/cases")
def list_cases():
    return cases.list_cases(
        engine(), g.actor, stage=arg_text("stage"), status=arg_text("status"),
        mahalla_id=arg_int("mahalla"), owner_id=arg_int("owner"), overdue=arg_bool("overdue"),
        q=arg_text("q"), limit=arg_int("limit", 50, 500), offset=arg_int("offset", 0))


@bp.get("/cases/<int:case_id>")
def get_case(case_id):
    return cases.get_case(engine(), g.actor, case_id)


@bp.get("/tasks")
def list_tasks():
    return tasks.list_tasks(engine(), g.actor, mine=arg_bool("mine"), queue=arg_bool("queue"),
                            overdue=arg_bool("overdue"), case_id=arg_int("case_id"),
                            state=_choice("state", ("open", "completed", "cancelled", ""), "open") or None,
                            kind=_choice("kind", ("process", "escalation", "consent", ""), "") or None,
                            limit=arg_int("limit", 100, 500), offset=arg_int("offset", 0))


@bp.get("/tasks/<task_id>")
def get_task(task_id):
    return tasks.get_task(engine(), g.actor, task_id)


@bp.post("/tasks/<task_id>/claim")
@idempotent
def claim_task(task_id):
    return tasks.claim_task(engine(), g.actor, task_id)


@bp.post("/tasks/<task_id>/complete")
@idempotent
def complete_task(task_id):
    return tasks.complete_task(engine(), g.actor, task_id, body())


@bp.put("/tasks/<task_id>/draft")
def save_draft(task_id):
    return tasks.save_draft(engine(), g.actor, task_id, body())


@bp.post("/tasks/<task_id>/assign")
@idempotent
def assign_task(task_id):
    return tasks.assign_task(engine(), g.actor, task_id, body())


@bp.post("/tasks/<task_id>/extend")
@idempotent
def extend_deadline(task_id):
    return tasks.extend_deadline(engine(), g.actor, task_id, body())


@bp.post("/cases/<int:case_id>/hold")
@idempotent
def hold_case(case_id):
    return cases.hold_case(engine(), g.actor, case_id, body())


@bp.post("/cases/<int:case_id>/resume")
@idempotent
def resume_case(case_id):
    return cases.resume_case(engine(), g.actor, case_id)


@bp.get("/cases/<int:case_id>/export")
def export_case(case_id):
    return retention.export_case(engine(), g.actor, case_id)


@bp.post("/cases/<int:case_id>/rectify")
def rectify(case_id):
    return rectification.rectify_person(engine(), g.actor, case_id, body())


@bp.post("/cases/<int:case_id>/legal-hold")
def legal_hold(case_id):
    data = body()
    return retention.set_legal_hold(engine(), g.actor, case_id, data.get("reason") if isinstance(
        data.get("reason"), str) else None)


@bp.get("/break-glass")
def list_break_glass():
    return {"items": breakglass.list_access(engine(), g.actor)}


@bp.post("/break-glass")
def open_break_glass():
    return breakglass.open_access(engine(), g.actor, body()), 201


@bp.post("/break-glass/<int:grant_id>/close")
def close_break_glass(grant_id):
    breakglass.close_access(engine(), g.actor, grant_id)
    return "", 204


@bp.get("/cases/<int:case_id>/consents")
def list_consents(case_id):
    return consents.list_consents(engine(), g.actor, case_id)


@bp.post("/cases/<int:case_id>/consents")
@idempotent
def record_consent(case_id):
    return consents.record_consent(engine(), g.actor, case_id, body()), 201


@bp.post("/consents/<int:consent_id>/revoke")
@idempotent
def revoke_consent(consent_id):
    return consents.revoke_consent(engine(), g.actor, consent_id, body())


@bp.get("/notifications")
def list_notifications():
    return notifications.list_notifications(engine(), g.actor, unread=arg_bool("unread"),
                                            limit=arg_int("limit", 50, 200), offset=arg_int("offset", 0))


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id):
    return notifications.mark_read(engine(), g.actor, notification_id)


@bp.post("/notifications/read")
def read_all_notifications():
    return notifications.mark_read(engine(), g.actor)


@bp.get("/calendars/<code>/days")
def calendar_days(code):
    return calendars.list_days(engine(), g.actor, code, arg_date("from"), arg_date("to"),
                               org_unit_id=arg_int("org_unit"))


@bp.post("/calendars/<code>/days")
def add_calendar_day(code):
    return calendars.add_override(engine(), g.actor, code, body()), 201


@bp.delete("/calendars/<code>/days/<int:override_id>")
def delete_calendar_day(code, override_id):
    calendars.delete_override(engine(), g.actor, code, override_id)
    return "", 204


def _choice(name, allowed, default):
    value = request.args.get(name, default)
    if value not in allowed:
        raise InvalidInput("Bad query parameter.",
                           fields={name: ["Use one of: " + ", ".join(a for a in allowed if a)]})
    return value


@bp.get("/definitions")
def list_definitions():
    with engine().db.read() as session:
        return {"items": [{"id": v.id, "process_id": v.process_id, "version": v.version, "key": v.key,
                           "stages": v.stages, "note": v.note, "published_at": v.published_at.isoformat(),
                           "files": sorted(v.files), "open_cases": open_cases}
                          for v, open_cases in definitions.list_versions(session)]}


@bp.get("/definitions/compare")
def compare_definitions():
    return comparisons.compare_versions(engine(), g.actor, arg_int("from"), arg_int("to"))


@bp.get("/drafts")
def list_drafts():
    return drafts.list_drafts(engine(), g.actor, include_closed=arg_bool("all"))


@bp.post("/drafts")
def start_draft():
    return drafts.start_draft(engine(), g.actor, body()), 201


@bp.get("/drafts/<int:draft_id>")
def get_draft(draft_id):
    return drafts.get_draft(engine(), g.actor, draft_id)


@bp.delete("/drafts/<int:draft_id>")
def discard_draft(draft_id):
    drafts.discard(engine(), g.actor, draft_id)
    return "", 204


@bp.put("/drafts/<int:draft_id>/files/<name>")
def save_draft_file(draft_id, name):
    return drafts.save_file(engine(), g.actor, draft_id, name, body())


@bp.delete("/drafts/<int:draft_id>/files/<name>")
def delete_draft_file(draft_id, name):
    return drafts.delete_file(engine(), g.actor, draft_id, name, {"row_version": arg_int("row_version")})


@bp.get("/drafts/<int:draft_id>/changes")
def draft_changes(draft_id):
    return comparisons.compare_draft(engine(), g.actor, draft_id)


@bp.post("/drafts/<int:draft_id>/check")
def check_draft(draft_id):
    return drafts.check(engine(), g.actor, draft_id)


@bp.post("/drafts/<int:draft_id>/scenarios")
def save_scenario(draft_id):
    return drafts.save_scenario(engine(), g.actor, draft_id, body())


@bp.delete("/drafts/<int:draft_id>/scenarios")
def delete_scenario(draft_id):
    return drafts.delete_scenario(engine(), g.actor, draft_id, request.args.get("name", ""),
                                  {"row_version": arg_int("row_version")})


@bp.post("/drafts/<int:draft_id>/scenarios/record")
def record_scenario(draft_id):
    return drafts.record_scenario(engine(), g.actor, draft_id, body())


@bp.get("/drafts/<int:draft_id>/replay")
def replay_draft(draft_id):
    return replays.replay(engine(), g.actor, draft_id=draft_id, months=arg_int("months", 6))


@bp.post("/drafts/<int:draft_id>/publish")
def publish_draft(draft_id):
    return drafts.publish(engine(), g.actor, draft_id, body()), 201


@bp.post("/migrations/dry-run")
def migration_dry_run():
    return migrations.dry_run(engine(), g.actor, body())


@bp.post("/migrations")
def apply_migration():
    return migrations.apply(engine(), g.actor, body()), 201


@bp.get("/migrations")
def list_migrations():
    return migrations.list_migrations(engine(), g.actor)


@bp.post("/migrations/<int:migration_id>/revert")
def revert_migration(migration_id):
    return migrations.revert(engine(), g.actor, migration_id)


@bp.get("/openapi.json")
def openapi():
    from .openapi import document
    return jsonify(document())


from . import case_file, documents, reports, statistics  # noqa: E402,F401  (routes register themselves on bp)
