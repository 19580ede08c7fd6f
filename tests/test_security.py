"""The hardened surface: headers and cookie flags on every response, production mode refusing unsafe
configurations."""
from __future__ import annotations

import pytest

from engine.core import Engine
from engine.errors import EngineError
from engine.settings import Settings
from tests.conftest import START
from tests.web_client import WebClient
from webui import create_app

ROUTES = ["/login", "/tasks", "/cases", "/cases/new", "/dashboard", "/notifications", "/profile", "/nowhere",
          "/api/v1/openapi.json", "/api/v1/me", "/static/yordam.css"]


def test_every_response_carries_the_security_headers_and_safe_cookies(server):
    client = WebClient(server.url)
    login = client.post("/login", {"username": "supervisor1", "password": "demo1234", "language": "en"})
    assert login.status == 200
    cookies = {c.name: c for c in client.jar}
    session = cookies["yordam_session"]
    assert session.has_nonstandard_attr("HttpOnly") and session.get_nonstandard_attr("SameSite") == "Lax"
    import urllib.request
    opener = client.opener
    for path in ROUTES:
        try:
            response = opener.open(server.url + path, timeout=10)
        except urllib.error.HTTPError as err:
            response = err
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["Referrer-Policy"] == "same-origin", path
        if not path.startswith("/static/"):
            assert headers["Cache-Control"] == "no-store", path
        body = response.read().decode(errors="replace")
        assert "http://" not in body.replace(server.url, "") and "https://" not in body, path  # nothing external
        response.close()


def production(tmp_path, **overrides) -> Settings:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.sqlite'}", mode="production")
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


def test_production_refuses_a_throw_away_secret_key(tmp_path):
    from engine.db.migrate import upgrade
    upgrade(f"sqlite:///{tmp_path / 'p.sqlite'}")
    with pytest.raises(EngineError, match="YORDAM_SECRET_KEY"):
        create_app(Engine(production(tmp_path)))
    app = create_app(Engine(production(tmp_path, secret_key="k" * 40, secret_key_given=True)))
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["DEBUG"] is False


def test_production_refuses_open_demo_accounts(engine, tmp_path):
    engine.settings.mode = "production"
    engine.settings.secret_key, engine.settings.secret_key_given = "s" * 48, True
    with pytest.raises(EngineError, match="demo accounts are active"):
        create_app(engine)
    engine.settings.mode = "development"
    assert create_app(engine) is not None


def test_sign_in_throttling_holds_without_telling_which_names_exist(engine, anon):
    def attempt(username, password):
        return anon.post("/auth/login", {"username": username, "password": password})

    for _ in range(5):
        assert attempt("worker1", "wrong")[0] == 401
        assert attempt("no_such_user", "wrong")[0] == 401
    status, body = attempt("worker1", "demo1234")  # the right password, too late: locked for a while
    assert status == 429 and body["error"] == "too_many_attempts" and "Too many" in body["message"]
    status, ghost = attempt("no_such_user", "demo1234")
    assert ghost["message"] == body["message"]  # an unknown name is locked the same way: no enumeration
    assert attempt("worker2", "demo1234")[0] == 200  # other names are not affected
    engine.clock.advance(minutes=16)
    assert attempt("worker1", "demo1234")[0] == 200


def test_one_address_trying_name_after_name_is_locked_out(engine, anon):
    for n in range(30):
        assert anon.post("/auth/login", {"username": f"guess{n}", "password": "x"})[0] == 401
    assert anon.post("/auth/login", {"username": "worker2", "password": "demo1234"})[0] == 429
    engine.clock.advance(minutes=16)
    assert anon.post("/auth/login", {"username": "worker2", "password": "demo1234"})[0] == 200


def test_passwords_of_new_users_follow_the_policy(engine):
    from engine.errors import InvalidInput
    from engine.services import users
    with pytest.raises(InvalidInput) as err:
        users.create_user(engine, username="newworker", full_name="New Worker", password="short", role="specialist")
    assert "password" in err.value.fields
    with pytest.raises(InvalidInput):
        users.create_user(engine, username="newworker", full_name="New Worker", password="newworker", role="specialist")
    assert users.create_user(engine, username="newworker", full_name="New Worker", password="a long passphrase",
                             role="specialist").id


# --- sessions: idle and absolute timeouts, one's own list -----------------------------------------------------

def test_a_browser_session_ends_after_idle_minutes_and_at_its_absolute_limit(engine, server):
    client = WebClient(server.url)
    client.login("worker1", language="en")
    for _ in range(4):  # used every 20 minutes: stays signed in
        engine.clock.advance(minutes=20)
        assert "/login" not in client.get("/tasks").url
    engine.clock.advance(minutes=31)
    assert "/login" in client.get("/tasks").url  # idle too long

    client = WebClient(server.url)
    client.login("worker1", language="en")
    for _ in range(engine.settings.token_ttl_hours * 3):
        engine.clock.advance(minutes=20)
        page = client.get("/tasks")
    assert "/login" in page.url  # never idle, yet ended at the absolute limit


