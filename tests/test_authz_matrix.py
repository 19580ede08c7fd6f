"""The authorization matrix: every role × every route of the HTML app and of /api/v1 × every kind of target.

The expected outcome of each cell is computed from the rules of the security issue, never from what the code
does:

* a social worker sees the cases of their mahallas and those assigned to them (they own the case or hold one
  of its tasks);
* a supervisor and the centre head see their district;
* a specialist sees only the cases referred (assigned) to them;
* a methodologist sees no personal data at all;
* an administrator manages users and settings (calendars) but reads no case contents;
* nobody signed out sees anything but the sign-in page, the static files and the API description.

Routes are enumerated from the app's ``url_map``: a route without a rule in ``OPS`` fails the matrix (and a
rule for a route that is gone fails it too), so no route can be added unguarded without somebody deciding who
may use it. Targets come from the demo region (one server, one SQLite database for the whole module): a case
and a task of each worker, a case in another mahalla of the same district, cases and tasks of the other
district, the supervisors' queues, escalations, a completed task, a task referred to the specialist, consents,
notifications, sessions, break-glass grants and a calendar override; list routes are also asked with filters
aiming outside the user's scope.

Reads are run for every cell: allowed is 200 (or, for an alias, a redirect to its page), refused is 403 or 404
(401 or the sign-in page when signed out). Writes are run for every cell that must be refused: 403 or 404 (409
when the user may see the object and its state refuses first; for a browser form, the app's post/redirect/get
with the reason flashed), and nothing changed. Allowed writes are not run cell by cell (they would change the
world under the other cells); a handful is run at the end. Every answer is searched for the names of the
clients whose cases the user may not read, and every allowed read of a case (case page, task page, export,
API) must name its subject and have left a row in the access log with the user, the case and the address the
request came from.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlparse

import pytest
from markupsafe import escape
from sqlalchemy import func, select, text

from engine.db.models import (ApiToken, AuditEvent, BreakGlass, Case, Consent, DefinitionDraft, Notification,
                              OrgUnit, Task, User)
from engine.services import breakglass, calendars, consents, demo, drafts
from engine.services.demo import actor as demo_actor
from engine.services.reports import REPORTING
from tests.api_client import Client, LiveServer
from tests.conftest import make_engine
from tests.web_client import WebClient

SUPERVISING = ("supervisor", "center_head")
OPENERS = ("social_worker", "supervisor", "center_head")
USERNAMES = [u[0] for u in demo.USERS]
ORIGIN = "127.0.0.1"
REASON = "authz matrix probe"
CONSENT = {"purpose": "assessment", "given_by": "person", "given_at": "2026-01-05", "evidence": "Signed form No. 7"}


# --- the world: who is who, and the objects the matrix aims at --------------------------------------------------

@dataclass(frozen=True)
class Who:
    id: int
    username: str
    full_name: str
    role: str
    district_id: int | None
    mahalla_ids: frozenset
    granted: frozenset = frozenset()  # cases an administrator holds open break-glass access to


@dataclass(frozen=True)
class CaseT:
    id: int
    name: str
    mahalla_id: int
    district_id: int
    owner_id: int
    status: str
    assignees: frozenset  # everyone who holds or held one of its tasks


@dataclass(frozen=True)
class TaskT:
    id: str
    label: str
    case_id: int
    kind: str
    role: str
    lane: str | None
    assignee_id: int | None
    district_id: int
    state: str


@dataclass(frozen=True)
class Target:
    """What one cell aims at: the URL parameters it fills and what the rules look at."""
    label: str
    params: dict = field(default_factory=dict)
    case: CaseT | None = None
    task: TaskT | None = None
    owner_id: int | None = None      # of a notification, a session or a break-glass grant
    mahalla: tuple | None = None     # (id, district id) of the mahalla a new case is opened in
    handover: tuple | None = None    # (from user, to user) of a hand-over
    query: str = ""


@dataclass
class World:
    engine: object
    url: str
    users: dict            # username → Who
    cases: dict            # id → CaseT (every case of the demo, for the leak check)
    tasks: dict            # label → TaskT
    targets: dict          # kind → [Target]
    api: dict = field(default_factory=dict)    # username (None: signed out) → Client
    web: dict = field(default_factory=dict)    # username (None: signed out) → WebClient
    csrf: dict = field(default_factory=dict)   # username → CSRF token of its browser session
    sessions: dict = field(default_factory=dict)  # user id → public id of one of its sessions
    app: object = None


def _stage(engine) -> None:
    """What the demo lacks and the rules talk about: a task referred to the specialist (the shipped process has
    no specialist lane yet, so a worker's task is handed over as a referral would be), a social-worker task
    waiting unassigned in the queue of its mahalla, a calendar override for the administrators' routes, the
    administrator's break-glass access (one open, to the other district's case; one ended), and a consent in
    the register of a case of each district."""
    with engine.db.write() as session:
        ids = {u.username: u.id for u in session.scalars(select(User))}
        worker2 = session.scalars(select(Task).where(Task.assignee_id == ids["worker2"], Task.state == "open",
                                                     Task.kind == "process").order_by(Task.case_id)).all()
        assert len(worker2) >= 3, "the demo gives worker2 three open tasks"
        referred, queued = worker2[-1], worker2[-2]
        referred.assignee_id, referred.role = ids["specialist1"], "specialist"
        queued.assignee_id = None
    admin = demo_actor(engine, "admin1")
    calendars.add_override(engine, admin, "UZ", {"date": "2026-03-20", "kind": "day_off", "name": "Matrix day"})
    with engine.db.read() as session:
        first = {name: session.scalar(select(Case.id).join(User, User.id == Case.owner_id)
                                      .where(User.username == name, Case.status == "open").order_by(Case.id))
                 for name in ("worker1", "worker3")}
    reason = "The person asked for a copy of their file (request No. 17)"
    ended = breakglass.open_access(engine, admin, {"case_id": first["worker1"], "reason": reason})
    breakglass.close_access(engine, admin, ended["id"])
    breakglass.open_access(engine, admin, {"case_id": first["worker3"], "reason": reason, "minutes": 240})
    for name, case_id in first.items():
        consents.record_consent(engine, demo_actor(engine, name), case_id, CONSENT)
    drafts.start_draft(engine, demo_actor(engine, "methodologist1"), {"name": "Matrix draft"})


def _build_world(engine, url) -> World:
    with engine.db.read() as session:
        users = {u.username: Who(u.id, u.username, u.full_name, u.role, u.district_id,
                                 frozenset(m.id for m in u.mahallas), breakglass.granted_case_ids(
                                     session, u.id, engine.now()) if u.role == "admin" else frozenset())
                 for u in session.scalars(select(User).where(User.username.in_(USERNAMES)))}
        grants = session.scalars(select(BreakGlass).order_by(BreakGlass.id)).all()
        consent_rows = session.execute(select(Consent.id, Consent.case_id).order_by(Consent.id)).all()
        draft_id = session.scalar(select(DefinitionDraft.id).order_by(DefinitionDraft.id))
        assignees = {}
        for case_id, user_id in session.execute(select(Task.case_id, Task.assignee_id)
                                                .where(Task.assignee_id.is_not(None))):
            assignees.setdefault(case_id, set()).add(user_id)
        cases = {c.id: CaseT(c.id, c.subject_name, c.mahalla_id, c.district_id, c.owner_id, c.status,
                             frozenset(assignees.get(c.id, ()))) for c in session.scalars(select(Case))}
        all_tasks = session.scalars(select(Task).order_by(Task.case_id, Task.created_at, Task.id)).all()
        mahallas = {m.id: m.parent_id for m in session.scalars(select(OrgUnit).where(OrgUnit.kind == "mahalla"))}
        overrides = session.execute(text("SELECT id FROM calendar_days ORDER BY id")).scalars().all()
        notes = {}
        for n in session.scalars(select(Notification).order_by(Notification.id)):
            notes.setdefault(n.user_id, n.id)

    def t(row, label):
        return TaskT(row.id, label, row.case_id, row.kind, row.role, row.lane, row.assignee_id, row.district_id,
                     row.state)

    u = users
    by_id = {x.id: x.username for x in users.values()}
    d1, d2 = u["worker1"].district_id, u["worker3"].district_id

    def first(label, **where):
        for row in all_tasks:
            if all(getattr(row, k) == v for k, v in where.items()):
                return t(row, label)
        raise AssertionError(f"the demo has no task for {label}: {where}")

    tasks = {x.label: x for x in [
        first("worker1's task", assignee_id=u["worker1"].id, state="open", kind="process"),
        first("worker2's task (other mahalla)", assignee_id=u["worker2"].id, state="open", kind="process"),
        first("task referred to specialist1", assignee_id=u["specialist1"].id, state="open"),
        first("worker task in the district queue (other mahalla)", assignee_id=None, role="social_worker",
              state="open"),
        first("worker3's task (other district)", assignee_id=u["worker3"].id, state="open", kind="process"),
        first("supervisor queue task, district 1", assignee_id=None, role="supervisor", kind="process",
              district_id=d1, state="open"),
        first("supervisor queue task, district 2", assignee_id=None, role="supervisor", kind="process",
              district_id=d2, state="open"),
        first("escalation to the supervisors, district 1", kind="escalation", role="supervisor", district_id=d1,
              state="open"),
        first("escalation to the centre head, district 1", kind="escalation", role="center_head",
              district_id=d1, state="open"),
        first("escalation, district 2", kind="escalation", district_id=d2, state="open"),
        first("completed task of worker1's case", state="completed", kind="process", district_id=d1,
              assignee_id=u["worker1"].id),
    ]}

    def case_of(label):
        return cases[tasks[label].case_id]

    closed = next(c for c in cases.values() if c.status == "closed" and c.owner_id == u["worker1"].id)
    case_targets = [("worker1's case", case_of("worker1's task")),
                    ("worker2's case (other mahalla, same district)", case_of("worker2's task (other mahalla)")),
                    ("case referred to specialist1", case_of("task referred to specialist1")),
                    ("worker3's case (other district)", case_of("worker3's task (other district)")),
                    ("worker1's closed case", closed)]
    other_district_mahalla = min(m for m, d in mahallas.items() if d == d2)
    targets = {
        None: [Target("—")],
        "case": [Target(label, {"case_id": c.id, "document": "service_plan"}, case=c) for label, c in case_targets],
        "task": [Target(x.label, {"task_id": x.id}, case=cases[x.case_id], task=x) for x in tasks.values()],
        "mahalla": [Target("worker1's mahalla", mahalla=(min(u["worker1"].mahalla_ids), d1)),
                    Target("worker2's mahalla (same district)", mahalla=(min(u["worker2"].mahalla_ids), d1)),
                    Target("a mahalla of the other district", mahalla=(other_district_mahalla, d2))],
        "handover": [Target("worker1 → worker2 (district 1)", handover=("worker1", "worker2"))],
        "notification": [Target(f"{name}'s notification", {"notification_id": notes[u[name].id]},
                                owner_id=u[name].id) for name in ("worker2", "supervisor1")],
        "override": [Target("a UZ override", {"code": "UZ", "override_id": overrides[-1]})],
        "code": [Target("UZ calendar", {"code": "UZ"})],
        "static": [Target("yordam.css", {"filename": "yordam.css"})],
        "consent": [Target(f"consent in the register of case {case_id}", {"case_id": case_id, "consent_id": cid},
                           case=cases[case_id]) for cid, case_id in consent_rows],
        "migration": [Target("a migration", {"migration_id": 1})],
        "draft": [Target("a methodologist's draft", {"draft_id": draft_id, "name": "case_management.bpmn",
                                                           "form_key": "needs_assessment", "document": "service_plan"})],
        "grant": [Target(f"{by_id[g.user_id]}'s {'ended' if g.closed_at else 'open'} break-glass grant",
                         {"grant_id": g.id}, owner_id=g.user_id) for g in grants],
    }
    return World(engine, url, users, cases, tasks, targets)


# --- the rules --------------------------------------------------------------------------------------------------

def may_read_case(u: Who, c: CaseT) -> bool:
    if u.role == "social_worker":
        return c.mahalla_id in u.mahalla_ids or c.owner_id == u.id or u.id in c.assignees
    if u.role in SUPERVISING:
        return c.district_id == u.district_id
    if u.role == "specialist":
        return u.id in c.assignees  # referred to them
    if u.role == "admin":
        # Users and settings, never case contents, but for break-glass: one case, with a reason, for a while,
        # told to the district's supervisors (a data protection officer's sanctioned exception), to read only.
        return c.id in u.granted
    return False  # methodologist: no personal data at all


def may_read_task(u: Who, t: TaskT, c: CaseT) -> bool:
    if u.role in SUPERVISING:
        return t.district_id == u.district_id
    if t.assignee_id == u.id:
        return True
    if u.role == "social_worker":
        # The case's process tasks, as its case. An unassigned task of another mahalla is not the worker's
        # business (a data protection officer would not let a district-wide queue open other mahallas' files);
        # escalations are the supervisors' decisions about the worker's lateness.
        return t.kind == "process" and may_read_case(u, c)
    if u.role == "specialist":
        # A task waiting in the district's specialist queue is referred to each specialist of the district.
        return t.assignee_id is None and t.role == "specialist" and t.district_id == u.district_id
    return u.role == "admin" and t.case_id in u.granted  # break-glass opens the case's file, tasks included


def may_act_on(u: Who, t: TaskT, c: CaseT) -> bool:
    """Complete a task or keep a draft of it: its assignee, else a holder of its queue's role (the centre head
    decides any escalation of the district); escalations are decided by supervisors and the head only."""
    if not may_read_task(u, t, c) or t.state != "open" or u.role == "admin":  # break-glass reads, never acts
        return False
    if t.kind == "escalation" and u.role not in SUPERVISING:
        return False
    if t.assignee_id is not None:
        return t.assignee_id == u.id
    if t.kind == "escalation" and u.role == "center_head":
        return t.district_id == u.district_id
    return t.role == u.role and t.district_id == u.district_id


def may_claim(u: Who, t: TaskT, c: CaseT) -> bool:
    return may_read_task(u, t, c) and t.state == "open" and u.role != "admin" and (
        t.assignee_id == u.id or (t.assignee_id is None and t.role == u.role and t.district_id == u.district_id))


def may_manage_task(u: Who, t: TaskT, c: CaseT) -> bool:
    """Assign a task or extend its deadline: the supervisors and the head of its district."""
    return u.role in SUPERVISING and t.district_id == u.district_id and t.state == "open"


def may_hold(u: Who, c: CaseT) -> bool:
    """Put a case on hold or resume it: the case's own worker, the supervisors and the head of its district."""
    if c.status != "open":
        return False
    return (u.role in SUPERVISING and c.district_id == u.district_id) or \
        (u.role == "social_worker" and c.owner_id == u.id)


