"""Schemathesis fuzzes every operation of /api/v1/openapi.json over real HTTP: whatever is sent, and by whom, the
answer is never a server error (5xx), and it is what the document says (response schema, content type).

One live server over demo data (the twenty demo cases at every stage) per database, SQLite and PostgreSQL. Every
operation is fuzzed with data that fits the schema and with data that does not, without a token and as a social
worker, a supervisor and an administrator; operations with path parameters once more with the ids of real
objects the user may see, so that bodies reach the real checks (a task's form, a case's hold). Derandomised:
every run sends the same requests, and a failure lists each one with a curl command to reproduce it. What the
fuzzing found is kept below as plain requests, so it stays fixed whatever the generator draws.
"""
from __future__ import annotations

import os
import shutil

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance
from schemathesis.errors import FailureGroup

from engine.services.demo import load_cases
from tests.api_client import Client, LiveServer
from tests.conftest import _pg_copy, make_engine

USERS = [None, "worker1", "supervisor1", "admin1"]  # None: no token at all
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: No 5xx, and every answer (errors too) is what the document says it is.
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
#: Examples per operation, user and mode: few, so the suite stays quick; set YORDAM_FUZZ_EXAMPLES=200 to dig deeper.
EXAMPLES = int(os.environ.get("YORDAM_FUZZ_EXAMPLES", "6"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
                phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_server(request, tmp_path_factory):
    """The app over demo data (org, users and the twenty demo cases), on a real port."""
    from webui import create_app
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "yordam.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = _pg_copy(request.getfixturevalue("pg_server"), request.getfixturevalue("pg_template"))
    engine = make_engine(url)
    load_cases(engine)
    with LiveServer(create_app(engine)) as live:
        yield live
    engine.db.dispose()


@pytest.fixture(scope="module")
def tokens(demo_server):
    """Bearer tokens of the fuzzing users, taken before anything is fuzzed (fuzzing the login soon locks the
    address out for a while); worker2's is for fuzzing the logout, which ends it."""
    anon = Client(demo_server.url)
    return {name: anon.login(name).token for name in [u for u in USERS if u] + ["worker2"]}


@pytest.fixture(scope="module")
def api_schema(demo_server):
    return schemathesis.openapi.from_url(demo_server.url + "/api/v1/openapi.json")


def _known_ids(client: Client) -> dict:
    """Ids of real objects the user may see, to fix the path parameters of a second fuzzing pass."""
    ids = {"code": "UZ"}
    status, found = client.get("/cases?limit=1")
    if status == 200 and found["items"]:
        ids["case_id"] = found["items"][0]["id"]
    for query in ("/tasks?mine=true&limit=1", "/tasks?queue=true&limit=1"):
        status, found = client.get(query)
        if status == 200 and found["items"]:
            ids["task_id"] = found["items"][0]["id"]
            break
    status, found = client.get("/notifications?limit=1")
    if status == 200 and found["items"]:
        ids["notification_id"] = found["items"][0]["id"]
    status, added = client.post("/calendars/UZ/days", {"date": "2026-03-02", "kind": "day_off", "name": "Fuzz"})
    if status == 201:
        ids["override_id"] = added["id"]
    return ids


def _fuzz(operation, base_url: str, headers: dict, path_parameters=None) -> list[str]:
    """Send the operation's generated requests; return each server error, with a curl command to reproduce it."""
    problems: list[str] = []
    with requests.Session() as session:
        for mode in MODES:
            @FUZZ
            @given(case=operation.as_strategy(mode, path_parameters=path_parameters, headers=headers or None))
            def run(case):
                response = case.call(base_url=base_url, session=session, timeout=30)
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as err:  # collect them all: one run shows every failure
                    problems.append(f"{operation.label} ({mode.value}): {err}")

            run()
    return problems


@pytest.mark.parametrize("username", USERS, ids=lambda u: u or "anonymous")
def test_no_server_error_whatever_is_sent(demo_server, tokens, api_schema, username):
    base_url = demo_server.url + "/api/v1"
    client = Client(demo_server.url, tokens.get(username))
    headers = {"Authorization": f"Bearer {client.token}"} if username else {}
    known = _known_ids(client) if username else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    problems = []
    for operation in operations:
        if username and (operation.path == "/auth/logout" or "security" not in operation.definition.raw):
            continue  # logging out would end the token (fuzzed below with one of its own); login is fuzzed once
        problems += _fuzz(operation, base_url, headers)
        names = [p.name for p in operation.path_parameters]
        if names and all(n in known for n in names):
            problems += _fuzz(operation, base_url, headers, {n: known[n] for n in names})
    if username == "worker1":
        logout = next(op for op in operations if op.path == "/auth/logout")
        problems += _fuzz(logout, base_url, {"Authorization": f"Bearer {tokens['worker2']}"})
    assert not problems, f"{len(problems)} failures:\n\n" + "\n\n".join(problems)


#: What fuzzing found answering 500 (or, for the extension's reason, keeping text no database can hold), each now
#: a clear 4xx that changes nothing: (user, method, path, body, expected status).
FOUND = [
    ("worker1", "GET", "/cases/99999999999999999999", None, 404),  # no database holds such an id
    ("worker1", "POST", "/cases/99999999999999999999/resume", None, 404),
    ("admin1", "DELETE", "/calendars/UZ/days/99999999999999999999", None, 404),
    ("worker1", "GET", "/tasks/a\x00b", None, 404),  # PostgreSQL refuses NUL characters
    ("worker1", "POST", "/tasks/a\x00b/complete", {"data": {}}, 404),
    ("worker1", "GET", "/cases?stage=a\x00b", None, 422),
    (None, "POST", "/auth/login", {"username": "worker1\x00", "password": "demo1234"}, 422),
    (None, "POST", "/auth/login", {"username": "worker1", "password": "demo\ud8001234"}, 422),  # unpaired surrogate
    ("worker1", "POST", "/cases/1/hold", {"waiting_for": "client", "reason": "Away \ud800"}, 422),
    ("supervisor1", "POST", "/tasks/x/assign", {"user": "worker1\x00"}, 422),
    ("supervisor1", "POST", "/tasks/x/extend", {"working_days": 1, "reason": "Late \udfff"}, 422),
    ("admin1", "POST", "/calendars/UZ/days", {"date": "2026-05-05", "kind": "day_off", "name": "Bayram \ud800"},
     422),
    ("worker1", "POST", "/cases", b"[" * 100_000 + b"]" * 100_000, 422),  # nested too deeply to parse
]


@pytest.mark.parametrize("username, method, path, sent, expected", FOUND,
                         ids=[f"{m} {p[:30]!r}" for _, m, p, _, _ in FOUND])
def test_what_fuzzing_found_is_a_clear_client_error(demo_server, tokens, username, method, path, sent, expected):
    client = Client(demo_server.url, tokens.get(username))
    if isinstance(sent, bytes):
        status, body = client.call(method, path, raw=sent)
    else:
        status, body = client.call(method, path, body=sent)
    assert status == expected, body
    assert body["error"] == ("not_found" if expected == 404 else "invalid") and body["message"]
