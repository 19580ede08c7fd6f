"""Attacks on what methodologists and browsers can send.

1. A corpus of hostile XML (``tests/corpus/xml_attacks/``: XXE on a local file and over HTTP, an external DTD,
   parameter entities, billion laughs, quadratic blow-up, XInclude, UTF-7 and UTF-16 disguises; plus 10 MB and
   100,000-deep files generated here) goes through every path a definition takes: the parser, the lint,
   publishing, the ``yordam workflows`` commands and the JSON API as a methodologist. Each is refused quickly,
   with a message naming the cause, nothing stored, no local file opened and no network request made.
2. Forged form posts: every HTML POST route of the web app (found in the URL map, so new routes are covered),
   posted by signed-in users without the CSRF token or with a wrong one, is refused and changes nothing.
"""
from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.db.models import AuditEvent, Base, DefinitionVersion, Task, User
from engine.errors import DefinitionInvalid
from engine.process.definitions import check_definition, read_definition_files, read_text_file
from engine.process.xml import UnsafeXML, parse_xml
from engine.services import cases as case_service
from engine.services import definitions
from engine.services.scheduler import tick
from tests.api_client import Client, LiveServer
from tests.helpers import actor, open_case
from tests.web_client import WebClient
from webui import create_app

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "corpus" / "xml_attacks"
SHIPPED = read_definition_files(ROOT / "workflows", ROOT / "forms")
LIMIT_SECONDS = 2.0  # generous: a refusal takes milliseconds

DOCTYPE = "a DOCTYPE is not allowed in BPMN or DMN files"
TOO_BIG = "the file is larger than 5 MB"
TOO_DEEP = "the elements are nested more than 256 levels deep"
XINCLUDE = "XInclude is not allowed in BPMN or DMN files"
#: What the author is told when the file arrives as text (lint, publishing, the CLI, an API upload).
REFUSED = {
    "xxe_local_file.bpmn": DOCTYPE,
    "xxe_http.bpmn": DOCTYPE,
    "external_dtd.dmn": DOCTYPE,
    "parameter_entity_http.bpmn": DOCTYPE,
    "parameter_entity_exfiltration.dmn": DOCTYPE,
    "billion_laughs.bpmn": DOCTYPE,
    "quadratic_blowup.dmn": DOCTYPE,
    "utf7_declaration.bpmn": "the file declares the encoding 'UTF-7': BPMN and DMN files must be UTF-8",
    "utf16_bom.bpmn": "the file is not UTF-8 encoded",
    "ten_megabytes.bpmn": TOO_BIG,  # generated below, never committed
    "deep_nesting.bpmn": TOO_DEEP,  # generated below
    "xinclude_local_file.bpmn": XINCLUDE,
    "xinclude_http.dmn": XINCLUDE,
}
#: Handed to the parser as bytes, a UTF-7 or UTF-16 file is decoded by the parser itself, past the DOCTYPE
#: pre-check: the parser's own settings must hold, and the DOCTYPE is refused after parsing.
REFUSED_AS_BYTES = {**REFUSED, "utf7_declaration.bpmn": DOCTYPE, "utf16_bom.bpmn": DOCTYPE}
GENERATED = {"ten_megabytes.bpmn", "deep_nesting.bpmn"}
REPLACES = {".bpmn": "case_management.bpmn", ".dmn": "risk_level.dmn"}  # the shipped file an attack stands in for

_MINIMAL_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_case_management" \
targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="case_management" isExecutable="true">
    <bpmn:documentation>{documentation}</bpmn:documentation>
    <bpmn:startEvent id="StartEvent_referral" />
  </bpmn:process>