def may_rectify(u: Who, c: CaseT) -> bool:
    """Correct a person's details at their request (open or closed case): the case's own worker, the supervisors
    and the head of its district."""
    return (u.role in SUPERVISING and c.district_id == u.district_id) or \
        (u.role == "social_worker" and c.owner_id == u.id)


def may_manage_case(u: Who, c: CaseT) -> bool:
    """Keep a case from anonymisation (legal hold): the supervisors and the head of its district."""
    return u.role in SUPERVISING and c.district_id == u.district_id


def may_write_consent(u: Who, c: CaseT) -> bool:
    """Record or revoke a consent: the case's social worker (its owner or a worker of its mahalla) and the
    supervisors and the head of its district."""
    if not may_read_case(u, c):
        return False
    if u.role == "social_worker":
        return c.owner_id == u.id or c.mahalla_id in u.mahalla_ids
    return u.role in SUPERVISING


def may_open_in(u: Who, mahalla) -> bool:
    mahalla_id, district_id = mahalla
    if u.role == "social_worker":
        return mahalla_id in u.mahalla_ids
    return u.role in SUPERVISING and district_id == u.district_id


def everyone(w, u, target) -> bool:
    return True


def case_rule(rule):
    return lambda w, u, x: rule(u, x.case)


def task_rule(rule):
    return lambda w, u, x: rule(u, x.task, x.case)


