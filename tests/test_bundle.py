"""The workbench editors' bundle (``frontend/``, built by ``make bundle`` into ``webui/static/workbench/``): it is
complete, loads nothing from another host and stays a sane size; and in Chromium, under the app's own
Content-Security-Policy, each editor opens the shipped files and gives back what Yordam reads unchanged, and the
BPMN properties panel's "Yordam" group edits the properties the engine reads.

The page here is a small static harness served by ``http.server`` (the workbench pages are tested elsewhere).
Chromium is Debian's (``/usr/bin/chromium``); without it the browser tests fail, they are never skipped."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest.mock import ANY

import pytest
from lxml import etree
from playwright.sync_api import sync_playwright

from engine.process.definitions import check_definition, read_definition_files
from engine.settings import ROOT
from forms.definition import FormDefinition
from tests.conftest import make_engine
from webui import create_app

BUNDLE = ROOT / "webui" / "static" / "workbench"
KINDS = ("bpmn", "dmn", "form")
MAX_ENTRY_BYTES = 3 * 1024 * 1024  # per editor, script and stylesheet together
CHROMIUM = os.environ.get("YORDAM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


@pytest.fixture(scope="module")
def manifest():
    path = BUNDLE / "manifest.json"
    assert path.exists(), "the workbench bundle is not built: run `make bundle` (it needs Node 20 and npm)"
    return json.loads(path.read_text())


def test_the_bundle_is_complete_and_matches_its_manifest(manifest):
    for kind in KINDS:
        assert manifest["entries"][kind] == {"js": f"{kind}-editor.js", "css": f"{kind}-editor.css"}
    on_disk = {p.relative_to(BUNDLE).as_posix() for p in BUNDLE.rglob("*") if p.is_file()} - {"manifest.json"}
    assert on_disk == set(manifest["files"]), "rebuild: rm webui/static/workbench/manifest.json && make bundle"
    for name, info in manifest["files"].items():
        content = (BUNDLE / name).read_bytes()
        assert len(content) == info["bytes"] and hashlib.sha256(content).hexdigest() == info["sha256"], name
    for kind in KINDS:
        assert (BUNDLE / f"{kind}-editor.js").read_text().count(f"window.Yordam{kind.capitalize()}Editor") == 1


# --- nothing from another host -------------------------------------------------------------------------------

ABSOLUTE = r"""(?:[a-z][a-z0-9+.-]*:)?//"""  # http://, https://, ftp://... or protocol-relative //host
# What makes a browser fetch: in stylesheets url() and @import; in scripts module imports, workers, fetch, element
# sources and CSS written by script. Links (<a href>), XML namespaces and licence comments fetch nothing.
SCRIPT_LOADS = [re.compile(pattern, re.IGNORECASE) for pattern in (
    rf"""\bimport\s*\(\s*['"`]{ABSOLUTE}""",
    rf"""\b(?:from|import)\s*['"`]{ABSOLUTE}""",
    rf"""\bimportScripts\s*\([^)]*?['"`]{ABSOLUTE}""",
    rf"""\b(?:fetch|sendBeacon|EventSource|WebSocket|(?:Shared)?Worker)\s*\(\s*['"`]{ABSOLUTE}""",
    rf"""\.open\s*\(\s*['"`][A-Z]+['"`]\s*,\s*['"`]{ABSOLUTE}""",
    rf"""\.src\s*=\s*['"`]{ABSOLUTE}""",
    rf"""<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*\\?['"]?"""
    rf"""{ABSOLUTE}""",
    rf"""\burl\(\s*\\?['"]?{ABSOLUTE}""",
    rf"""@import\s+(?:url\()?\s*\\?['"]?{ABSOLUTE}""",
)]
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*?))\s*\)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import\b", re.IGNORECASE)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def external_loads_in_script(text: str) -> list[str]:
    return [m.group(0)[:120] for pattern in SCRIPT_LOADS for m in pattern.finditer(text)]