</bpmn:definitions>
"""


# --- the trap: a marker file and a local HTTP server that nothing may reach ---------------------------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    def _any(self):
        self.server.requests.append(f"{self.command} {self.path}")
        payload = f'<!ENTITY defined_in_dtd "{self.server.marker}"><!ENTITY fromremote "{self.server.marker}">'
        self.send_response(200)
        self.send_header("Content-Type", "application/xml-dtd")
        self.end_headers()
        self.wfile.write(payload.encode())

    do_GET = do_POST = do_HEAD = _any

    def log_message(self, *args):
        pass


class Trap:
    """A file whose content is a unique marker, a named pipe that records anything opening it, and an HTTP server
    on 127.0.0.1 that records every request (and would answer with the marker)."""

    def __init__(self, folder: Path):
        self.marker = f"YORDAM-LEAK-{uuid.uuid4().hex}"
        self.file = folder / "secret.txt"
        self.file.write_text(self.marker)
        self.pipe = folder / "tripwire"
        os.mkfifo(self.pipe)
        self.pipe_opened = 0
        self._stop = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        self._server.requests, self._server.marker = [], self.marker
        self.http = f"http://127.0.0.1:{self._server.server_port}"
        self._threads = [threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True),
                         threading.Thread(target=self._watch_pipe, daemon=True)]
        for thread in self._threads:
            thread.start()

    @property
    def requests(self) -> list[str]:
        return list(self._server.requests)

    def _watch_pipe(self):
        # Opening a FIFO's write end without blocking succeeds only while a reader holds it open.
        while not self._stop.is_set():
            try:
                fd = os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.002)
                continue
            self.pipe_opened += 1
            try:
                os.write(fd, self.marker.encode())
            except OSError:
                pass
            os.close(fd)
            time.sleep(0.01)

    def close(self):
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(5)

    def materialise(self, name: str, local_file: Path | None = None) -> bytes:
        """The attack's bytes with the trap's addresses in place of ``@MARKER_URI@`` and ``@HTTP@``."""
        if name == "ten_megabytes.bpmn":
            return _MINIMAL_BPMN.format(documentation="x" * (10 * 1024 * 1024)).encode()
        if name == "deep_nesting.bpmn":
            depth = 100_000
            return _MINIMAL_BPMN.format(documentation="<a>" * depth + "</a>" * depth).encode()
        raw = (CORPUS / name).read_bytes()
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        text = raw.decode("utf-16") if utf16 else raw.decode("utf-8")
        text = text.replace("@MARKER_URI@", (local_file or self.file).as_uri()).replace("@HTTP@", self.http)
        return text.encode("utf-16") if utf16 else text.encode("utf-8")

    def assert_untouched(self, *texts):
        """Nothing was fetched, the named pipe was never opened, and the marker is in none of ``texts``."""
        assert self.requests == [], f"the attacks reached the network: {self.requests}"
        assert self.pipe_opened == 0, "a local file named by an attack was opened"
        for text in texts:
            assert self.marker not in str(text)


@pytest.fixture
def trap(tmp_path):
    trap = Trap(tmp_path)
    yield trap
    trap.close()


def attacks(trap: Trap, local_file: Path | None = None):
    for name in sorted(REFUSED):
        yield name, trap.materialise(name, local_file)


def as_text(trap: Trap, name: str, data: bytes) -> str:
    """The file as the lint, publishing and the CLI read it from disk (UTF-8, or ``DefinitionInvalid``)."""
    path = trap.file.parent / "read" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return read_text_file(path)


def with_attack(name: str, text: str) -> dict[str, str]:
    return {**SHIPPED, REPLACES[Path(name).suffix]: text}


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def test_the_corpus_is_what_this_file_expects():
    committed = {p.name for p in CORPUS.iterdir()}
    assert committed == set(REFUSED) - GENERATED
    assert all(p.stat().st_size < 64 * 1024 for p in CORPUS.iterdir())  # small files; the big ones are generated
    assert b"<!DOCTYPE" not in (CORPUS / "utf7_declaration.bpmn").read_bytes()  # the disguise is real
    assert b"<\x00!\x00D\x00O\x00C\x00T\x00Y\x00P\x00E" in (CORPUS / "utf16_bom.bpmn").read_bytes()


# --- the parser ---------------------------------------------------------------------------------------------------

def test_the_tripwire_notices_a_file_being_opened(trap):
    """The named pipe standing for a local file does tell when something opens it (so its silence means much)."""
    read = []
    reader = threading.Thread(target=lambda: read.append(trap.pipe.read_text()))
    reader.start()
    reader.join(5)
    assert trap.pipe_opened >= 1 and read == [trap.marker]


@pytest.mark.parametrize("local", ["marker file", "named pipe"])
def test_the_parser_refuses_every_attack_quickly_without_touching_files_or_network(trap, local):
    local_file = trap.file if local == "marker file" else trap.pipe
    for name, data in attacks(trap, local_file):
        variants = [("bytes", data, REFUSED_AS_BYTES[name])]
        if not data.startswith(b"\xff\xfe"):
            variants.append(("text", data.decode("utf-8"), REFUSED[name]))
        if name not in GENERATED | {"utf7_declaration.bpmn", "utf16_bom.bpmn"}:
            # the same attack re-encoded as UTF-16: no ASCII "<!DOCTYPE" for the pre-check to see
            utf16 = re.sub(r'encoding="[^"]+"', 'encoding="UTF-16"', data.decode("utf-8"), count=1)
            variants.append(("utf-16 bytes", utf16.encode("utf-16"), None))
        for how, content, expected in variants:
            with Timer() as timer, pytest.raises(UnsafeXML) as refused:
                parse_xml(content)
            assert timer.seconds < LIMIT_SECONDS, (name, how, timer.seconds)
            message = str(refused.value)
            if expected is not None:
                assert message.startswith(expected), (name, how, message)
                if expected != TOO_BIG:
                    assert refused.value.line, (name, how)  # the author is told where
            else:
                assert re.search(r"DOCTYPE|entit|PEReference|XInclude", message, re.IGNORECASE), (name, how, message)
            trap.assert_untouched(message)
    trap.assert_untouched()


def test_a_file_at_the_depth_limit_compiles_and_one_level_more_is_refused_by_name():
    """The deepest document the parser admits goes through the lint and SpiffWorkflow's parser without a
    RecursionError; one level deeper is refused with a clear message and its line."""
    bpmn = SHIPPED["case_management.bpmn"]
    anchor = "<bpmn:documentation>Default case-management process"
    assert anchor in bpmn
    base = 3  # definitions > process > documentation

    def nested(depth):
        return bpmn.replace(anchor, "<bpmn:documentation>" + "<b>" * depth + "</b>" * depth
                            + "Default case-management process", 1)

    with Timer() as timer:
        assert check_definition({**SHIPPED, "case_management.bpmn": nested(256 - base)}) == []
    assert timer.seconds < LIMIT_SECONDS
    [problem] = check_definition({**SHIPPED, "case_management.bpmn": nested(257 - base)})
    assert (problem.rule, problem.message) == ("xml", TOO_DEEP)
    assert problem.line == bpmn[:bpmn.index(anchor)].count("\n") + 1


def test_deeply_nested_sub_processes_compile_without_recursion_error():
    def level(i, inner):
        head = f'<bpmn:startEvent id="s{i}"><bpmn:outgoing>a{i}</bpmn:outgoing></bpmn:startEvent>'
        if not inner:
            return head + (f'<bpmn:sequenceFlow id="a{i}" sourceRef="s{i}" targetRef="e{i}"/>'
                           f'<bpmn:endEvent id="e{i}"><bpmn:incoming>a{i}</bpmn:incoming></bpmn:endEvent>')
        return head + (f'<bpmn:sequenceFlow id="a{i}" sourceRef="s{i}" targetRef="sp{i + 1}"/>{inner}'
                       f'<bpmn:sequenceFlow id="b{i}" sourceRef="sp{i + 1}" targetRef="e{i}"/>'
                       f'<bpmn:endEvent id="e{i}"><bpmn:incoming>b{i}</bpmn:incoming></bpmn:endEvent>')

    inner = ""
    for i in range(120, 0, -1):
        inner = f'<bpmn:subProcess id="sp{i}">{level(i, inner)}</bpmn:subProcess>'
    process = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/'
               'BPMN/20100524/MODEL" id="D" targetNamespace="x"><bpmn:process id="case_management" '
               f'isExecutable="true">{level(0, inner)}</bpmn:process></bpmn:definitions>')
    with Timer() as timer:
        problems = check_definition({**SHIPPED, "case_management.bpmn": process})
    assert problems == [] and timer.seconds < LIMIT_SECONDS


# --- the lint, publishing, the CLI ---------------------------------------------------------------------------------

def test_the_lint_names_the_attack_and_leaks_nothing(trap):
    for name, data in attacks(trap):
        with Timer() as timer:
            try:
                problems = check_definition(with_attack(name, as_text(trap, name, data)))
            except DefinitionInvalid as err:  # not even readable as text
                problems = [str(err)]
                assert name == "utf16_bom.bpmn" and REFUSED[name] in str(err), (name, str(err))
            else:
                assert problems, name
                first = problems[0]
                assert (first.file, first.rule) == (REPLACES[Path(name).suffix], "xml"), (name, first)
                assert first.message.startswith(REFUSED[name]), (name, first.message)
        assert timer.seconds < LIMIT_SECONDS, (name, timer.seconds)
        trap.assert_untouched(*problems)


def stored(engine):
    with engine.db.read() as session:
        versions = [(v.id, v.version, v.content_hash, json.dumps(v.files, sort_keys=True), v.spec_json)
                    for v in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id))]
        published = session.scalars(select(AuditEvent.id).where(AuditEvent.action == "definition.published")).all()
    return versions, published


def test_publishing_refuses_every_attack_and_stores_nothing(engine, trap):
    before = stored(engine)
    assert before[0]  # the shipped version is there
    for name, data in attacks(trap):
        with Timer() as timer, pytest.raises(DefinitionInvalid) as refused:
            definitions.publish(engine, with_attack(name, as_text(trap, name, data)), note=name)
        assert timer.seconds < LIMIT_SECONDS, (name, timer.seconds)
        assert REFUSED[name] in str(refused.value), (name, str(refused.value))
        trap.assert_untouched(refused.value, [p.as_dict() for p in refused.value.problems])
    after = stored(engine)
    assert after == before
    trap.assert_untouched(after)


def test_external_references_stay_inert_when_published_and_xinclude_is_refused(engine, trap):
    """A set that is otherwise fine publishes with a schemaLocation and a stylesheet instruction: neither is
    fetched or resolved, in the stored files or in the compiled spec. An xi:include is refused by name."""
    bpmn = SHIPPED["case_management.bpmn"]
    attacked = bpmn.replace('<bpmn:definitions ', f'<?xml-stylesheet type="text/xsl" href="{trap.http}/s.xsl"?>'
                            '\n<bpmn:definitions xsi:schemaLocation="http://www.omg.org/spec/BPMN/20100524/MODEL '
                            f'{trap.http}/BPMN20.xsd" ', 1)
    assert attacked.count(trap.http) == 2
    version, created = definitions.publish(engine, {**SHIPPED, "case_management.bpmn": attacked}, note="inert")
    assert created
    with engine.db.read() as session:
        row = session.get(DefinitionVersion, version.id)
        trap.assert_untouched(row.spec_json, json.dumps(row.files))
    anchor = "<bpmn:extensionElements>"
    include = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{trap.file.as_uri()}" parse="text"/>'
    before = stored(engine)
    with pytest.raises(DefinitionInvalid) as refused:
        definitions.publish(engine, {**SHIPPED, "case_management.bpmn": bpmn.replace(anchor, anchor + include, 1)})
    assert XINCLUDE in refused.value.problems[0].message
    assert stored(engine) == before
    trap.assert_untouched(refused.value)


def _cli(capsys, *argv):
    from webui.cli import main
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out + out.err


def test_the_workflows_commands_refuse_every_attack(sqlite_engine, trap, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.settings.database_url)
    before = stored(sqlite_engine)
    for name, data in attacks(trap):
        folder = tmp_path / Path(name).stem
        folder.mkdir()
        for shipped in (ROOT / "workflows").iterdir():
            if shipped.suffix in (".bpmn", ".dmn") or shipped.name.endswith(".i18n.json"):
                shutil.copy(shipped, folder / shipped.name)
        (folder / REPLACES[Path(name).suffix]).write_bytes(data)
        paths = sorted(str(p) for p in folder.iterdir())
        for command, expected_status in (("lint", (1, 2)), ("publish", (2,))):
            with Timer() as timer:
                status, output = _cli(capsys, "workflows", command, *paths)
            assert status in expected_status, (name, command, status, output[-500:])
            assert REFUSED[name] in output and "Traceback" not in output, (name, command, output[-500:])
            assert timer.seconds < LIMIT_SECONDS, (name, command, timer.seconds)
            trap.assert_untouched(output)
        shutil.rmtree(folder)
    assert stored(sqlite_engine) == before


# --- the JSON API, as a methodologist ------------------------------------------------------------------------------

@pytest.fixture
def site(engine):
    app = create_app(engine)
    with LiveServer(app) as live:
        yield app, live.url


def _raw_post(url, token, data: bytes, content_type: str):
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        body = err.read()
        err.close()
        return err.code, body


def test_the_api_refuses_every_attack_from_a_methodologist(site, engine, trap):
    app, url = site
    methodologist = Client(url).login("methodologist1")
    status, me = methodologist.get("/me")
    assert status == 200 and me["role"] == "methodologist"
    status, listed = methodologist.get("/definitions")
    assert status == 200 and listed["items"]
    before = stored(engine)
    uploads = sorted({rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
                      and "definition" in rule.rule and rule.methods & {"POST", "PUT", "PATCH"}})
    # The API has no upload route yet: the attacks are sent where one would be and must be refused (405), never
    # a 500. An upload route added later is found here and gets the corpus as {"files": {name: text}} and as the
    # raw file; it must then refuse each file saying why.
    targets = uploads or ["/api/v1/definitions"]
    for target in targets:
        for name, data in attacks(trap):
            text = data.decode("utf-16") if data.startswith(b"\xff\xfe") else data.decode("utf-8")
            requests = [(json.dumps({"files": {REPLACES[Path(name).suffix]: text}, "note": name}).encode(),
                         "application/json"), (data, "application/xml")]
            for body, content_type in requests:
                with Timer() as timer:
                    status, answer = _raw_post(url + target, methodologist.token, body, content_type)
                assert timer.seconds < LIMIT_SECONDS, (target, name, timer.seconds)
                assert 400 <= status < 500, (target, name, status, answer[:300])
                error = json.loads(answer)
                assert error["error"] and error["message"], (target, name, error)
                if status in (400, 422):  # an upload route looked at the file: it says why it is refused
                    assert REFUSED[name] in json.dumps(error), (target, name, error)
                else:
                    assert status in (404, 405, 413, 415), (target, name, status)
                trap.assert_untouched(answer.decode("utf-8", "replace"))
    assert stored(engine) == before
    assert methodologist.get("/definitions") == (200, listed)


# --- CSRF: every HTML form POST, without its token or with a wrong one ---------------------------------------------

VOLATILE = {"last_seen_at"}  # when a session was last used: touched by any request, by design


def snapshot(engine) -> dict:
    """Every row of every table (but when each session was last seen)."""
    with engine.db.read() as session:
        tables = {}
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE]
            rows = session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            tables[table.name] = [tuple(row) for row in rows]
        return tables


def web_post_routes(app):
    """Every POST route of the HTML app (everything that is not the JSON API or static files)."""
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and not rule.endpoint.startswith("api.") and rule.endpoint != "static"),
                  key=lambda r: r.rule)


def _session_id(client: WebClient) -> str:
    """The id of the other session of this client's user, from its own profile page."""
    [form] = client.get("/profile").css("#sessions ~ table form")
    return re.search(r"/profile/sessions/([^/]+)/end", form.get("action")).group(1)