def own(w, u, x) -> bool:
    return x.owner_id == u.id


def roles(*names):
    return lambda w, u, x: u.role in names


def handover_rule(w, u, x) -> bool:
    source, target = (w.users[n] for n in x.handover)
    return u.role in SUPERVISING and source.district_id == u.district_id == target.district_id


# --- the table: one rule per route and method -------------------------------------------------------------------

@dataclass
class Op:
    method: str
    rule: str
    target: str | None = None
    may: Callable = everyone
    reads_case: bool = False      # an allowed call reads a case: the access log must keep it
    names_subject: bool = True    # ... and its answer names the case's subject
    body: Callable | None = None  # (world, target) → JSON body or form fields
    public: bool = False          # open to the signed-out
    lands: Any = None             # an allowed GET redirects here (an alias): a path, or a path per user
    queries: tuple = ("",)        # list routes are also asked with filters aiming outside the user's scope
    run_allowed: bool = False     # an allowed write that is harmless to run in every cell

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")


def _grant_body(w, x):
    return {"case_id": x.case.id, "reason": "A court asked for the file (order No. 5)", "minutes": 30}


def _case_body(w, x):
    return {"subject": {"kind": "person", "full_name": "Matritsa Sinovova", "birth_date": "1970-01-01",
                        "sex": "female"}, "mahalla_id": x.mahalla[0], "channel": "mahalla",
            "summary": "Opened by the authorization matrix."}


def _case_form(w, x):
    return {"kind": "person", "full_name": "Matritsa Sinovova", "birth_date": "1970-01-01", "sex": "female",
            "channel": "mahalla", "summary": "Opened by the authorization matrix.", "mahalla_id": x.mahalla[0]}


