"""The HTML app over real HTTP, as a browser without JavaScript uses it: sessions, CSRF, the task form with its
validation, drafts and lists, the case page, the dashboard's hand-over, and the six languages."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from engine.db.models import AuditEvent, Case, Task, User
from engine.services.scheduler import tick
from tests.api_client import LiveServer
from tests.sample_answers import answers
from tests.web_client import WebClient
from webui import create_app


@pytest.fixture
def app(engine):
    return create_app(engine)


@pytest.fixture
def site(app):
    with LiveServer(app) as live:
        yield live.url


def browser(site, username=None, language="en") -> WebClient:
    client = WebClient(site)
    if username:
        client.login(username, language=language)
    return client


def open_referral(client, name="Gulchehra Karimova") -> int:
    page = client.get("/cases/new")
    form = page.form("main form")
    form.update({"kind": "person", "full_name": name, "birth_date": "1961-04-02", "sex": "female",
                 "channel": "mahalla", "summary": "Lives alone; the roof leaks."})
    done = client.post("/cases/new", form)
    assert done.status == 200 and "/cases/" in done.url, done.text[:300]
    return int(done.url.rsplit("/cases/", 1)[1].split("?")[0])


def task_link(page, title_part) -> str:
    [link] = [a.get("href") for a in page.css("main a") if title_part in a.text_content()][:1]
    return link


def post_form(client, path, values: dict, action="complete", extra=None):
    page = client.get(path)
    data = page.form("form.task-form")
    data = {k: v for k, v in data.items() if not k.startswith("_")}
    data.update(values)
    data["_action"] = action
    data.update(extra or {})
    return client.post(path, data)


def flat(form_key, **overrides) -> dict:
    """Sample answers as a browser posts them: lists become repeated fields, booleans "true"/absent."""
    posted = {}
    for key, value in answers(form_key, **overrides).items():
        if isinstance(value, bool):
            if value:
                posted[key] = "true"
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                for sub, v in item.items():
                    posted[f"{key}-{i}-{sub}"] = "true" if v is True else ("" if v in (None, False) else str(v))
        elif isinstance(value, list):
            posted[key] = [str(v) for v in value]
        elif value is not None:
            posted[key] = str(value)
    return posted


# --- sessions -----------------------------------------------------------------------------------------------------

def test_sign_in_sign_out_really_ends_the_session_and_forms_need_their_csrf_token(site):
    anonymous = WebClient(site)
    page = anonymous.get("/tasks")
    assert "/login" in page.url and page.css("form input[name=username]")
    assert anonymous.post("/login", {"username": "worker1", "password": "wrong"}).status == 401
    client = browser(site, "worker1")
    home = client.get("/tasks")
    assert home.status == 200 and "Dilnoza Karimova" in home.text
    stolen = list(client.jar)[0]  # the session cookie, as a thief would copy it
    assert client.post("/logout", {"csrf_token": "forged"}).status == 400  # no CSRF token: refused
    assert client.post("/logout", {"csrf_token": home.csrf()}).status == 200
    thief = WebClient(site)
    thief.jar.set_cookie(stolen)
    assert "/login" in thief.get("/tasks").url  # the server forgot the session


def test_next_after_sign_in_stays_on_this_site(site):
    client = WebClient(site)
    page = client.post("/login", {"username": "worker1", "password": "demo1234", "next": "https://evil.example/"})
    assert page.url.endswith("/tasks")
    page = client.post("/login", {"username": "worker1", "password": "demo1234", "next": "/cases"})
    assert page.url.endswith("/cases")


# --- the task form ------------------------------------------------------------------------------------------------

def test_a_referral_through_the_forms_with_a_correction_on_the_way(site, engine):
    client = browser(site, "worker1")
    case_id = open_referral(client)
    case_page = client.get(f"/cases/{case_id}")
    register = task_link(case_page, "Register referral")
    answer = flat("register_referral")
    answer.pop("address")  # forgotten
    page = post_form(client, register, answer)
    assert page.status == 200 and page.css(".error-summary")
    assert page.css("#field-address[aria-invalid=true]") and "This field is required." in page.text
    answer["address"] = "Navbahor mahallasi, 12-uy"
    done = post_form(client, register, answer)
    assert done.status == 200 and "What happens next" in done.text and "Home visit and needs assessment" in done.text
    with engine.db.read() as session:
        tasks = session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.created_at, Task.id)).all()
    # the test's clock stands still: both tasks were made at the same instant, in no order of their own
    assert sorted((t.bpmn_id, t.state) for t in tasks) == [("home_visit_assessment", "open"),
                                                           ("register_referral", "completed")]


def test_a_forged_field_a_missing_required_field_and_an_oversized_value_are_refused(site, engine):
    client = browser(site, "worker1")
    case_id = open_referral(client)
    register = task_link(client.get(f"/cases/{case_id}"), "Register referral")
    forged = post_form(client, register, dict(flat("register_referral"), is_admin="true"))
    assert "Unknown field." in forged.text
    oversized = post_form(client, register, dict(flat("register_referral"), address="x" * 5000))
    assert "Must be at most" in oversized.text
    with engine.db.read() as session:
        assert session.scalar(select(Task.state).where(Task.case_id == case_id)) == "open"  # nothing changed


def test_a_draft_is_kept_and_a_list_grows_without_javascript(site, engine, clock):
    client = browser(site, "worker1")
    case_id = open_referral(client)
    register = task_link(client.get(f"/cases/{case_id}"), "Register referral")
    saved = post_form(client, register, {"address": "Yangiobod 7"}, action="save")
    assert "Draft saved" in saved.text
    again = client.get(register)
    assert again.css("#field-address")[0].get("value") == "Yangiobod 7"  # resumed
    post_form(client, register, flat("register_referral"))
    assessment = task_link(client.get(f"/cases/{case_id}"), "Home visit")
    post_form(client, assessment, flat("needs_assessment"))
    supervisor = browser(site, "supervisor1")
    decide = task_link(supervisor.get(f"/cases/{case_id}"), "Decide recognition")
    post_form(supervisor, decide, {"decision": "approved"})
    plan = task_link(client.get(f"/cases/{case_id}"), "Draft individual service plan")
    page = client.get(plan)
    items = len(page.css("fieldset.list-item"))
    grown = post_form(client, plan, {}, action="", extra={"_add": "services"})
    assert len(grown.css("fieldset.list-item")) == items + 1


def test_the_case_page_tells_the_story_and_shows_the_plan(site, engine, clock):
    client = browser(site, "worker1")
    case_id = open_referral(client, "Shahnoza Yusupova")
    post_form(client, task_link(client.get(f"/cases/{case_id}"), "Register referral"), flat("register_referral"))
    page = client.get(f"/cases/{case_id}")
    story = page.texts(".timeline li")
    assert any("Dilnoza Karimova" in line and "Register referral" in line for line in story), story
    assert page.css(".stages li[aria-current=step]")[0].text_content().strip().endswith("Assessment")
    assert page.texts("h1") == ["Shahnoza Yusupova"]


# --- supervisors ------------------------------------------------------------------------------------------------

def test_hand_over_moves_every_open_task_of_a_worker_in_one_step_each_move_audited(site, engine):
    supervisor = browser(site, "supervisor1")
    worker = browser(site, "worker1")
    for name in ("Aziza Rahimova", "Bobur Aliyev"):
        open_referral(worker, name)
    with engine.db.read() as session:
        ids = {u.username: u.id for u in session.scalars(select(User))}
        moving = set(session.scalars(select(Task.id).where(Task.assignee_id == ids["worker1"], Task.state == "open")))
    assert len(moving) >= 2
    page = supervisor.get("/dashboard")
    assert page.status == 200 and page.css("svg[role=img]")
    done = supervisor.post("/dashboard/reassign-all", {"csrf_token": page.csrf(), "from_user": ids["worker1"],
                                                       "to_user": ids["worker2"], "reason": "Maternity leave",
                                                       "include_cases": "1"})
    assert f"{len(moving)} tasks were handed over to Jasur Toshmatov" in done.text
    with engine.db.read() as session:
        assert set(session.scalars(select(Task.id).where(Task.assignee_id == ids["worker2"],
                                                         Task.id.in_(moving)))) == moving
        audits = session.scalars(select(AuditEvent).where(AuditEvent.action == "task.assigned",
                                                          AuditEvent.task_id.in_(moving))).all()
        assert len(audits) == len(moving) and all(a.details["reason"] == "Maternity leave" for a in audits)
        assert session.scalar(select(func.count()).select_from(Case).where(Case.owner_id == ids["worker1"],
                                                                           Case.status == "open")) == 0
    refused = supervisor.post("/dashboard/reassign-all", {"csrf_token": page.csrf(), "from_user": ids["worker2"],
                                                          "to_user": ids["worker3"], "reason": "x y z"})
    assert "flash error" in refused.text  # worker3 is in another district


def test_a_social_worker_has_no_dashboard_and_sees_no_escalations(site, engine, clock):
    worker = browser(site, "worker1")
    open_referral(worker)
    clock.advance(days=5)
    tick(engine)
    worker = browser(site, "worker1")
    assert worker.get("/dashboard").status == 403  # not their page: refused, as any page of another role
    assert "Overdue" not in "".join(worker.get("/tasks?view=all").texts("ol.cards h2"))
    overdue = worker.get("/tasks?overdue=1&view=mine")
    assert overdue.css(".badge.overdue")  # the worker's own late task, marked by more than colour
    supervisor = browser(site, "supervisor1")
    escalations = supervisor.get("/tasks?view=escalations")
    assert any("Register referral" in t for t in escalations.texts("ol.cards h2"))


# --- languages --------------------------------------------------------------------------------------------------

def test_html_lang_follows_the_language(site):
    for language, expected in [("uz", "uz-Latn"), ("uz-Cyrl", "uz-Cyrl"), ("ru", "ru"), ("kk", "kk"),
                               ("ky", "ky"), ("en", "en")]:
        page = browser(site, "worker1", language).get("/tasks")
        assert page.doc.get("lang") == expected


def test_pages_are_light(site):
    client = browser(site, "supervisor1")
    for path in ("/tasks", "/cases", "/dashboard"):
        page = client.get(path)
        css = client.get("/static/yordam.css")
        assert len(page.text.encode()) + len(css.text.encode()) < 200_000, path


def test_a_supervisor_gives_one_task_to_another_worker_with_a_reason(site, engine):
    worker = browser(site, "worker1")
    case_id = open_referral(worker, "Dildora Saidova")
    supervisor = browser(site, "supervisor1")
    link = task_link(supervisor.get(f"/cases/{case_id}"), "Register referral")
    page = supervisor.get(link)
    form = page.form("details.reassign form")
    with engine.db.read() as session:
        worker2 = session.scalar(select(User.id).where(User.username == "worker2"))
    form.update({"to_user": str(worker2), "reason": "Closer to the family"})
    done = supervisor.post("/dashboard/reassign", form)
    assert done.url.endswith(link) and "The task was reassigned." in done.text
    with engine.db.read() as session:
        task = session.scalar(select(Task).where(Task.case_id == case_id, Task.state == "open"))
        audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "task.assigned",
                                                        AuditEvent.task_id == task.id))
    assert task.assignee_id == worker2 and audit.details["reason"] == "Closer to the family"