@pytest.fixture
def world(site, engine, clock):
    """Cases and tasks for the routes to act on, and three signed-in users with a second session each."""
    app, url = site
    worker = actor(engine, "worker1")
    case = open_case(engine)
    held = open_case(engine, name="Navbahor Qodirova")
    case_service.hold_case(engine, worker, held["id"], {"waiting_for": "client", "reason": "away for a week"})
    clock.advance(days=5)
    tick(engine)  # the first task is late now: reminders, an escalation for the supervisor
    with engine.db.read() as session:
        def one(*where):
            return session.scalars(select(Task).where(Task.state == "open", *where).order_by(Task.id)).first()
        process = one(Task.case_id == case["id"], Task.kind == "process")
        escalation = one(Task.kind == "escalation")
        queued = one(Task.assignee_id.is_(None), Task.kind == "process") or process
        worker2 = session.scalar(select(User.id).where(User.username == "worker2"))
    assert process is not None and escalation is not None
    users = {}
    for username in ("worker1", "supervisor1", "admin1"):
        main, other = WebClient(url), WebClient(url)
        main.login(username, language="en")
        other.login(username, language="en")
        users[username] = {"client": main, "other_session": _session_id(main),
                           "other_csrf": other.get("/profile").csrf()}
    task_page = users["worker1"]["client"].get(f"/tasks/{process.id}")
    task_form = {k: v for k, v in task_page.form("form.task-form").items() if k not in ("csrf_token", "_action")}
    return {
        "app": app, "url": url, "users": users, "case": case["id"], "held": held["id"],
        "process": process.id, "escalation": escalation.id, "queued": queued.id, "worker1": worker.id,
        "worker2": worker2, "task_form": task_form, "mahalla": min(worker.mahalla_ids),
    }