def external_loads_in_stylesheet(text: str, folder: Path) -> list[str]:
    """Every url() must be data: or a file of the bundle, referenced relatively; no @import is left by the build."""
    text = CSS_COMMENT.sub("", text)
    found = [m.group(0)[:120] for m in CSS_IMPORT.finditer(text)]
    for m in CSS_URL.finditer(text):
        target = next(g for g in m.groups() if g is not None).strip()
        if target.lower().startswith("data:") or target.startswith("#"):
            continue
        path = re.split(r"[?#]", target)[0]
        if re.match(ABSOLUTE, target, re.IGNORECASE) or target.startswith("/") or not (folder / path).is_file():
            found.append(m.group(0)[:120])
    return found


def test_the_external_reference_check_tells_loads_from_mere_text(tmp_path):
    loads = ['import("https://cdn.example/x.js")', 'from"//cdn.example/x.js"', "importScripts('https://a/b.js')",
             'fetch("https://api.example/v1")', 'e.src="https://cdn.example/x.js"', '"<img src=\\"https://x/y.png\\">"',
             '"<link rel=stylesheet href=https://x/y.css>"', '".a{background:url(https://x/y.png)}"',
             '"@import url(//fonts.example/css)"', 'new Worker("https://x/w.js")']
    inert = ['"http://www.w3.org/2000/svg"', '<a href="https://bpmn.io" target="_blank">',
             '/*! For license information see https://github.com/x/y */', 'throw Error("see https://github.com/x")',
             'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"', 'url(data:image/svg+xml;utf8,<svg/>)']
    assert [s for s in loads if not external_loads_in_script(s)] == []
    assert [s for s in inert if external_loads_in_script(s)] == []
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "a.woff2").write_bytes(b"")
    good = (".a{src:url(fonts/a.woff2?1#x)} "
            ".b{background:url('data:image/svg+xml;utf8,<svg xmlns=\"http://www.w3.org/2000/svg\"/>')}")
    assert external_loads_in_stylesheet(good + "/* url(https://x/y.png) */", tmp_path) == []
    for bad in ("url(https://x/y.woff)", "url('//x/y.woff')", "url(/static/y.woff)", "url(fonts/missing.woff)",
                "@import 'x.css';"):
        assert external_loads_in_stylesheet(bad, tmp_path), bad


def test_nothing_in_the_bundle_is_loaded_from_another_host(manifest):
    found = {}
    for name in manifest["files"]:
        path = BUNDLE / name
        if name.endswith(".js"):
            found[name] = external_loads_in_script(path.read_text())
        elif name.endswith(".css"):
            found[name] = external_loads_in_stylesheet(path.read_text(), path.parent)
    assert any(name.startswith("fonts/") for name in manifest["files"])  # the icon fonts are files of ours
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_each_editor_stays_a_sane_size(manifest, record_property):
    sizes = {kind: manifest["files"][f"{kind}-editor.js"]["bytes"] + manifest["files"][f"{kind}-editor.css"]["bytes"]
             for kind in KINDS}
    for kind, size in sizes.items():
        record_property(f"{kind}_editor_bytes", size)
        print(f"{kind} editor: {size / 1024:.0f} KiB (script and stylesheet)")
    assert {kind: size for kind, size in sizes.items() if size > MAX_ENTRY_BYTES} == {}


# --- in the browser ----------------------------------------------------------------------------------------------