def _candidate(w, t: TaskT) -> Who:
    """Somebody the task could be given to: its district, the role its lane names."""
    wanted = {t.lane or t.role, t.role}
    fitting = sorted((u.id == t.assignee_id, u.id, u) for u in w.users.values()
                     if u.district_id == t.district_id and u.role in wanted)
    return fitting[0][2]


def _complete_body(w, x):
    return {"data": {"action": "acknowledge"} if x.task.kind == "escalation" else {}}


def _task_form(w, x):
    return {"_action": "complete", **({"action": "acknowledge"} if x.task.kind == "escalation" else {})}


def _handover_form(w, x):
    source, target = (w.users[n] for n in x.handover)
    return {"from_user": source.id, "to_user": target.id, "reason": REASON}


def _list_filters(w):
    """Filters that aim at what the user may not see: the answers must still name nobody out of scope."""
    other = w.targets["mahalla"][2].mahalla[0]
    far_case = w.targets["case"][3].case.id
    return {"/api/v1/cases": ("", f"?mahalla={other}", "?status=closed", f"?owner={w.users['worker3'].id}"),
            "/api/v1/tasks": ("", "?queue=true", "?kind=escalation", f"?case_id={far_case}", "?state=completed"),
            "/cases": ("", f"?mahalla={other}", "?status=closed"),
            "/tasks": ("", "?view=all", "?view=queue", "?view=escalations", f"?mahalla={other}")}