def _targets(world, rule, user):
    """(path, form) pairs for a route: real objects to act on, and the fields that would make the post act."""
    w = world
    endpoint = rule.endpoint
    task_ids = {"web.task": [w["process"], w["escalation"]], "web.claim": [w["queued"]]}.get(endpoint, [w["process"]])
    case_id = w["held"] if endpoint == "web.resume" else w["case"]
    forms = {
        "web.login": {"username": "worker2", "password": "demo1234", "language": "ru"},
        "web.profile": {"language": "ru"},
        "web.new_case": {"kind": "person", "full_name": "Forged Referral", "birth_date": "1970-01-01",
                         "sex": "male", "channel": "mahalla", "summary": "posted from another site",
                         "mahalla_id": str(w["mahalla"])},
        "web.hold": {"waiting_for": "client", "reason": "forged hold"},
        "web.reassign_one": {"task_id": w["process"], "to_user": str(w["worker2"]), "reason": "forged"},
        "web.reassign_all": {"from_user": str(w["worker1"]), "to_user": str(w["worker2"]), "reason": "forged",
                             "include_cases": "1"},
        "web.extend": {"working_days": "3", "reason": "forged extension"},
        "web.break_glass": {"case_id": str(w["case"]), "reason": "forged break-glass request", "minutes": "30"},
    }
    adapter = w["app"].url_map.bind("localhost")
    targets = []
    for task_id in task_ids:
        values = {}
        for argument in rule.arguments:
            converter = rule._converters[argument]
            if argument == "task_id":
                values[argument] = task_id
            elif argument == "case_id":
                values[argument] = case_id
            elif argument == "session_id":
                values[argument] = user["other_session"]
            else:  # a route added later: any value reaches the CSRF check, which comes first
                values[argument] = 1 if type(converter).__name__ in ("IntegerConverter", "NumberConverter") else "1"
        path = adapter.build(endpoint, values, method="POST")
        if endpoint == "web.task":
            form = ({"action": "acknowledge", "reason": "forged"} if task_id == w["escalation"]
                    else {**w["task_form"], "_action": "save"})
        else:
            form = forms.get(endpoint, {})
        targets.append((path, form))
        if "task_id" not in rule.arguments:
            break
    return targets