HARNESS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{kind} editor</title>
<link rel="stylesheet" href="workbench/{kind}-editor.css"><link rel="stylesheet" href="harness.css">
<script src="harness.js"></script><script src="workbench/{kind}-editor.js"></script>
</head><body><div id="canvas"></div><div id="panel"></div></body></html>
"""
HARNESS_CSS = "body{display:flex;margin:0} #canvas{width:900px;height:650px} #panel{width:360px;overflow:auto}"
HARNESS_JS = """window.violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.violations.push({directive: e.effectiveDirective, blocked: e.blockedURI});
});"""
# What the app's CSP (default-src 'self') blocks in these libraries, harmlessly: a few inline style attributes
# (frontend/src/editors.css restores those that matter) and a 1x1 data: GIF used as a drag image.
HARMLESS_VIOLATIONS = ({"directive": "style-src-attr", "blocked": "inline"},
                       {"directive": "img-src", "blocked": "data"})


class _Handler(SimpleHTTPRequestHandler):
    policy = ""

    def end_headers(self):
        self.send_header("Content-Security-Policy", self.policy)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def harness(manifest, tmp_path_factory):
    """A local server over a temporary folder: the harness pages and a link to the built bundle."""
    root = tmp_path_factory.mktemp("harness")
    (root / "workbench").symlink_to(BUNDLE, target_is_directory=True)
    for kind in KINDS:
        (root / f"{kind}.html").write_text(HARNESS_PAGE.format(kind=kind))
    (root / "harness.css").write_text(HARNESS_CSS)
    (root / "harness.js").write_text(HARNESS_JS)
    (root / "favicon.ico").write_bytes(b"")
    engine = make_engine("sqlite://")  # the policy every response of the app carries
    policy = create_app(engine).test_client().get("/static/yordam.css").headers["Content-Security-Policy"]
    engine.db.dispose()
    handler = type("Handler", (_Handler,), {"policy": policy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium():
    assert Path(CHROMIUM).exists(), f"Chromium is needed for the browser tests ({CHROMIUM}); .ci/run installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_editor(chromium, harness):
    """Open a harness page; at the end, check it raised nothing, fetched only from the harness and broke no CSP."""
    pages = []

    def open_page(kind):
        page = chromium.new_page(viewport={"width": 1280, "height": 700})
        page.errors, page.foreign = [], []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("request", lambda request: request.url.startswith((harness + "/", "data:", "blob:"))
                or page.foreign.append(request.url))
        page.goto(f"{harness}/{kind}.html")
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        violations = [v for v in page.evaluate("window.violations") if v not in HARMLESS_VIOLATIONS]
        assert (page.errors, page.foreign, violations) == ([], [], []), page.url
        page.close()


def until(read, accept, seconds=5.0):
    """Read again until ``accept`` holds (the panel writes after a short debounce)."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if accept(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def spiff_view(xml: str) -> dict:
    """What Yordam reads from a BPMN file: each element's spiffworkflow extensions, lanes, scripts, conditions."""
    root = etree.fromstring(xml.encode())
    view = {}
    for extensions in root.iterfind(".//bpmn:extensionElements", NS):
        view[extensions.getparent().get("id")] = [(etree.QName(e).localname, dict(e.attrib), (e.text or "").strip())
                                                  for e in extensions.iter(f"{{{NS['spiff']}}}*")]
    view["lanes"] = {lane.get("name"): sorted(ref.text for ref in lane.iterfind("bpmn:flowNodeRef", NS))
                     for lane in root.iterfind(".//bpmn:lane", NS)}
    view["scripts"] = {s.getparent().get("id"): s.text for s in root.iterfind(".//bpmn:script", NS)}
    view["conditions"] = {c.getparent().get("id"): c.text for c in root.iterfind(".//bpmn:conditionExpression", NS)}
    return view


def properties_of(xml: str, element_id: str) -> dict:
    return {attrs["name"]: attrs["value"] for tag, attrs, _ in spiff_view(xml)[element_id] if tag == "property"}


def shipped_files_with(**replaced) -> dict:
    files = read_definition_files(ROOT / "workflows", ROOT / "forms")
    assert set(replaced) <= set(files)
    return {**files, **replaced}


MOUNT_BPMN = """async (xml) => {
  window.editor = await window.YordamBpmnEditor.mount(document.getElementById('canvas'),
                                                      {xml, propertiesContainer: document.getElementById('panel')});
  window.changes = 0;
  editor.on('change', () => { window.changes += 1; });
  return editor.getXML();
}"""
SELECT = "id => editor.modeler.get('selection').select(editor.modeler.get('elementRegistry').get(id))"