OPS = [
    # --- liveness and readiness for the load balancer: no personal data, open to all ---
    Op("GET", "/healthz", public=True),
    Op("GET", "/readyz", public=True),
    # --- the JSON API ---
    Op("POST", "/api/v1/auth/login", public=True),  # every client of the matrix signs in through it
    Op("POST", "/api/v1/auth/logout"),
    Op("GET", "/api/v1/openapi.json", public=True),
    Op("GET", "/api/v1/me"),
    Op("GET", "/api/v1/mahallas"),
    Op("GET", "/api/v1/definitions"),  # process versions with counts of open cases: no personal data
    Op("GET", "/api/v1/cases"),
    Op("POST", "/api/v1/cases", "mahalla", lambda w, u, x: may_open_in(u, x.mahalla), body=_case_body),
    Op("GET", "/api/v1/cases/<int:case_id>", "case", case_rule(may_read_case), reads_case=True),
    Op("POST", "/api/v1/cases/<int:case_id>/hold", "case", case_rule(may_hold),
       body=lambda w, x: {"waiting_for": "client", "reason": REASON}),
    Op("POST", "/api/v1/cases/<int:case_id>/resume", "case", case_rule(may_hold), body=lambda w, x: {}),
    # A person's request for everything held on them: a read of the case like any other, and logged as one.
    Op("GET", "/api/v1/cases/<int:case_id>/export", "case", case_rule(may_read_case), reads_case=True),
    # documents of a case (a PDF: its text is compressed, so the subject's name is not searched in it)
    Op("GET", "/api/v1/cases/<int:case_id>/documents", "case", case_rule(may_read_case)),
    Op("GET", "/api/v1/cases/<int:case_id>/documents/<document>", "case", case_rule(may_read_case), reads_case=True,
       names_subject=False),
    # The case file (a court, another district, an archive): a read of the case, logged as one; a PDF's text is
    # compressed, so its answer is not searched for the name.
    Op("GET", "/api/v1/cases/<int:case_id>/file", "case", case_rule(may_read_case), reads_case=True),
    Op("GET", "/api/v1/cases/<int:case_id>/file.pdf", "case", case_rule(may_read_case), reads_case=True,
       names_subject=False),
    Op("POST", "/api/v1/cases/<int:case_id>/rectify", "case", case_rule(may_rectify),
       body=lambda w, x: {"person_id": 1, "full_name": "Matrix Test Name", "reason": REASON}),
    Op("POST", "/api/v1/cases/<int:case_id>/legal-hold", "case", case_rule(may_manage_case),
       body=lambda w, x: {"reason": REASON}),
    # The consent register: read with the case (and logged as a read of it), written by its workers.
    Op("GET", "/api/v1/cases/<int:case_id>/consents", "case", case_rule(may_read_case), reads_case=True,
       names_subject=False),
    Op("POST", "/api/v1/cases/<int:case_id>/consents", "case",
       case_rule(lambda u, c: may_write_consent(u, c) and c.status == "open"), body=lambda w, x: CONSENT),
    Op("POST", "/api/v1/consents/<int:consent_id>/revoke", "consent", case_rule(may_write_consent),
       body=lambda w, x: {"reason": REASON}),
    Op("GET", "/api/v1/tasks"),
    Op("GET", "/api/v1/tasks/<task_id>", "task", task_rule(may_read_task), reads_case=True),
    Op("POST", "/api/v1/tasks/<task_id>/claim", "task", task_rule(may_claim), body=lambda w, x: {}),
    Op("POST", "/api/v1/tasks/<task_id>/complete", "task", task_rule(may_act_on), body=_complete_body),
    Op("PUT", "/api/v1/tasks/<task_id>/draft", "task", task_rule(may_act_on), body=lambda w, x: {"data": {}}),
    Op("POST", "/api/v1/tasks/<task_id>/assign", "task", task_rule(may_manage_task),
       body=lambda w, x: {"user": _candidate(w, x.task).username, "reason": REASON}),
    Op("POST", "/api/v1/tasks/<task_id>/extend", "task", task_rule(may_manage_task),
       body=lambda w, x: {"working_days": 2, "reason": REASON}),
    Op("GET", "/api/v1/notifications"),
    Op("POST", "/api/v1/notifications/read"),  # one's own only, by construction
    Op("POST", "/api/v1/notifications/<int:notification_id>/read", "notification", own, body=lambda w, x: {}),
    # Working calendars are settings: everybody's deadlines depend on them, only administrators change them.
    Op("GET", "/api/v1/calendars/<code>/days", "code"),
    Op("POST", "/api/v1/calendars/<code>/days", "code", roles("admin"),
       body=lambda w, x: {"date": "2026-03-23", "kind": "day_off", "name": "Matrix probe"}),
    Op("DELETE", "/api/v1/calendars/<code>/days/<int:override_id>", "override", roles("admin")),
    # Break-glass: administrators ask for it and see their own; the district's supervisors and head watch it.
    Op("GET", "/api/v1/break-glass", may=roles("admin", *SUPERVISING)),
    Op("POST", "/api/v1/break-glass", "case", roles("admin"), body=_grant_body),
    Op("POST", "/api/v1/break-glass/<int:grant_id>/close", "grant", own, body=lambda w, x: {}),
    # The workbench: process drafts hold no personal data, and are the methodologists' alone.
    Op("GET", "/api/v1/drafts", may=roles("methodologist")),
    Op("POST", "/api/v1/drafts", may=roles("methodologist"), body=lambda w, x: {"name": "Matrix probe"}),
    Op("GET", "/api/v1/drafts/<int:draft_id>", "draft", roles("methodologist")),
    Op("GET", "/api/v1/drafts/<int:draft_id>/changes", "draft", roles("methodologist")),
    Op("GET", "/api/v1/definitions/compare", may=roles("methodologist"), queries=("", "?from=1&to=1")),
    Op("DELETE", "/api/v1/drafts/<int:draft_id>", "draft", roles("methodologist")),
    Op("PUT", "/api/v1/drafts/<int:draft_id>/files/<name>", "draft", roles("methodologist"),
       body=lambda w, x: {"content": "<x/>", "row_version": 1}),
    Op("DELETE", "/api/v1/drafts/<int:draft_id>/files/<name>", "draft", roles("methodologist")),
    Op("POST", "/api/v1/drafts/<int:draft_id>/check", "draft", roles("methodologist"), body=lambda w, x: {}),
    Op("POST", "/api/v1/drafts/<int:draft_id>/publish", "draft", roles("methodologist"),
       body=lambda w, x: {"note": "Matrix probe"}),
    Op("POST", "/api/v1/drafts/<int:draft_id>/scenarios", "draft", roles("methodologist"),
       body=lambda w, x: {"scenario": {"name": "Matrix probe"}, "row_version": 1}),
    Op("DELETE", "/api/v1/drafts/<int:draft_id>/scenarios", "draft", roles("methodologist"),
       queries=("?name=Matrix&row_version=1",)),
    Op("GET", "/api/v1/drafts/<int:draft_id>/replay", "draft", roles("methodologist"), queries=("", "?months=3")),
    Op("POST", "/api/v1/drafts/<int:draft_id>/scenarios/record", "draft", roles("methodologist"),
       body=lambda w, x: {"name": "", "row_version": 1}),
    # Migrations of running cases: the methodologists' (the report names cases by number only).
    Op("POST", "/api/v1/migrations/dry-run", may=roles("methodologist"), body=lambda w, x: {"from": 1, "to": 2}),
    Op("POST", "/api/v1/migrations", may=roles("methodologist"), body=lambda w, x: {"from": 1, "to": 2}),
    Op("GET", "/api/v1/migrations", may=roles("methodologist")),
    Op("POST", "/api/v1/migrations/<int:migration_id>/revert", "migration", roles("methodologist"),
       body=lambda w, x: {}),
    # --- the HTML app ---
    Op("GET", "/static/<path:filename>", "static", public=True),
    Op("GET", "/workbench", may=roles("methodologist")),
    Op("GET", "/workbench/migrations", may=roles("methodologist")),
    Op("POST", "/workbench/migrations/dry-run", may=roles("methodologist"), body=lambda w, x: {"from": "1", "to": "2"}),
    Op("POST", "/workbench/migrations", may=roles("methodologist"), body=lambda w, x: {"from": "1", "to": "2"}),
    Op("POST", "/workbench/migrations/<int:migration_id>/revert", "migration", roles("methodologist"),
       body=lambda w, x: {}),
    Op("POST", "/workbench/drafts", may=roles("methodologist"), body=lambda w, x: {"name": "Matrix probe"}),
    Op("GET", "/workbench/drafts/<int:draft_id>", "draft", roles("methodologist")),
    Op("GET", "/workbench/compare", may=roles("methodologist"), queries=("", "?from=1&to=1")),
    Op("GET", "/workbench/drafts/<int:draft_id>/files/<name>", "draft", roles("methodologist")),
    Op("POST", "/workbench/drafts/<int:draft_id>/files/<name>", "draft", roles("methodologist"),
       body=lambda w, x: {"content": "<x/>", "row_version": "1"}),
    Op("POST", "/workbench/drafts/<int:draft_id>/check", "draft", roles("methodologist"), body=lambda w, x: {}),
    Op("POST", "/workbench/drafts/<int:draft_id>/publish", "draft", roles("methodologist"),
       body=lambda w, x: {"note": "Matrix probe"}),
    Op("POST", "/workbench/drafts/<int:draft_id>/discard", "draft", roles("methodologist"), body=lambda w, x: {}),
    Op("POST", "/workbench/drafts/<int:draft_id>/scenarios", "draft", roles("methodologist"),
       body=lambda w, x: {"scenario": "{}", "row_version": "1"}),
    Op("POST", "/workbench/drafts/<int:draft_id>/scenarios/record", "draft", roles("methodologist"),
       body=lambda w, x: {"name": "", "row_version": "1"}),
    Op("POST", "/workbench/drafts/<int:draft_id>/scenarios/delete", "draft", roles("methodologist"),
       body=lambda w, x: {"name": "Matrix", "row_version": "1"}),
    Op("GET", "/workbench/drafts/<int:draft_id>/replay", "draft", roles("methodologist"), queries=("", "?months=3")),
    Op("POST", "/workbench/drafts/<int:draft_id>/forms/<form_key>/texts", "draft", roles("methodologist"),
       body=lambda w, x: {"row_version": "1"}),
    Op("GET", "/login", public=True),
    Op("POST", "/login", public=True),  # every browser of the matrix signs in through it
    Op("POST", "/logout"),
    Op("GET", "/profile"),
    Op("POST", "/profile"),  # one's own language
    Op("POST", "/profile/sessions/<session_id>/end", "session", own, body=lambda w, x: {}),
    Op("POST", "/profile/sessions/end-others"),  # one's own sessions, by construction
    Op("GET", "/", lands=lambda u: "/workbench" if u.role == "methodologist" else "/tasks"),
    Op("GET", "/tasks"),
    Op("GET", "/tasks/<task_id>", "task", task_rule(may_read_task), reads_case=True),
    Op("POST", "/tasks/<task_id>", "task", task_rule(may_act_on), body=_task_form),
    Op("POST", "/tasks/<task_id>/claim", "task", task_rule(may_claim), body=lambda w, x: {}),
    Op("POST", "/tasks/<task_id>/extend", "task", task_rule(may_manage_task),
       body=lambda w, x: {"working_days": "2", "reason": REASON}),
    Op("GET", "/cases"),
    Op("GET", "/cases/new", may=roles(*OPENERS)),  # the referral form is for those who may open cases
    Op("POST", "/cases/new", "mahalla", lambda w, u, x: may_open_in(u, x.mahalla), body=_case_form),
    Op("GET", "/cases/<int:case_id>", "case", case_rule(may_read_case), reads_case=True),
    Op("POST", "/cases/<int:case_id>/hold", "case", case_rule(may_hold),
       body=lambda w, x: {"waiting_for": "client", "reason": REASON}),
    Op("POST", "/cases/<int:case_id>/resume", "case", case_rule(may_hold), body=lambda w, x: {}),
    Op("POST", "/cases/<int:case_id>/rectify", "case", case_rule(may_rectify),
       body=lambda w, x: {"person_id": "1", "full_name": "Matrix Test Name", "reason": REASON}),
    Op("GET", "/cases/<int:case_id>/documents/<document>.pdf", "case", case_rule(may_read_case), reads_case=True,
       names_subject=False),
    Op("GET", "/workbench/drafts/<int:draft_id>/documents/<document>.pdf", "draft", roles("methodologist")),
    Op("GET", "/cases/<int:case_id>/export", "case", case_rule(may_read_case), reads_case=True,
       queries=("", "?format=json")),
    Op("GET", "/cases/<int:case_id>/file.json", "case", case_rule(may_read_case), reads_case=True),
    Op("GET", "/cases/<int:case_id>/file.pdf", "case", case_rule(may_read_case), reads_case=True,
       names_subject=False),
    Op("POST", "/cases/<int:case_id>/consents", "case",
       case_rule(lambda u, c: may_write_consent(u, c) and c.status == "open"), body=lambda w, x: CONSENT),
    Op("POST", "/cases/<int:case_id>/consents/<int:consent_id>/revoke", "consent", case_rule(may_write_consent),
       body=lambda w, x: {"reason": REASON}),
    Op("GET", "/dashboard", may=roles(*SUPERVISING)),
    Op("POST", "/dashboard/reassign", "task", task_rule(may_manage_task),
       body=lambda w, x: {"task_id": x.task.id, "to_user": _candidate(w, x.task).id, "reason": REASON}),
    Op("POST", "/dashboard/reassign-all", "handover", handover_rule, body=_handover_form),
    Op("GET", "/reports", may=roles(*REPORTING)),  # figures only, in the reader's scope (reports.py)
    Op("GET", "/reports/monthly.csv", may=roles(*REPORTING)),
    Op("GET", "/reports/monthly.xlsx", may=roles(*REPORTING)),
    Op("GET", "/reports/monthly.pdf", may=roles(*REPORTING)),
    Op("GET", "/api/v1/reports/monthly", may=roles(*REPORTING), queries=("", "?level=worker")),
    Op("GET", "/api/v1/reports/choices", may=roles(*REPORTING)),
    # process statistics: numbers only, cells under 5 cases suppressed; the nation's or one's own district's
    Op("GET", "/statistics", may=roles("methodologist", "admin", *SUPERVISING)),
    Op("GET", "/api/v1/statistics", may=roles("methodologist", "admin", *SUPERVISING),
       queries=("", "?from=2026-01-01&until=2026-01-31")),
    Op("GET", "/notifications"),
    Op("POST", "/notifications/read"),  # one's own only, by construction
    Op("GET", "/break-glass", may=roles("admin")),
    Op("POST", "/break-glass", "case", roles("admin"), body=_grant_body),
    Op("POST", "/break-glass/<int:grant_id>/close", "grant", own, body=lambda w, x: {}),
]
TABLE = {(op.method, op.rule): op for op in OPS}