def test_every_html_post_route_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(world, engine):
    app = world["app"]
    routes = web_post_routes(app)
    endpoints = {r.endpoint for r in routes}
    assert len(routes) >= 8, endpoints
    assert {"web.login", "web.logout", "web.profile", "web.task", "web.claim", "web.hold", "web.resume",
            "web.new_case", "web.reassign_one", "web.notifications_read"} <= endpoints
    before = snapshot(engine)
    posted = 0
    for username, user in world["users"].items():
        client = user["client"]
        wrong = {"missing": None, "empty": "", "forged": "0" * 40, "another session's": user["other_csrf"],
                 "another user's": world["users"]["supervisor1" if username != "supervisor1" else "worker1"]
                 ["other_csrf"]}
        for rule in routes:
            for path, form in _targets(world, rule, user):
                for how, token in wrong.items():
                    data = dict(form)
                    if token is not None:
                        data["csrf_token"] = token
                    page = client.post(path, data)
                    assert page.status in (400, 403), (username, rule.endpoint, path, how, page.status, page.url)
                    posted += 1
        assert who(client) == full_name(engine, username)  # still signed in, as themselves
    assert posted >= len(routes) * 5 * 3
    assert snapshot(engine) == before


def test_the_same_posts_with_the_right_token_do_act(world, engine):
    """The forged posts above changed nothing because of their token, not because of their fields."""
    targets = {r.endpoint: r for r in web_post_routes(world["app"])}
    for username, endpoint in (("worker1", "web.profile"), ("worker1", "web.task"), ("supervisor1", "web.hold"),
                               ("worker1", "web.new_case"), ("worker1", "web.logout")):
        client = world["users"][username]["client"]
        path, form = _targets(world, targets[endpoint], world["users"][username])[0]
        before = snapshot(engine)
        page = client.post(path, {**form, "csrf_token": client.get("/profile").csrf()})
        assert page.status == 200, (endpoint, page.status)
        assert snapshot(engine) != before, endpoint


