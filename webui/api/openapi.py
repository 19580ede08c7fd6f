"""The OpenAPI 3 document of /api/v1, generated from the same marshmallow schemas the code uses."""
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from engine.i18n import LANGUAGES
from engine.services import inputs

from . import schemas

_ID = {"type": "integer", "minimum": 1, "maximum": inputs.MAX_ID}
_NUMBER = {"type": "integer", "minimum": 0, "maximum": inputs.MAX_ID}
_BOOL = {"type": "boolean"}
PATH_PARAMETERS = {"case_id": _ID, "task_id": {"type": "string"}, "notification_id": _ID,
                   "code": {"type": "string", "enum": ["UZ", "KZ", "KG"]}, "override_id": _ID,
                   "consent_id": _ID, "grant_id": _ID, "draft_id": _ID, "migration_id": _ID,
                   "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"},
                   "document": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,59}$"}}


def _page(limit: int) -> dict:
    return {"limit": {"type": "integer", "minimum": 0, "maximum": limit}, "offset": _NUMBER}


#: The query parameters each operation reads (besides ``lang``, which every authenticated one takes).
QUERY = {
    ("/cases", "get"): {"stage": {"type": "string"}, "status": {"type": "string"}, "mahalla": _NUMBER,
                        "owner": _NUMBER, "overdue": _BOOL, "q": {"type": "string"}, **_page(500)},
    ("/tasks", "get"): {"mine": _BOOL, "queue": _BOOL, "overdue": _BOOL, "case_id": _NUMBER,
                        "state": {"type": "string", "enum": ["open", "completed", "cancelled"]},
                        "kind": {"type": "string", "enum": ["process", "escalation", "consent"]}, **_page(500)},
    ("/notifications", "get"): {"unread": _BOOL, **_page(200)},
    ("/drafts", "get"): {"all": _BOOL},
    ("/definitions/compare", "get"): {"from": _ID, "to": _ID},
    ("/drafts/{draft_id}/files/{name}", "delete"): {"row_version": _NUMBER},
    ("/drafts/{draft_id}/scenarios", "delete"): {"name": {"type": "string"}, "row_version": _NUMBER},
    ("/drafts/{draft_id}/replay", "get"): {"months": {"type": "integer", "minimum": 1, "maximum": 36}},
    ("/calendars/{code}/days", "get"): {"from": {"type": "string", "format": "date"},
                                        "to": {"type": "string", "format": "date"}, "org_unit": _NUMBER},
    ("/reports/monthly", "get"): {"year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                                  "month": {"type": "integer", "minimum": 1, "maximum": 12},
                                  "level": {"type": "string", "enum": ["worker", "mahalla", "district", "region"]},
                                  "unit_id": _ID, "time_zone": {"type": "string"},
                                  "format": {"type": "string", "enum": ["json", "csv", "xlsx", "pdf"]}},
    ("/statistics", "get"): {"from": {"type": "string", "format": "date"},
                             "until": {"type": "string", "format": "date"}, "unit_id": _ID, "version": _ID,
                             "time_zone": {"type": "string"}},
}
#: Operations whose success is not 200.
SUCCESS = {("/cases", "post"): "201", ("/cases/{case_id}/consents", "post"): "201",
           ("/calendars/{code}/days", "post"): "201",
           ("/calendars/{code}/days/{override_id}", "delete"): "204", ("/auth/logout", "post"): "204",
           ("/break-glass", "post"): "201", ("/drafts", "post"): "201", ("/migrations", "post"): "201",
           ("/drafts/{draft_id}", "delete"): "204", ("/drafts/{draft_id}/publish", "post"): "201", ("/break-glass/{grant_id}/close", "post"): "204"}

#: Operations that take an ``Idempotency-Key`` header (the routes marked ``@idempotent``).
IDEMPOTENT = {("/cases", "post"), ("/tasks/{task_id}/claim", "post"), ("/tasks/{task_id}/complete", "post"),
              ("/tasks/{task_id}/assign", "post"), ("/tasks/{task_id}/extend", "post"),
              ("/cases/{case_id}/hold", "post"), ("/cases/{case_id}/resume", "post"),
              ("/cases/{case_id}/consents", "post"), ("/consents/{consent_id}/revoke", "post")}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
    "description": "A key the client makes up for this request (a UUID, say), to send it again safely after a "
                   "timeout or a lost answer: the first request with the key is carried out, and any retry with the "
                   "same key and the same body within 24 hours gets the same answer again, with the response header "
                   "`Idempotent-Replayed: true`, without doing anything twice. The same key with another path or body "
                   "is refused (422). Only successful answers are kept; keys are per user."}

