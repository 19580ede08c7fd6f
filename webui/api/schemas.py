"""Response shapes of the JSON API, used to document it (OpenAPI) and to dump what services return."""
from marshmallow import Schema, fields


class UserRef(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()


class OrgRef(Schema):
    id = fields.Integer()
    name = fields.String()


class CaseSummary(Schema):
    id = fields.Integer()
    subject_name = fields.String()
    subject_kind = fields.String()
    mahalla = fields.Nested(OrgRef)
    owner = fields.Nested(UserRef)
    stage = fields.String(allow_none=True)
    status = fields.String()
    risk_level = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    opened_at = fields.String()
    closed_at = fields.String(allow_none=True)
    on_hold = fields.Boolean()
    held_since = fields.String(allow_none=True)
    hold_reason = fields.String(allow_none=True)


class TaskOut(Schema):
    id = fields.String()
    case_id = fields.Integer()
    name = fields.String(metadata={"description": "BPMN id of the task"})
    title = fields.String()
    role = fields.String()
    lane = fields.String(allow_none=True)
    assignee = fields.Nested(UserRef, allow_none=True)
    stage = fields.String(allow_none=True)
    form_key = fields.String(allow_none=True)
    state = fields.String()
    created_at = fields.String()
    kind = fields.String(metadata={"description": "process (a BPMN task) or escalation (about an overdue task)"})
    due_at = fields.String(allow_none=True)
    overdue = fields.Boolean()
    clock_stopped = fields.Boolean(metadata={"description": "the case is on hold; the deadline does not run"})
    deadline_explanation = fields.String(allow_none=True,
                                         metadata={"description": "how the due instant was reached, in the "
                                                   "user's language (or ?lang=)"})
    escalation_level = fields.Integer(metadata={"description": "rungs of the escalation ladder reached"})
    escalates = fields.Dict(metadata={"description": "escalation tasks: the overdue task"})
    actions = fields.List(fields.String(), metadata={"description": "escalation tasks: what completing may do"})
    completed_at = fields.String(allow_none=True)
    completed_by = fields.Nested(UserRef, allow_none=True)


class TaskDetail(TaskOut):
    case = fields.Nested(CaseSummary)
    form = fields.Dict(metadata={"description": "form-js definition"})
    values = fields.Dict()


class TimelineEntry(Schema):
    at = fields.String()
    action = fields.String()
    actor = fields.Nested(UserRef, allow_none=True)
    task_id = fields.String(allow_none=True)
    details = fields.Dict()


class CaseDetail(CaseSummary):
    summary = fields.String()
    channel = fields.String()
    subject = fields.Dict()
    stages = fields.List(fields.String())
    definition = fields.Dict()
    open_tasks = fields.List(fields.Nested(TaskOut))
    timeline = fields.List(fields.Nested(TimelineEntry))
    story = fields.List(fields.Dict(), metadata={"description": "the timeline in plain language, in the "
                                                               "user's language: at, text, actor, action, "
                                                               "task_id, late_working_days"})
    plan = fields.Dict(allow_none=True, metadata={"description": "the individual service plan as it stands"})


class CaseList(Schema):
    items = fields.List(fields.Nested(CaseSummary))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class TaskList(Schema):
    items = fields.List(fields.Nested(TaskOut))
    limit = fields.Integer()
    offset = fields.Integer()


class CompletionOut(Schema):
    task = fields.Nested(TaskOut)
    case = fields.Nested(CaseSummary)
    next_tasks = fields.List(fields.Nested(TaskOut))


class Notification(Schema):
    id = fields.Integer()
    kind = fields.String()
    text = fields.String()
    case_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    created_at = fields.String()
    read_at = fields.String(allow_none=True)


class NotificationList(Schema):
    items = fields.List(fields.Nested(Notification))
    unread = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class LoginIn(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True)


class LoginOut(Schema):
    token = fields.String()
    user = fields.Dict()


class Error(Schema):
    error = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields")