def app_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


# --- running the cells ------------------------------------------------------------------------------------------

def _fill(rule: str, params: dict) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(params[m.group(1)]), rule)


def _forms_of(name: str) -> set[str]:
    """The ways a name can appear in a page or an answer: as is, and HTML-escaped."""
    return {name, str(escape(name)), name.replace("'", "&#x27;"), name.replace("'", "&apos;")}


def fingerprint(engine) -> tuple:
    """Everything a refused write could have changed (the access log and sign-ins aside)."""
    queries = ["SELECT id, state, assignee_id, role, due_at, draft, row_version FROM tasks ORDER BY id",
               "SELECT id, row_version, held_since, owner_id, status FROM cases ORDER BY id",
               "SELECT id, date, kind FROM calendar_days ORDER BY id",
               "SELECT id, read_at FROM notifications ORDER BY id",
               "SELECT token_hash, revoked_at FROM api_tokens ORDER BY token_hash",
               "SELECT id, language, is_active FROM users ORDER BY id",
               "SELECT id, status, due_at FROM timers ORDER BY id",
               "SELECT count(*) FROM audit_events WHERE action NOT IN ('case.viewed', 'user.logged_in')"]
    with engine.db.read() as session:
        return tuple(tuple(tuple(row) for row in session.execute(text(q))) for q in queries)


def last_audit_id(engine) -> int:
    with engine.db.read() as session:
        return session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def access_logged(engine, since: int, user: Who, case_id: int, task_id: str | None) -> bool:
    with engine.db.read() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.id > since, AuditEvent.action == "case.viewed",
                                                        AuditEvent.actor_id == user.id,
                                                        AuditEvent.case_id == case_id)).all()
        return any((r.details or {}).get("origin") == ORIGIN and (task_id is None or r.task_id == task_id)
                   for r in rows)