ROUTES = [
    ("/auth/login", "post", "Log in; returns a bearer token", schemas.LoginIn, schemas.LoginOut, False),
    ("/auth/logout", "post", "Revoke the current token", None, None, True),
    ("/me", "get", "The current user", None, None, True),
    ("/mahallas", "get", "Mahallas the user may open cases in", None, None, True),
    ("/cases", "post", "Open a case from a referral", inputs.OpenCaseIn, schemas.CaseDetail, True),
    ("/cases", "get", "List cases (filters: stage, status, mahalla, owner, overdue, q, limit, offset)", None,
     schemas.CaseList, True),
    ("/cases/{case_id}", "get", "A case with its open tasks and timeline", None, schemas.CaseDetail, True),
    ("/tasks", "get", "Tasks (filters: mine, queue, overdue, case_id, state)", None, schemas.TaskList, True),
    ("/tasks/{task_id}", "get", "A task with its form", None, schemas.TaskDetail, True),
    ("/tasks/{task_id}/claim", "post", "Take a task from a role queue", None, schemas.TaskOut, True),
    ("/tasks/{task_id}/complete", "post", "Complete a task with its form data", inputs.CompleteTaskIn,
     schemas.CompletionOut, True),
    ("/tasks/{task_id}/draft", "put", "Save unfinished answers", inputs.CompleteTaskIn, schemas.TaskOut, True),
    ("/tasks/{task_id}/assign", "post", "Assign a task (supervisors)", inputs.AssignTaskIn, schemas.TaskOut, True),
    ("/tasks/{task_id}/extend", "post", "Extend a task's deadline with a reason (supervisors)",
     inputs.ExtendDeadlineIn, schemas.TaskOut, True),
    ("/cases/{case_id}/hold", "post", "Put a case on hold: its deadline clocks stop", inputs.HoldCaseIn,
     schemas.CaseDetail, True),
    ("/cases/{case_id}/resume", "post", "Resume a held case: deadlines move by the time held", None,
     schemas.CaseDetail, True),
    ("/cases/{case_id}/consents", "get", "The case's consent register, each consent with its validity today", None,
     schemas.ConsentList, True),
    ("/cases/{case_id}/consents", "post", "Record a consent (purpose, agency, who gave it, when, evidence, expiry)",
     inputs.ConsentIn, schemas.ConsentOut, True),
    ("/consents/{consent_id}/revoke", "post", "Record a consent's revocation with the reason; opens a task for the "
     "case's social worker", inputs.RevokeConsentIn, schemas.ConsentOut, True),
    ("/notifications", "get", "The user's notifications with the unread count (filters: unread)", None,
     schemas.NotificationList, True),
    ("/notifications/{notification_id}/read", "post", "Mark one notification read", None, None, True),
    ("/notifications/read", "post", "Mark all notifications read", None, None, True),
    ("/calendars/{code}/days", "get", "Days of a working calendar (UZ, KZ, KG) with reasons (from, to)", None,
     None, True),
    ("/calendars/{code}/days", "post", "Add an override: extra day off or transferred working day (admin)",
     inputs.CalendarDayIn, None, True),
    ("/calendars/{code}/days/{override_id}", "delete", "Remove an override (admin)", None, None, True),
    ("/definitions", "get", "Published process definition versions", None, None, True),
    ("/definitions/compare", "get", "What changed between two versions (from, to; by default the latest and the one "
     "before): tasks, flows, deadlines, decision rules, form fields, translations, files (methodologists)", None,
     None, True),
    ("/cases/{case_id}/export", "get", "Everything held on the case's person, for their request (logged)", None,
     None, True),
    ("/cases/{case_id}/file", "get", "The case file (format_version inside): every answer of every form, each version "
     "of the service plan, the story, documents issued, deadlines, escalations, holds, consents (logged)", None, None,
     True),
    ("/cases/{case_id}/file.pdf", "get", "The case file as a PDF in the user's language (logged)", None, None, True),
    ("/cases/{case_id}/documents", "get", "The documents that can be issued for a case (service plan, assessment "
     "act, referral letter, closure summary ...), titled in the user's language", None, None, True),
    ("/cases/{case_id}/documents/{document}", "get", "One document of the case as a PDF attachment in the user's "
     "language (or ?lang=), from the latest published templates (logged as a read and as document.issued)", None,
     None, True),
    ("/cases/{case_id}/rectify", "post", "Correct a person's details at their request (reason kept with the history)",
     inputs.RectifyIn, None, True),
    ("/cases/{case_id}/legal-hold", "post", "Put a case under legal hold (reason) or lift it (no reason)", None,
     None, True),
    ("/drafts", "get", "Open drafts of the process (methodologists; all=true includes published and discarded)",
     None, None, True),
    ("/drafts", "post", "Start a draft from a published version (name, from_version; latest by default)",
     schemas.DraftIn, None, True),
    ("/drafts/{draft_id}", "get", "A draft with its files and the problems of its last check", None, None, True),
    ("/drafts/{draft_id}", "delete", "Discard a draft", None, None, True),
    ("/drafts/{draft_id}/files/{name}", "put", "Save one file of a draft (content, row_version); checks the set",
     schemas.DraftFileIn, None, True),
    ("/drafts/{draft_id}/files/{name}", "delete", "Remove one file of a draft (?row_version=)", None, None, True),
    ("/drafts/{draft_id}/changes", "get", "What the draft changed since the version it started from", None, None,
     True),
    ("/drafts/{draft_id}/check", "post", "Validate and lint the draft now", None, None, True),
    ("/drafts/{draft_id}/publish", "post", "Publish the draft as a new version (note); every scenario must pass",
     schemas.PublishIn, None, True),
    ("/drafts/{draft_id}/scenarios", "post", "Save a scenario (replacing the one of the same name) and run all of "
     "them in a sandbox", schemas.ScenarioIn, None, True),
    ("/drafts/{draft_id}/scenarios", "delete", "Remove a scenario (?name=&row_version=)", None, None, True),
    ("/drafts/{draft_id}/replay", "get", "The draft's deadline rules replayed over the last `months` months of "
     "cases: deadlines missed per district and stage, against the current version (aggregates only)", None, None,
     True),
    ("/drafts/{draft_id}/scenarios/record", "post", "Record a scenario by walking the draft with sample answers",
     schemas.ScenarioRecordIn, None, True),
    ("/migrations/dry-run", "post", "Which open cases of version `from` can move to `to`, and why not (no change)",
     schemas.MigrationIn, None, True),
    ("/migrations", "post", "Move the safe open cases of version `from` to `to` (note); the others stay",
     schemas.MigrationIn, None, True),
    ("/migrations", "get", "Migrations of running cases, newest first", None, None, True),
    ("/migrations/{migration_id}/revert", "post", "Put a migration's cases back, unless they changed since", None,
     None, True),
    ("/break-glass", "get", "Break-glass access: an administrator's own, or a supervisor's district's", None, None,
     True),
    ("/break-glass", "post", "Open time-limited access to one case with a reason (administrators)",
     inputs.BreakGlassIn, None, True),
    ("/break-glass/{grant_id}/close", "post", "End one's own break-glass access early", None, None, True),
    ("/reports/monthly", "get", "The monthly report (year, month, level: worker/mahalla/district/region, unit_id, "
     "time_zone; by default the last month of one's own office): cases opened, closed by reason, open by stage and "
     "risk, people and households served by category, services by type, referrals by destination, deadlines met "
     "and missed, working days per stage, escalations; format=csv, xlsx or pdf for the files in the user's language",
     None, None, True),
    ("/reports/choices", "get", "What one may ask the monthly report for: levels, units, defaults", None, None, True),
    ("/statistics", "get", "Process statistics without personal data: time per stage and task in working days, "
     "late shares, open tasks, cases on hold, escalations; cells under 5 cases suppressed", None, None, True),
]


