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
    anonymised = fields.Boolean(metadata={"description": "its personal data were removed after the retention date"})
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
    subject_name = fields.String(metadata={"description": "whom the case is about"})
    mahalla = fields.Nested(OrgRef)
    name = fields.String(metadata={"description": "BPMN id of the task"})
    title = fields.String()
    role = fields.String()
    lane = fields.String(allow_none=True)
    assignee = fields.Nested(UserRef, allow_none=True)
    stage = fields.String(allow_none=True)
    form_key = fields.String(allow_none=True)
    state = fields.String()
    created_at = fields.String()
    kind = fields.String(metadata={"description": "process (a BPMN task), escalation (about an overdue task) or "
                                                  "consent (review the case after a consent was revoked)"})
    due_at = fields.String(allow_none=True)
    overdue = fields.Boolean()
    clock_stopped = fields.Boolean(metadata={"description": "the case is on hold; the deadline does not run"})
    deadline_explanation = fields.String(allow_none=True,
                                         metadata={"description": "how the due instant was reached, in the "
                                                   "user's language (or ?lang=)"})
    escalation_level = fields.Integer(metadata={"description": "rungs of the escalation ladder reached"})
    escalates = fields.Dict(metadata={"description": "escalation tasks: the overdue task"})
    actions = fields.List(fields.String(), metadata={"description": "escalation tasks: what completing may do"})
    requires_consent = fields.Dict(metadata={"description": "completing it needs a valid consent: purpose, and "
                                                            "agency_field (the answer naming the agency)"})
    consent = fields.Dict(metadata={"description": "consent tasks: the revoked consent (id, purpose, agency, "
                                                   "revoked_at, revocation_reason)"})
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


class Viewer(Schema):
    user = fields.Nested(UserRef, allow_none=True)
    last_viewed_at = fields.String()
    views = fields.Integer()


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
    viewers = fields.List(fields.Nested(Viewer), metadata={"description": "who has read the case (GET only), "
                                                                         "most recent first"})


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
    problems = fields.List(fields.Dict(), metadata={"description": "definition_invalid: every finding"})
    details = fields.Dict(metadata={"description": "script_failed: where the methodologist's script failed"})


class PersonRef(Schema):
    id = fields.Integer()
    full_name = fields.String()


class ConsentOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    person = fields.Nested(PersonRef, metadata={"description": "whose data: the case's person or a household member"})
    purpose = fields.String(metadata={"description": "assessment, data_sharing or referral"})
    agency = fields.String(allow_none=True, metadata={"description": "for data_sharing and referral"})
    given_by = fields.String(metadata={"description": "person or legal_representative"})
    representative_name = fields.String(allow_none=True)
    representative_relation = fields.String(allow_none=True)
    given_at = fields.String(metadata={"description": "date"})
    evidence = fields.String()
    expires_on = fields.String(allow_none=True, metadata={"description": "the last day it holds (date)"})
    status = fields.String(metadata={"description": "valid, expired, revoked or not_yet_given (today, in the case's "
                                                    "district)"})
    valid = fields.Boolean()
    recorded_by = fields.Nested(UserRef)
    recorded_at = fields.String()
    revoked_at = fields.String(allow_none=True)
    revoked_by = fields.Nested(UserRef, allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    review_task_id = fields.String(allow_none=True, metadata={"description": "the task revocation opened"})


class ConsentList(Schema):
    case_id = fields.Integer()
    today = fields.String(metadata={"description": "the day validity is judged on"})
    items = fields.List(fields.Nested(ConsentOut))


class DraftIn(Schema):
    name = fields.String(required=True, metadata={"description": "1–200 characters"})
    from_version = fields.Integer(metadata={"description": "a published version number; the latest if left out"})


class DraftFileIn(Schema):
    content = fields.String(required=True)
    row_version = fields.Integer(required=True, metadata={"description": "the draft's row_version you edited"})


class ScenarioIn(Schema):
    scenario = fields.Dict(required=True, metadata={"description": "name; start {date, channel, calendar}; steps "
                                                                   "[{task, answers, after}]; expect {status, stage}"})
    row_version = fields.Integer(required=True, metadata={"description": "the draft's row_version you edited"})


class ScenarioRecordIn(Schema):
    name = fields.String(required=True, metadata={"description": "1–120 characters"})
    row_version = fields.Integer(required=True, metadata={"description": "the draft's row_version you edited"})


class PublishIn(Schema):
    note = fields.String(required=True, metadata={"description": "what changed, 3–500 characters"})


class MigrationIn(Schema):
    from_ = fields.Integer(required=True, data_key="from", metadata={"description": "the version the cases are on"})
    to = fields.Integer(required=True, metadata={"description": "a newer published version"})
    note = fields.String(metadata={"description": "why, kept with the migration (apply only)"})
