"""The OpenAPI 3 document of /api/v1, generated from the same marshmallow schemas the code uses."""
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from engine.services import inputs

from . import schemas

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
    ("/break-glass", "get", "Break-glass access: an administrator's own, or a supervisor's district's", None, None,
     True),
    ("/break-glass", "post", "Open time-limited access to one case with a reason (administrators)",
     inputs.BreakGlassIn, None, True),
    ("/break-glass/{grant_id}/close", "post", "End one's own break-glass access early", None, None, True),
]


@lru_cache(maxsize=1)
def document() -> dict:
    spec = APISpec(title="Yordam API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.Error)
    paths: dict = {}
    for path, method, summary, request_schema, response_schema, secured in ROUTES:
        operation = {"summary": summary, "responses": {
            "200": {"description": "OK"},
            "default": {"description": "Error", "content": {"application/json": {"schema": "Error"}}}}}
        if response_schema is not None:
            operation["responses"]["200"]["content"] = {"application/json": {"schema": response_schema}}
        if request_schema is not None:
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": request_schema}}}
        if secured:
            operation["security"] = [{"bearer": []}]
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in ("case_id", "task_id", "notification_id", "code", "override_id")
                      if "{" + name + "}" in path]
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