def test_bearer_tokens_do_not_idle_out(engine, anon):
    worker = anon.login("worker1")
    engine.clock.advance(hours=3)
    assert worker.get("/me")[0] == 200


def test_a_user_lists_their_sessions_and_ends_one_elsewhere(engine, server):
    laptop, tablet, other = WebClient(server.url), WebClient(server.url), WebClient(server.url)
    laptop.login("worker1", language="en")
    tablet.login("worker1", language="en")
    other.login("worker2", language="en")
    profile = laptop.get("/profile")
    rows = profile.css("#sessions ~ table tbody tr")
    assert len(rows) == 2 and sum("this one" in r.text_content() for r in rows) == 1
    assert "127.0.0.1" in profile.text
    end_forms = profile.css("#sessions ~ table form")
    assert len(end_forms) == 1  # the current session is ended with "Sign out", not from this list
    action, csrf = end_forms[0].get("action"), profile.csrf()

    # another user cannot end it, even knowing its id
    assert other.post(action, {"csrf_token": other.get("/profile").csrf()}).status == 404
    assert "/login" not in tablet.get("/tasks").url

    assert laptop.post(action, {"csrf_token": csrf}).status == 200
    assert "/login" in tablet.get("/tasks").url
    assert "/login" not in laptop.get("/tasks").url
    assert len(laptop.get("/profile").css("#sessions ~ table tbody tr")) == 1


def test_signing_out_everywhere_else_keeps_this_session(engine, server):
    clients = [WebClient(server.url) for _ in range(3)]
    for client in clients:
        client.login("supervisor1", language="en")
    page = clients[0].get("/profile")
    assert clients[0].post("/profile/sessions/end-others", {"csrf_token": page.csrf()}).status == 200
    assert "/login" not in clients[0].get("/tasks").url
    assert all("/login" in c.get("/tasks").url for c in clients[1:])


def test_no_form_redirects_to_another_site(server):
    client = WebClient(server.url)
    client.login("supervisor1", language="en")
    csrf = client.get("/dashboard").csrf()
    for back in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"):
        page = client.post("/dashboard/reassign", {"csrf_token": csrf, "task_id": "", "back": back})
        assert page.url.startswith(server.url), (back, page.url)


def _every_url(app, values) -> list[tuple[str, str]]:
    """Every rule of the app as (method, URL), its parameters filled from ``values``."""
    urls = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<{name}>", str(values[name])).replace(f"<int:{name}>", str(values[name]))
            urls.append((method, url))
    return urls


def test_headers_and_cookie_flags_on_every_route(engine, server):
    """Every route, every method, as a signed-in user: whatever the status, the headers are there, and every
    cookie set is HttpOnly and SameSite."""
    from tests.helpers import open_case, open_tasks
    import urllib.request
    case_id = open_case(engine)["id"]
    task_id = open_tasks(engine, case_id)[0].id
    values = {"case_id": case_id, "task_id": task_id, "grant_id": 1, "notification_id": 1, "code": "UZ",
              "override_id": 1, "session_id": "0" * 16, "consent_id": 1, "filename": "yordam.css",
              "draft_id": 1, "name": "case_management.bpmn", "migration_id": 1,
              "form_key": "needs_assessment", "document": "service_plan"}
    client = WebClient(server.url)
    client.login("supervisor1", language="en")
    urls = _every_url(server.app, values)
    assert len(urls) > 60
    for method, url in urls:
        request = urllib.request.Request(server.url + url, method=method,
                                         data=b"{}" if method in ("POST", "PUT", "DELETE") else None,
                                         headers={"Content-Type": "application/json"})
        try:
            response = client.opener.open(request, timeout=30)
        except urllib.error.HTTPError as err:
            response = err
        headers = response.headers
        assert response.status < 500, (method, url, response.status)
        assert headers["X-Content-Type-Options"] == "nosniff", (method, url)
        assert headers["X-Frame-Options"] == "DENY", (method, url)
        assert "default-src 'self'" in headers["Content-Security-Policy"], (method, url)
        assert headers["Referrer-Policy"] == "same-origin", (method, url)
        if not url.startswith("/static/"):
            assert headers["Cache-Control"] == "no-store", (method, url)
        for cookie in headers.get_all("Set-Cookie") or []:
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, (method, url, cookie)
        response.close()


def test_text_no_database_keeps_is_refused_on_every_form_and_filter(engine, server):
    """A NUL or an unpaired surrogate in the sign-in form or a list filter is a clear 400, never a 500."""
    client = WebClient(server.url)
    assert client.post("/login", {"username": "worker1\x00", "password": "demo1234"}).status == 400
    client.login("worker1", language="en")
    for path in ("/cases?q=a%00b", "/cases?stage=%00", "/tasks?q=%00", "/tasks?stage=x%00"):
        assert client.get(path).status == 400, path
    from engine.errors import NotAuthenticated
    from engine.services import users
    for username, password in (("worker1\x00", "demo1234"), ("worker1", "demo\ud800")):
        with pytest.raises(NotAuthenticated):
            users.login(engine, username, password)