def who(client: WebClient) -> str:
    """Whom the pages are for: the name in the header, linking to the profile."""
    [link] = client.get("/tasks").css("header a[href$='/profile']")
    return link.text_content().strip()


def full_name(engine, username) -> str:
    with engine.db.read() as session:
        return session.scalar(select(User.full_name).where(User.username == username))


def test_signing_in_over_a_session_needs_the_token_and_a_cross_site_sign_in_is_refused(world, engine):
    """Login CSRF: a signed-in browser is not switched to another account by a forged post, and a post from
    another site (Sec-Fetch-Site: cross-site) cannot sign an anonymous browser in either."""
    supervisor = world["users"]["supervisor1"]["client"]
    before = snapshot(engine)
    assert supervisor.post("/login", {"username": "worker2", "password": "demo1234"}).status == 400
    assert who(supervisor) == full_name(engine, "supervisor1")  # still the supervisor
    anonymous = WebClient(world["url"])
    for site in ("cross-site", "same-site"):
        page = anonymous.request("POST", "/login", {"username": "worker2", "password": "demo1234"},
                                 headers={"Sec-Fetch-Site": site})
        assert page.status == 400 and not list(anonymous.jar)
    assert snapshot(engine) == before
    # the sign-in form carries the token: a signed-in user may still sign in as someone else through it
    page = supervisor.get("/login")
    form = page.form("main form")
    form.update({"username": "worker2", "password": "demo1234"})
    assert supervisor.post("/login", form).status == 200
    assert who(supervisor) == full_name(engine, "worker2")
    same_origin = anonymous.request("POST", "/login", {"username": "worker1", "password": "demo1234"},
                                    headers={"Sec-Fetch-Site": "same-origin"})
    assert same_origin.status == 200 and "/login" not in same_origin.url