@dataclass
class Cell:
    who: str
    method: str
    url: str
    target: str
    expected: str  # "allow" or "deny"
    outcome: str = ""
    status: int = 0

    def __str__(self):
        return f"{self.who:<14} {self.method:<6} {self.url:<72} [{self.target}] expected {self.expected}, " \
               f"got {self.status} {self.outcome}"


@dataclass
class Results:
    cells: list = field(default_factory=list)
    skipped_allowed_writes: int = 0
    unexpected_allow: list = field(default_factory=list)
    unexpected_deny: list = field(default_factory=list)
    odd_refusal: list = field(default_factory=list)
    server_error: list = field(default_factory=list)
    leak: list = field(default_factory=list)
    no_access_log: list = field(default_factory=list)
    missing_rule: list = field(default_factory=list)
    seconds: float = 0.0


def _request(w: World, username, op: Op, url: str, body):
    """One call as the user would make it; returns (status, final path, body text, flashed error?)."""
    if op.api:
        client = w.api[username]
        status, payload = client.call(op.method, url[len("/api/v1"):], body if op.method != "GET" else None)
        return status, None, json.dumps(payload, ensure_ascii=False) if payload is not None else "", False
    client = w.web[username]
    if op.method == "GET":
        page = client.get(url)
    else:
        data = dict(body or {})
        if username is not None:
            data["csrf_token"] = w.csrf[username]
        page = client.post(url, data)
    return page.status, urlparse(page.url).path, page.text, 'class="flash error"' in page.text


def _run_cell(w: World, results: Results, username, op: Op, target: Target):
    user = w.users.get(username)
    allowed = op.public or (user is not None and op.may(w, user, target))
    url = _fill(op.rule, target.params) + target.query
    write = op.method != "GET"
    if write and allowed and not op.run_allowed:
        results.skipped_allowed_writes += 1
        return
    cell = Cell(username or "(signed out)", op.method, url, target.label, "allow" if allowed else "deny")
    results.cells.append(cell)
    body = op.body(w, target) if op.body else ({} if op.api and write else None)
    logged_case = target.case if (op.reads_case and allowed and user is not None) else None
    mark = last_audit_id(w.engine) if logged_case else None
    before = fingerprint(w.engine) if write else None  # reads may write too (the access log, exports' audit)
    status, path, content, flashed = _request(w, username, op, url, body)
    cell.status = status
    if status >= 500:
        cell.outcome = "server error"
        results.server_error.append(cell)
        return
    # What the user may never read in any answer: the names of the clients whose cases are not theirs.
    hidden = [c for c in w.cases.values() if user is None or not may_read_case(user, c)]
    named = sorted({c.name for c in hidden if any(form in content for form in _forms_of(c.name))})
    if named:
        results.leak.append(f"{cell}: names {named}")
    changed = write and fingerprint(w.engine) != before
    readable = target.case is not None and user is not None and (
        may_read_case(user, target.case) if target.task is None else may_read_task(user, target.task, target.case))
    if user is None and not op.public:
        refused = status == 401 if op.api else (path == "/login" or status in (400, 401))
        got_allowed = not refused
    elif op.api:
        refused = status in (403, 404) or (write and readable and status == 409)
        got_allowed = 200 <= status < 300
    elif op.method == "GET":
        landing = op.lands(user) if callable(op.lands) else op.lands
        got_allowed = status == 200 and path == (landing or urlparse(url).path)
        refused = status in (403, 404)
    else:
        # A refused form comes back (post/redirect/get) with the reason flashed, or as a 403/404 page.
        refused = status in (403, 404) or flashed
        got_allowed = not refused and status < 400
    if got_allowed and logged_case and op.names_subject and \
            not any(form in content for form in _forms_of(logged_case.name)):
        got_allowed = False  # an answer without the case in it is no read of it (and the leak check is not blind)
    got_allowed = got_allowed or changed
    cell.outcome = ("changed the data; " if changed else "") + ("allowed" if got_allowed else
                                                                  "refused" if refused else "other")
    if allowed:
        if not got_allowed:
            results.unexpected_deny.append(cell)
        elif logged_case and not access_logged(w.engine, mark, user, logged_case.id,
                                               target.task.id if target.task else None):
            results.no_access_log.append(cell)
    elif got_allowed:
        results.unexpected_allow.append(cell)
    elif not refused:
        results.odd_refusal.append(cell)


def _targets_of(w: World, op: Op, lists: dict) -> list[Target]:
    if op.target == "session":
        return [Target(f"{name}'s session", {"session_id": w.sessions[w.users[name].id]},
                       owner_id=w.users[name].id) for name in ("worker1", "supervisor2")]
    base = w.targets[op.target]
    queries = lists.get(op.rule, op.queries) if op.method == "GET" else ("",)
    return [Target(x.label + (f" {q}" if q else ""), x.params, x.case, x.task, x.owner_id, x.mahalla,
                   x.handover, q) for x in base for q in queries]