def test_bpmn_editor_keeps_and_edits_what_yordam_reads(open_editor):
    page = open_editor("bpmn")
    original = (ROOT / "workflows" / "case_management.bpmn").read_text()
    xml = page.evaluate(MOUNT_BPMN, original)
    assert page.evaluate("editor.warnings") == []
    assert spiff_view(xml) == spiff_view(original)
    assert "deadline" in properties_of(xml, "register_referral") and len(spiff_view(xml)["scripts"]) >= 3
    assert check_definition(shipped_files_with(**{"case_management.bpmn": xml})) == []

    # The Yordam group: change the deadline, add a reminder, drop the escalation ladder.
    page.evaluate(SELECT, "register_referral")
    page.click("[data-group-id='group-yordam'] .bio-properties-panel-group-header")
    assert page.input_value("#bio-properties-panel-yordam-formKey") == "register_referral"
    page.fill("#bio-properties-panel-yordam-deadline", "7 working days")
    page.fill("#bio-properties-panel-yordam-reminder", "50%")
    page.fill("#bio-properties-panel-yordam-escalation", "")
    page.fill("#bio-properties-panel-yordam-PreScript", "checked = True")
    edited = until(lambda: page.evaluate("editor.getXML()"),
                   lambda x: "escalation" not in properties_of(x, "register_referral") and "preScript" in x)
    expected = {**properties_of(original, "register_referral"), "deadline": "7 working days", "reminder": "50%"}
    del expected["escalation"]
    assert properties_of(edited, "register_referral") == expected
    assert ("preScript", {}, "checked = True") in spiff_view(edited)["register_referral"]
    before, after = spiff_view(original), spiff_view(edited)
    assert {k: v for k, v in after.items() if k != "register_referral"} == \
        {k: v for k, v in before.items() if k != "register_referral"}
    assert page.evaluate("window.changes") >= 3
    assert check_definition(shipped_files_with(**{"case_management.bpmn": edited})) == []

    page.evaluate(SELECT, "Lane_supervisor")  # a lane's name is its role
    assert page.input_value("#bio-properties-panel-yordam-role") == "supervisor"
    page.evaluate(SELECT, "determine_risk_level")
    assert page.input_value("#bio-properties-panel-yordam-CalledDecisionId") == "risk_level"

    assert page.evaluate("editor.highlight(['recognition_of_need', 'no_such_element'])") == ["recognition_of_need"]
    assert page.locator("[data-element-id='recognition_of_need'].yordam-problem").count() == 1


EXTENSIONS = """<spiffworkflow:instructionsForEndUser>Call the family **first**.</spiffworkflow:instructionsForEndUser>
<spiffworkflow:preScript>a = 1</spiffworkflow:preScript>
<spiffworkflow:postScript>b = a + 1</spiffworkflow:postScript>
<spiffworkflow:unitTests><spiffworkflow:unitTest id="t1">
<spiffworkflow:inputJson>{"a": 1}</spiffworkflow:inputJson>
<spiffworkflow:expectedOutputJson>{"b": 2}</spiffworkflow:expectedOutputJson>
</spiffworkflow:unitTest></spiffworkflow:unitTests>
<spiffworkflow:serviceTaskOperator id="http/GetRequest" resultVariable="r"><spiffworkflow:parameters>
<spiffworkflow:parameter id="url" type="str" value="&quot;x&quot;"/></spiffworkflow:parameters>
<spiffworkflow:retry retries="3" backoff_base="2"/></spiffworkflow:serviceTaskOperator>
<spiffworkflow:taskMetadataValues><spiffworkflow:taskMetadataValue name="k" value="v"/>
</spiffworkflow:taskMetadataValues>
<spiffworkflow:category>visits</spiffworkflow:category>
<spiffworkflow:messageVariable>m</spiffworkflow:messageVariable>
<spiffworkflow:messagePayload>{"a": a}</spiffworkflow:messagePayload>
<spiffworkflow:payloadExpression>a</spiffworkflow:payloadExpression>
<spiffworkflow:variableName>v</spiffworkflow:variableName>
<spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>p</spiffworkflow:propertyId>
<spiffworkflow:expression>case_id</spiffworkflow:expression></spiffworkflow:processVariableCorrelation>"""


