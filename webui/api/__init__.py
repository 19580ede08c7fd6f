"""JSON API /api/v1: thin routes that load the request, call one engine service and return its result."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from engine.errors import InvalidInput, NotAuthenticated
from engine.services import cases, definitions, tasks, users

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = {"api.login", "api.openapi"}


def engine():
    return current_app.extensions["yordam"]


def body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("The request body must be JSON (Content-Type: application/json).")
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


def arg_int(name, default=None, maximum=None):
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
    g.actor = users.authenticate(engine(), g.token)


@bp.post("/auth/login")
def login():
    data = body()
    token, actor = users.login(engine(), str(data.get("username", "")), str(data.get("password", "")))
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
def open_case():
    return cases.open_case(engine(), g.actor, body()), 201


@bp.get("/cases")
def list_cases():
    return cases.list_cases(
        engine(), g.actor, stage=request.args.get("stage"), status=request.args.get("status"),
        mahalla_id=arg_int("mahalla"), owner_id=arg_int("owner"), overdue=arg_bool("overdue"),
        q=request.args.get("q"), limit=arg_int("limit", 50, 500), offset=arg_int("offset", 0))


@bp.get("/cases/<int:case_id>")
def get_case(case_id):
    return cases.get_case(engine(), g.actor, case_id)


@bp.get("/tasks")
def list_tasks():
    return tasks.list_tasks(engine(), g.actor, mine=arg_bool("mine"), queue=arg_bool("queue"),
                            overdue=arg_bool("overdue"), case_id=arg_int("case_id"),
                            state=request.args.get("state", "open") or None,
                            limit=arg_int("limit", 100, 500), offset=arg_int("offset", 0))


@bp.get("/tasks/<task_id>")
def get_task(task_id):
    return tasks.get_task(engine(), g.actor, task_id)


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id):
    return tasks.claim_task(engine(), g.actor, task_id)


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id):
    return tasks.complete_task(engine(), g.actor, task_id, body())


@bp.put("/tasks/<task_id>/draft")
def save_draft(task_id):
    return tasks.save_draft(engine(), g.actor, task_id, body())


@bp.post("/tasks/<task_id>/assign")
def assign_task(task_id):
    return tasks.assign_task(engine(), g.actor, task_id, body())


@bp.get("/definitions")
def list_definitions():
    with engine().db.read() as session:
        return {"items": [{"id": v.id, "process_id": v.process_id, "version": v.version, "key": v.key,
                           "stages": v.stages, "note": v.note, "published_at": v.published_at.isoformat(),
                           "files": sorted(v.files), "open_cases": open_cases}
                          for v, open_cases in definitions.list_versions(session)]}


@bp.get("/openapi.json")
def openapi():
    from .openapi import document
    return jsonify(document())
