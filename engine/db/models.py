"""Tables. The case's process state is one JSON document; tasks, timers and audit are projections beside it."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which drops zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class OrgUnit(Base):
    """Region (viloyat) → district or city (tuman/shahar, one centre each) → mahalla."""

    __tablename__ = "org_units"
    __table_args__ = (CheckConstraint("kind in ('region', 'district', 'mahalla')", name="ck_org_units_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    calendar: Mapped[str | None] = mapped_column(String(8))  # jurisdiction code of a district: UZ, KZ, KG

    parent: Mapped["OrgUnit | None"] = relationship(remote_side="OrgUnit.id")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(
        "role in ('social_worker', 'supervisor', 'center_head', 'specialist', 'methodologist', 'admin')",
        name="ck_users_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="uz")
    email: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    mahallas: Mapped[list["OrgUnit"]] = relationship(secondary="user_mahallas", order_by="OrgUnit.name")


class UserMahalla(Base):
    __tablename__ = "user_mahallas"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    mahalla_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    #: "web" (a browser session, ends after ``session_idle_minutes`` without use) or "api" (a bearer token).
    kind: Mapped[str] = mapped_column(String(8), default="api", server_default="api")
    last_seen_at: Mapped[datetime | None]
    origin: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(400), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime]


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    members: Mapped[list["HouseholdMember"]] = relationship(order_by="HouseholdMember.position")


class HouseholdMember(Base):
    __tablename__ = "household_members"

    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)

    person: Mapped[Person] = relationship()


class DefinitionVersion(Base):
    """A published, immutable set of BPMN, DMN and form files; cases stay on the version they started on."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_definition_versions_number"),
                      UniqueConstraint("process_id", "content_hash", name="uq_definition_versions_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    #: The set's files and compiled spec are read once per process into the engine's caches (forms, spec,
    #: translations): deferred, so that loading a case's version does not parse them again each time.
    files: Mapped[dict] = mapped_column(deferred=True)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    stages: Mapped[list]
    note: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def key(self) -> str:
        return f"{self.process_id}@{self.content_hash[:16]}"


class DefinitionDraft(Base):
    """A methodologist's working copy of a definition set (BPMN, DMN, forms and their translations).

    Saved as often as she likes; checked on every save (``problems``); published as a new immutable version.
    Never holds personal data: scenarios use synthetic answers.
    """

    __tablename__ = "definition_drafts"
    __table_args__ = (CheckConstraint("status in ('open', 'published', 'discarded')", name="ck_drafts_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    files: Mapped[dict]
    problems: Mapped[list] = mapped_column(default=list)
    scenarios: Mapped[list] = mapped_column(default=list)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("definition_versions.id"))
    published_version_id: Mapped[int | None] = mapped_column(ForeignKey("definition_versions.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}

    based_on: Mapped[DefinitionVersion | None] = relationship(foreign_keys=[based_on_id])


class Migration(Base):
    """Running cases moved from one published version to another, in one go; revertible case by case."""

    __tablename__ = "migrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(500))
    moved: Mapped[int] = mapped_column(Integer, default=0)
    unsafe: Mapped[int] = mapped_column(Integer, default=0)
    reverted_at: Mapped[datetime | None]


class CaseMigration(Base):
    """One case's move: its state before (to revert), and the row version it had right after (to know whether
    it changed since)."""

    __tablename__ = "case_migrations"
    __table_args__ = (Index("ix_case_migrations_migration", "migration_id"),
                      Index("ix_case_migrations_case", "case_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    migration_id: Mapped[int] = mapped_column(ForeignKey("migrations.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    old_state: Mapped[str] = mapped_column(Text)
    old_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    row_version_after: Mapped[int]
    moved_at: Mapped[datetime]
    reverted_at: Mapped[datetime | None]


CASE_STATUSES = ("open", "closed")
RISK_LEVELS = ("none", "low", "medium", "high")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status in ('open', 'closed')", name="ck_cases_status"),
        CheckConstraint("risk_level in ('none', 'low', 'medium', 'high')", name="ck_cases_risk_level"),
        CheckConstraint("subject_kind in ('person', 'household')", name="ck_cases_subject_kind"),
        Index("ix_cases_district_status", "district_id", "status"),
        Index("ix_cases_owner_status", "owner_id", "status"),
        Index("ix_cases_next_timer", "next_timer_at"),
        # Monthly reports: cases opened, closed, open at the month's end (closed_at IS NULL or after it).
        Index("ix_cases_opened_at", "opened_at"),
        Index("ix_cases_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    subject_name: Mapped[str] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(2000), index=True)
    mahalla_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    risk_level: Mapped[str | None] = mapped_column(String(16))
    categories: Mapped[list] = mapped_column(default=list)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"), index=True)
    state: Mapped[str] = mapped_column(Text, default="")
    next_timer_at: Mapped[datetime | None]
    held_since: Mapped[datetime | None]  # on hold: the deadline clocks of its open tasks are stopped
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    #: Set by a supervisor when a court, prosecutor or inspection needs the file kept: retention skips the case.
    legal_hold_reason: Mapped[str | None] = mapped_column(String(500))
    #: When the retention job removed its personal data (``services/retention.py``).
    anonymised_at: Mapped[datetime | None]
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}

    person: Mapped[Person | None] = relationship()
    household: Mapped[Household | None] = relationship()
    mahalla: Mapped[OrgUnit] = relationship(foreign_keys=[mahalla_id])
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    definition_version: Mapped[DefinitionVersion] = relationship()


TASK_STATES = ("open", "completed", "cancelled")
TASK_KINDS = ("process", "escalation", "consent")


class Task(Base):
    """Projection of a human task: what inboxes and queues query. The state document stays the truth."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("state in ('open', 'completed', 'cancelled')", name="ck_tasks_state"),
        CheckConstraint("kind in ('process', 'escalation', 'consent')", name="ck_tasks_kind"),
        Index("ix_tasks_assignee_state", "assignee_id", "state"),
        Index("ix_tasks_queue", "role", "district_id", "state"),
        Index("ix_tasks_case_state", "case_id", "state"),
        Index("ix_tasks_due", "state", "due_at"),
        # A district's overdue view, first page without sorting the district's overdue tasks (bench/tasklists.py).
        Index("ix_tasks_district_state_due", "district_id", "state", "due_at"),
        Index("ix_tasks_kind_created", "kind", "created_at"),  # the workbench's replay of recent months
        # Monthly reports (engine/services/reports.py), each with what the report reads of the rows, so that
        # PostgreSQL answers from the index alone (bench/reports.py: a national month at 1,000,000 cases):
        # the tasks completed in a month (deadlines, services, stages finished) ...
        Index("ix_tasks_completed_at", "completed_at",
              postgresql_include=["case_id", "id", "kind", "state", "stage", "due_at", "district_id", "mahalla_id",
                                  "assignee_id"]),
        # ... and a case's tasks in opening order (the stage at a month's end, the spans of stages).
        Index("ix_tasks_case_created", "case_id", "created_at", "id",
              postgresql_include=["stage", "kind", "state", "completed_at", "district_id", "mahalla_id",
                                  "assignee_id"]),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    mahalla_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    form_key: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    draft: Mapped[dict | None]
    kind: Mapped[str] = mapped_column(String(16), default="process")
    #: How the due instant was reached (rule, start, skipped days, holds, extensions): rendered per language.
    deadline: Mapped[dict | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # rungs of the ladder fired so far
    #: An escalation task points at the overdue task it is about, and says which rung raised it.
    escalates_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    rung: Mapped[int | None]
    #: The task's ``requires_consent`` property ({"purpose", "agency_field"}): completing it needs a valid consent.
    requires_consent: Mapped[dict | None]
    #: A consent task ("Consent revoked: ...") points at the revoked consent it is about.
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id", name="fk_tasks_consent_id"))
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}

    case: Mapped[Case] = relationship()
    escalates: Mapped["Task | None"] = relationship(remote_side="Task.id", foreign_keys=[escalates_task_id])
    consent: Mapped["Consent | None"] = relationship(foreign_keys=[consent_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


class AuditEvent(Base):
    """Who did what, when. Rows are only ever inserted."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_case_at", "case_id", "at"),
                      Index("ix_audit_action_at", "action", "at"))  # a month's task.completed rows (reports)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict] = mapped_column(default=dict)

    actor: Mapped[User | None] = relationship()


TIMER_KINDS = ("reminder", "escalation", "bpmn")
TIMER_STATUSES = ("pending", "claimed", "fired", "cancelled", "failed")


class Timer(Base):
    """Every due instant the engine must act on: the database, not the ticker, is the truth about what is due.

    A timer is claimed by one scheduler (``claimed_by`` + a lease) and fired in the case's own transaction,
    which moves it to ``fired`` only if that scheduler still holds the claim: each timer fires exactly once.
    """

    __tablename__ = "timers"
    __table_args__ = (
        CheckConstraint("kind in ('reminder', 'escalation', 'bpmn')", name="ck_timers_kind"),
        CheckConstraint("status in ('pending', 'claimed', 'fired', 'cancelled', 'failed')", name="ck_timers_status"),
        Index("ix_timers_status_due", "status", "due_at"),
        Index("ix_timers_status_lease", "status", "lease_until"),
        Index("ix_timers_task_status", "task_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # e.g. task:<id>:g0:rung:1, case:<id>:bpmn:<instant>
    kind: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    rung: Mapped[int | None]
    target_role: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    late_seconds: Mapped[float | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts to fire
    outcome: Mapped[str | None] = mapped_column(String(200))  # what firing did, or why it was cancelled

    task: Mapped[Task | None] = relationship()  # also orders the inserts: a task row before its timers


class Notification(Base):
    """In-app messages for one user. The text is rendered in the reader's language from ``kind`` + ``params``."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    params: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class OutboxEmail(Base):
    """E-mail written in the same transaction as its cause and sent later by an adapter (off by default)."""

    __tablename__ = "outbox_emails"
    __table_args__ = (Index("ix_outbox_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class CalendarDay(Base):
    """An administrator's override of one date in a jurisdiction's calendar, for all of it or one org unit
    (a region or district that keeps a different day off)."""

    __tablename__ = "calendar_days"
    __table_args__ = (
        CheckConstraint("kind in ('day_off', 'working_day')", name="ck_calendar_days_kind"),
        UniqueConstraint("calendar", "date", "org_unit_id", name="uq_calendar_days_date"),
        # NULLs are distinct in a unique constraint: one jurisdiction-wide override per date needs its own index.
        Index("uq_calendar_days_national", "calendar", "date", unique=True,
              sqlite_where=text("org_unit_id IS NULL"), postgresql_where=text("org_unit_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar: Mapped[str] = mapped_column(String(8))
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class BreakGlass(Base):
    """An administrator's time-limited, reasoned access to one case's contents; shown to the district's supervisors."""

    __tablename__ = "break_glass"
    __table_args__ = (Index("ix_break_glass_user_expires", "user_id", "expires_at"),
                      Index("ix_break_glass_district_opened", "district_id", "opened_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    reason: Mapped[str] = mapped_column(String(500))
    opened_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed sign-ins, for throttling (per username and per address); never which usernames exist."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_origin_at", "origin", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]


CONSENT_PURPOSES = ("assessment", "data_sharing", "referral")
#: Purposes whose consent names the agency the data goes to or the person is referred to.
AGENCY_PURPOSES = ("data_sharing", "referral")
CONSENT_GIVERS = ("person", "legal_representative")


class Consent(Base):
    """A person's consent to one purpose (assessment, data sharing with a named agency, referral to one), given
    by the person or a legal representative, with its evidence. Never deleted: revoked, with a reason."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint("purpose in ('assessment', 'data_sharing', 'referral')", name="ck_consents_purpose"),
        CheckConstraint("given_by in ('person', 'legal_representative')", name="ck_consents_given_by"),
        Index("ix_consents_case_purpose", "case_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))  # the case's person, or a household member
    purpose: Mapped[str] = mapped_column(String(16))
    agency: Mapped[str | None] = mapped_column(String(200))
    given_by: Mapped[str] = mapped_column(String(24))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_relation: Mapped[str | None] = mapped_column(String(100))
    given_at: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(String(1000))
    expires_on: Mapped[date | None] = mapped_column(Date)  # the last day it holds
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    person: Mapped[Person] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def valid_on(self, day: date) -> bool:
        return self.given_at <= day and self.revoked_at is None and (self.expires_on is None or day <= self.expires_on)


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` on a changing API request, kept with the answer it got, so that a retry of
    the same request (after a lost answer, a timeout, a crash) gets that answer instead of doing the work again.
    Written in the transaction of the work itself: there is a key exactly when the work was committed."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_user_expires", "user_id", "expires_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the method, path and body
    status: Mapped[int | None]  # the answer's HTTP status and body; set before the transaction commits
    response: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