def test_bpmn_editor_keeps_every_spiffworkflow_extension(open_editor):
    """Those typed by frontend/src/spiffworkflow.json and those it does not know (kept as they are)."""
    root = etree.fromstring((ROOT / "workflows" / "case_management.bpmn").read_bytes())
    extensions = root.find(".//bpmn:userTask[@id='recognition_of_need']/bpmn:extensionElements", NS)
    wrapped = f'<w xmlns:spiffworkflow="{NS["spiff"]}">{EXTENSIONS}</w>'
    extensions.extend(etree.fromstring(wrapped))
    original = etree.tostring(root, encoding="unicode")
    page = open_editor("bpmn")
    xml = page.evaluate(MOUNT_BPMN, original)
    assert page.evaluate("editor.warnings") == []
    assert spiff_view(xml) == spiff_view(original)
    shipped = spiff_view((ROOT / "workflows" / "case_management.bpmn").read_text())["recognition_of_need"]
    assert len(spiff_view(xml)["recognition_of_need"]) == len(shipped) + EXTENSIONS.count("<spiffworkflow:")

    # What the descriptor does not know would be dropped on save: mount() says so, for the page to keep the text.
    unknown = original.replace("<spiffworkflow:category>", "<spiffworkflow:bogus/><spiffworkflow:category>")
    page.evaluate("editor.destroy()")
    page.evaluate(MOUNT_BPMN, unknown)
    assert any("bogus" in warning for warning in page.evaluate("editor.warnings"))


def dmn_view(xml: str) -> list:
    """What Yordam reads from a DMN file: per decision its hit policy, inputs, outputs and rules, cell by cell."""
    root = etree.fromstring(xml.encode())
    text = lambda e: (e.findtext("{*}text") or "").strip()  # noqa: E731
    return [(decision.get("id"), table.get("hitPolicy", "UNIQUE"),
             [(i.get("label"), text(i.find("{*}inputExpression"))) for i in table.iterfind("{*}input")],
             [(o.get("name"), o.get("typeRef")) for o in table.iterfind("{*}output")],
             [(r.get("id"), [text(c) for c in r.iterfind("{*}inputEntry")],
               [text(c) for c in r.iterfind("{*}outputEntry")]) for r in table.iterfind("{*}rule")])
            for decision in root.iterfind("{*}decision") for table in decision.iterfind("{*}decisionTable")]


def test_dmn_editor_keeps_every_decision_table(open_editor):
    page = open_editor("dmn")
    replaced = {}
    for path in sorted((ROOT / "workflows").glob("*.dmn")):
        original = path.read_text()
        xml = page.evaluate("""async (xml) => {
          if (window.editor) { editor.destroy(); }
          window.editor = await window.YordamDmnEditor.mount(document.getElementById('canvas'), {xml});
          return editor.getXML();
        }""", original)
        assert page.evaluate("editor.warnings") == [], path.name
        assert dmn_view(xml) == dmn_view(original) != [], path.name
        assert {"id": path.stem, "type": "decisionTable", "name": ANY} in page.evaluate("editor.views()")
        assert page.locator(".tjs-table").count() == 1  # the decision table is what opened
        replaced[path.name] = xml
    assert check_definition(shipped_files_with(**replaced)) == []


def test_form_editor_keeps_the_form(open_editor):
    page = open_editor("form")
    original = json.loads((ROOT / "forms" / "needs_assessment.form.json").read_text())
    schema = page.evaluate("""async (schema) => {
      const panel = document.getElementById('panel');
      window.editor = await window.YordamFormEditor.mount(document.getElementById('canvas'),
                                                          {schema, propertiesContainer: panel});
      return editor.getSchema();
    }""", original)
    assert {k: v for k, v in schema.items() if k != "schemaVersion"} == \
        {k: v for k, v in original.items() if k != "schemaVersion"}
    assert FormDefinition.from_dict(schema, "needs_assessment").field_keys() == \
        FormDefinition.from_dict(original, "needs_assessment").field_keys()
    text = json.dumps(schema, indent=2, ensure_ascii=False)
    assert check_definition(shipped_files_with(**{"needs_assessment.form.json": text})) == []
    assert page.locator(".fjs-editor-container").count() == 1