@lru_cache(maxsize=1)
def document() -> dict:
    spec = APISpec(title="Yordam API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.Error)
    paths: dict = {}
    for path, method, summary, request_schema, response_schema, secured in ROUTES:
        success = SUCCESS.get((path, method), "200")
        operation = {"summary": summary, "responses": {
            success: {"description": "No content" if success == "204" else "OK"},
            "default": {"description": "Error", "content": {"application/json": {"schema": "Error"}}}}}
        if response_schema is not None:
            operation["responses"][success]["content"] = {"application/json": {"schema": response_schema}}
        if request_schema is not None:
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": request_schema}}}
        if secured:
            operation["security"] = [{"bearer": []}]
        parameters = [{"name": name, "in": "path", "required": True, "schema": schema}
                      for name, schema in PATH_PARAMETERS.items() if "{" + name + "}" in path]
        parameters += [{"name": name, "in": "query", "schema": schema}
                       for name, schema in QUERY.get((path, method), {}).items()]
        if (path, method) in IDEMPOTENT:
            parameters.append(IDEMPOTENCY_KEY)
            operation["responses"][success]["headers"] = {"Idempotent-Replayed": {
                "description": "`true` when this is the kept answer of an earlier request with the same key",
                "schema": {"type": "string", "enum": ["true"]}}}
        if secured:
            parameters.append({"name": "lang", "in": "query", "schema": {"type": "string", "enum": list(LANGUAGES)},
                               "description": "texts in another UI language for this request"})
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