@pytest.fixture(scope="module")
def world(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("authz") / "yordam.sqlite"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    demo.load_cases(engine)
    _stage(engine)
    from webui import create_app
    app = create_app(engine)
    with LiveServer(app) as live:
        w = _build_world(engine, live.url)
        w.app = app
        anon = Client(live.url)
        w.api[None], w.web[None] = anon, WebClient(live.url)
        for name in USERNAMES:
            w.api[name] = anon.login(name)
            w.web[name] = WebClient(live.url)
            w.web[name].login(name, language="en")
            w.csrf[name] = w.web[name].get("/profile").csrf()
        with engine.db.read() as session:  # the browser sessions, by their public ids
            for row in session.scalars(select(ApiToken).order_by(ApiToken.created_at)):
                w.sessions[row.user_id] = row.token_hash[:16]
        yield w
    engine.db.dispose()


@pytest.fixture(scope="module")
def matrix(world) -> Results:
    results = Results()
    started = time.monotonic()
    for method, rule in sorted(app_routes(world.app)):
        if (method, rule) not in TABLE:
            results.missing_rule.append(f"route {method} {rule} has no rule in the matrix")
    for method, rule in sorted(set(TABLE) - app_routes(world.app)):
        results.missing_rule.append(f"the matrix has a rule for {method} {rule}, which the app no longer has")
    lists = _list_filters(world)
    for op in OPS:
        if (op.method, op.rule) not in app_routes(world.app):
            continue
        for target in _targets_of(world, op, lists):
            for username in [*USERNAMES, None]:
                _run_cell(world, results, username, op, target)
    results.seconds = time.monotonic() - started
    allowed = sum(c.expected == "allow" for c in results.cells)
    print(f"\nauthorization matrix: {len(results.cells)} cells run ({allowed} allowed, "
          f"{len(results.cells) - allowed} refused), {results.skipped_allowed_writes} allowed writes not run, "
          f"{results.seconds:.1f} s")
    return results


def _report(title: str, rows: list) -> str:
    return f"{len(rows)} {title}:\n" + "\n".join(str(r) for r in rows)


# --- the verdicts -----------------------------------------------------------------------------------------------

def test_every_route_has_a_rule_in_the_matrix(matrix):
    assert matrix.missing_rule == [], "\n".join(matrix.missing_rule)


def test_nothing_is_allowed_that_the_rules_refuse(matrix):
    assert len(matrix.cells) > 1000
    assert matrix.unexpected_allow == [], _report("cells allowed that the rules refuse", matrix.unexpected_allow)


def test_nothing_is_refused_that_the_rules_allow(matrix):
    assert matrix.unexpected_deny == [], _report("cells refused that the rules allow", matrix.unexpected_deny)


def test_refusals_are_403_or_404_and_nothing_fails(matrix):
    assert matrix.server_error == [], _report("server errors", matrix.server_error)
    assert matrix.odd_refusal == [], _report("refusals that are neither 403 nor 404", matrix.odd_refusal)


def test_no_answer_names_a_client_the_user_may_not_see(matrix):
    assert matrix.leak == [], _report("answers naming clients out of the user's scope", matrix.leak)


def test_every_case_read_left_an_access_log_row(matrix):
    assert matrix.no_access_log == [], _report("case reads missing from the access log", matrix.no_access_log)


# --- a handful of allowed writes, run for real after the matrix -----------------------------------------------------

def _audited(engine, action: str, user: Who, case_id: int | None = None) -> bool:
    with engine.db.read() as session:
        query = select(AuditEvent.id).where(AuditEvent.action == action, AuditEvent.actor_id == user.id)
        if case_id is not None:
            query = query.where(AuditEvent.case_id == case_id)
        return session.scalar(query.limit(1)) is not None


def test_a_handful_of_allowed_writes_work_and_are_audited(world, matrix):
    w, engine = world, world.engine
    users, tasks = w.users, w.tasks
    mine = tasks["worker1's task"]
    case = w.cases[mine.case_id]

    worker1 = w.api["worker1"]
    status, body = worker1.put(f"/tasks/{mine.id}/draft", {"data": {}})
    assert status == 200, body
    assert _audited(engine, "task.draft_saved", users["worker1"], case.id)
    status, body = worker1.post(f"/cases/{case.id}/hold", {"waiting_for": "client", "reason": REASON})
    assert status == 200 and body["on_hold"], body
    status, body = worker1.post(f"/cases/{case.id}/resume")
    assert status == 200 and not body["on_hold"], body
    assert _audited(engine, "case.held", users["worker1"], case.id)
    assert _audited(engine, "case.resumed", users["worker1"], case.id)
    note = next(x for x in w.targets["notification"] if x.owner_id == users["worker2"].id)
    assert w.api["worker2"].post(f"/notifications/{note.params['notification_id']}/read")[0] == 200

    supervisor1 = w.web["supervisor1"]
    page = supervisor1.post(f"/tasks/{mine.id}/extend", {"csrf_token": w.csrf["supervisor1"], "working_days": "2",
                                                         "reason": REASON})
    assert page.status == 200 and page.url.endswith(f"/tasks/{mine.id}") and 'class="flash error"' not in page.text
    assert _audited(engine, "task.deadline_extended", users["supervisor1"], case.id)

    queued = tasks["supervisor queue task, district 2"]
    page = w.web["supervisor2"].post(f"/tasks/{queued.id}/claim", {"csrf_token": w.csrf["supervisor2"]})
    assert page.status == 200 and page.url.endswith(f"/tasks/{queued.id}")
    with engine.db.read() as session:
        assert session.get(Task, queued.id).assignee_id == users["supervisor2"].id
    assert _audited(engine, "task.claimed", users["supervisor2"], queued.case_id)

    escalation = tasks["escalation to the centre head, district 1"]
    status, body = w.api["head1"].post(f"/tasks/{escalation.id}/complete", {"data": {"action": "acknowledge"}})
    assert status == 200, body
    assert _audited(engine, "escalation.decided", users["head1"], escalation.case_id)

    page = w.web["worker3"].post("/cases/new", {"csrf_token": w.csrf["worker3"], "kind": "person",
                                                "full_name": "Matritsa Sinovova", "channel": "mahalla",
                                                "summary": "Opened by the authorization matrix.",
                                                "mahalla_id": str(min(users["worker3"].mahalla_ids))})
    assert page.status == 200 and re.search(r"/cases/\d+$", urlparse(page.url).path), page.url
    opened = int(urlparse(page.url).path.rsplit("/", 1)[1])
    assert _audited(engine, "case.opened", users["worker3"], opened)
    assert access_logged(engine, 0, users["worker3"], opened, None)  # the page it landed on is a logged read

    admin = w.api["admin1"]
    status, day = admin.post("/calendars/UZ/days", {"date": "2026-04-06", "kind": "day_off", "name": "Matrix"})
    assert status == 201, day
    assert admin.delete(f"/calendars/UZ/days/{day['id']}")[0] == 204

    # Signing out ends the session: the same token is refused afterwards.
    throwaway = Client(w.url).login("methodologist1")
    assert throwaway.post("/auth/logout")[0] == 204
    assert throwaway.get("/me")[0] == 401
