"""Compare: what changed between two published versions, or in a draft since its version (tasks, flows and their
conditions, deadlines, decision rules, form fields, translations, files), in the engine, the API and the pages."""
from __future__ import annotations

import json

import pytest

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.process.compare import changed_element_ids, compare, grouped
from engine.process.definitions import read_definition_files
from engine.services import definitions
from engine.services.compare import compare_draft, compare_versions
from engine.services.demo import actor
from tests.web_client import WebClient

ASSESSMENT_DEADLINE = '<spiffworkflow:property name="deadline" value="5 working days" />'
HIGH_RISK = 'decision == "approved" and risk_level == "high"'
WIDER_RISK = 'decision == "approved" and risk_level in ("high", "medium")'
NEW_TASK = '''<bpmn:userTask id="prepare_follow_up" name="Prepare the follow-up visit">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="follow_up_visit" />
          <spiffworkflow:property name="stage" value="closure" />
          <spiffworkflow:property name="deadline" value="3 working days" />
          <spiffworkflow:property name="deadlineSource" value="Yordam default: prepared within 3 working days" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_timer_fired</bpmn:incoming>
      <bpmn:outgoing>Flow_follow_up_prepared</bpmn:outgoing>
    </bpmn:userTask>
    '''


def _sub(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def shipped(engine) -> dict[str, str]:
    return read_definition_files(engine.settings.workflows_dir, engine.settings.forms_dir)


def changed_set(files: dict[str, str]) -> dict[str, str]:
    """The shipped set with known changes: a deadline, a task renamed, a condition, a task added between the
    follow-up timer and the visit, a decision rule, a form field relabelled and one added (and its translations)."""
    files = dict(files)
    bpmn = files["case_management.bpmn"]
    bpmn = _sub(bpmn, ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace("5 working", "7 working"))
    bpmn = _sub(bpmn, 'name="Follow-up visit"', 'name="Follow-up home visit"')
    bpmn = _sub(bpmn, HIGH_RISK, WIDER_RISK)
    bpmn = _sub(bpmn, '<bpmn:sequenceFlow id="Flow_timer_fired" sourceRef="Timer_follow_up" '
                      'targetRef="follow_up_visit" />',
                '<bpmn:sequenceFlow id="Flow_timer_fired" sourceRef="Timer_follow_up" targetRef="prepare_follow_up" />'
                '\n    <bpmn:sequenceFlow id="Flow_follow_up_prepared" sourceRef="prepare_follow_up" '
                'targetRef="follow_up_visit" />')
    bpmn = _sub(bpmn, "<bpmn:flowNodeRef>follow_up_visit</bpmn:flowNodeRef>",
                "<bpmn:flowNodeRef>prepare_follow_up</bpmn:flowNodeRef>"
                "<bpmn:flowNodeRef>follow_up_visit</bpmn:flowNodeRef>")
    bpmn = _sub(bpmn, '<bpmn:userTask id="follow_up_visit"', NEW_TASK + '<bpmn:userTask id="follow_up_visit"')
    bpmn = _sub(bpmn, "<bpmn:incoming>Flow_timer_fired</bpmn:incoming>\n      <bpmn:outgoing>Flow_follow_up_done",
                "<bpmn:incoming>Flow_follow_up_prepared</bpmn:incoming>\n      <bpmn:outgoing>Flow_follow_up_done")
    files["case_management.bpmn"] = bpmn
    files["monitoring_cadence.dmn"] = _sub(files["monitoring_cadence.dmn"], "<text>14</text>", "<text>10</text>")
    form = json.loads(files["plan_approval.form.json"])
    next(c for c in form["components"] if c.get("key") == "comment")["label"] = "Comment for the worker"
    form["components"].append({"id": "Field_review_date", "type": "datetime", "subtype": "date",
                               "key": "plan_review_date", "dateLabel": "Review the plan on",
                               "validate": {"required": True}})
    files["plan_approval.form.json"] = json.dumps(form, indent=2)
    texts = json.loads(files["plan_approval.i18n.json"])
    for table in texts.values():
        table["Comment for the worker"] = table.pop("Comment")
    files["plan_approval.i18n.json"] = json.dumps(texts, ensure_ascii=False, indent=2)
    return files


def _element(eid, etype, name, change, *changes):
    return {"process": "case_management", "id": eid, "type": etype, "name": name, "file": "case_management.bpmn",
            "change": change, "changes": [{"field": f, "before": b, "after": a} for f, b, a in changes]}


def expected_changes(old_files) -> dict:
    old_texts = json.loads(old_files["plan_approval.i18n.json"])
    return {
        "same": False,
        "files": {"added": [], "removed": [], "formatting_only": [],
                  "changed": ["case_management.bpmn", "monitoring_cadence.dmn", "plan_approval.form.json",
                              "plan_approval.i18n.json"]},
        "unreadable": [],
        "elements": [
            _element("Flow_closure_high_risk", "sequenceFlow", "Approved, high risk", "changed",
                     ("condition", HIGH_RISK, WIDER_RISK)),
            _element("Flow_follow_up_prepared", "sequenceFlow", None, "added", ("type", None, "sequenceFlow"),
                     ("source", None, "prepare_follow_up"), ("target", None, "follow_up_visit")),
            _element("Flow_timer_fired", "sequenceFlow", None, "changed",
                     ("target", "follow_up_visit", "prepare_follow_up")),
            _element("follow_up_visit", "userTask", "Follow-up home visit", "changed",
                     ("name", "Follow-up visit", "Follow-up home visit")),
            _element("home_visit_assessment", "userTask", "Home visit and needs assessment", "changed",
                     ("deadline", "5 working days", "7 working days")),
            _element("prepare_follow_up", "userTask", "Prepare the follow-up visit", "added",
                     ("name", None, "Prepare the follow-up visit"), ("type", None, "userTask"),
                     ("lane", None, "social_worker"), ("formKey", None, "follow_up_visit"),
                     ("stage", None, "closure"), ("deadline", None, "3 working days"),
                     ("deadlineSource", None, "Yordam default: prepared within 3 working days")),
        ],
        "decisions": [{
            "decision": "monitoring_cadence", "name": "Monitoring cadence", "file": "monitoring_cadence.dmn",
            "change": "changed", "changes": [],
            "rules": [{"rule": "Rule_high", "change": "changed",
                       "before": {"description": None, "when": [["risk_level", '"high"']],
                                  "then": [["monitoring_interval_days", "14"]]},
                       "after": {"description": None, "when": [["risk_level", '"high"']],
                                 "then": [["monitoring_interval_days", "10"]]}}]}],
        "forms": [{"form": "plan_approval", "file": "plan_approval.form.json", "change": "changed", "fields": [
            {"field": "comment", "label": "Comment for the worker", "change": "changed",
             "changes": [{"field": "label", "before": "Comment", "after": "Comment for the worker"}]},
            {"field": "plan_review_date", "label": "Review the plan on", "change": "added",
             "changes": [{"field": "type", "before": None, "after": "datetime"},
                         {"field": "dateLabel", "before": None, "after": "Review the plan on"},
                         {"field": "required", "before": None, "after": True},
                         {"field": "subtype", "before": None, "after": "date"}]}]}],
        "translations": [{"file": "plan_approval.i18n.json", "change": "changed", "languages": [
            {"language": language, "keys": [
                {"key": "Comment", "change": "removed", "before": old_texts[language]["Comment"], "after": None},
                {"key": "Comment for the worker", "change": "added", "before": None,
                 "after": old_texts[language]["Comment"]}]}
            for language in sorted(old_texts)]}],
    }


@pytest.fixture
def version_2(engine):
    """Version 2 published with the known changes; returns the files of version 1."""
    old = shipped(engine)
    version, created = definitions.publish(engine, changed_set(old), note="Known changes for the comparison")
    assert created and version.version == 2
    return old


# --- the engine -------------------------------------------------------------------------------------------------

def test_two_versions_compared_list_exactly_the_known_changes(engine, version_2):
    methodologist = actor(engine, "methodologist1")
    result = compare_versions(engine, methodologist, 1, 2)
    assert (result["from"]["number"], result["to"]["number"]) == (1, 2)
    assert result["to"]["note"] == "Known changes for the comparison"
    assert result["changes"] == expected_changes(version_2)
    # by default: the latest version against the one before it
    assert compare_versions(engine, methodologist)["changes"] == result["changes"]
    # the other way round, everything is reversed
    back = compare_versions(engine, methodologist, 2, 1)["changes"]
    assert [(e["id"], e["change"]) for e in back["elements"]] == [
        ("Flow_closure_high_risk", "changed"), ("Flow_follow_up_prepared", "removed"), ("Flow_timer_fired", "changed"),
        ("follow_up_visit", "changed"), ("home_visit_assessment", "changed"), ("prepare_follow_up", "removed")]
    # grouped as the workbench lists them: a task's deadline under deadlines, its other fields under tasks
    groups = dict(grouped(result["changes"]))
    assert list(groups) == ["tasks", "flows", "deadlines", "decisions", "forms", "translations"]
    assert [(e["id"], [c["field"] for c in e["changes"]]) for e in groups["deadlines"]] == [
        ("home_visit_assessment", ["deadline"]), ("prepare_follow_up", ["deadline", "deadlineSource"])]
    assert [e["id"] for e in groups["tasks"]] == ["follow_up_visit", "prepare_follow_up"]
    assert [e["id"] for e in groups["flows"]] == ["Flow_closure_high_risk", "Flow_follow_up_prepared",
                                                  "Flow_timer_fired"]
    assert changed_element_ids(result["changes"], "case_management.bpmn") == [
        "Flow_closure_high_risk", "Flow_follow_up_prepared", "Flow_timer_fired", "follow_up_visit",
        "home_visit_assessment", "prepare_follow_up"]


def test_a_version_compared_with_itself_has_no_change(engine):
    result = compare_versions(engine, actor(engine, "methodologist1"), 1, 1)
    assert result["changes"] == {"same": True, "files": {"added": [], "removed": [], "changed": [],
                                                         "formatting_only": []},
                                 "unreadable": [], "elements": [], "decisions": [], "forms": [], "translations": []}
    assert grouped(result["changes"]) == []
    # the only version: compared with itself by default
    assert compare_versions(engine, actor(engine, "methodologist1"))["changes"]["same"] is True


def test_only_methodologists_compare_and_bad_numbers_are_refused(engine):
    methodologist = actor(engine, "methodologist1")
    for username in ("worker1", "supervisor1", "head1", "admin1"):
        with pytest.raises(NotAllowed):
            compare_versions(engine, actor(engine, username), 1, 1)
    for old, new in ((0, 1), (1, -3), ("1", 1), (True, 1), (1, 2 ** 40)):
        with pytest.raises(InvalidInput):
            compare_versions(engine, methodologist, old, new)
    with pytest.raises(NotFound):
        compare_versions(engine, methodologist, 1, 99)
    with pytest.raises(NotFound):
        compare_draft(engine, methodologist, 999999)


def test_a_draft_is_compared_with_the_version_it_started_from(engine):
    from engine.services import drafts
    methodologist = actor(engine, "methodologist1")
    draft = drafts.start_draft(engine, methodologist, {"name": "Seven days"})
    assert compare_draft(engine, methodologist, draft["id"])["changes"]["same"] is True
    bpmn = draft["files"]["case_management.bpmn"]
    drafts.save_file(engine, methodologist, draft["id"], "case_management.bpmn", {
        "content": _sub(bpmn, ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace("5 working", "7 working")),
        "row_version": draft["row_version"]})
    result = compare_draft(engine, methodologist, draft["id"])
    assert result["from"]["number"] == 1 and result["draft"]["name"] == "Seven days"
    assert result["changes"]["elements"] == [_element("home_visit_assessment", "userTask",
                                                      "Home visit and needs assessment", "changed",
                                                      ("deadline", "5 working days", "7 working days"))]
    with pytest.raises(NotAllowed):
        compare_draft(engine, actor(engine, "worker1"), draft["id"])


# --- the pure comparison: the cases the shipped set does not show -----------------------------------------------

def test_files_layout_broken_files_timers_defaults_rules_and_options(engine):
    old = shipped(engine)
    new = dict(old)
    bpmn = old["case_management.bpmn"]
    # layout only: a shape moved is no change of the process
    layout_only = dict(old, **{"case_management.bpmn": bpmn.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1)})
    assert layout_only["case_management.bpmn"] != bpmn
    moved = compare(old, layout_only)
    assert moved["elements"] == [] and moved["files"]["formatting_only"] == ["case_management.bpmn"]
    assert grouped(moved) == [("files", [{"file": "case_management.bpmn", "change": "formatting_only"}])]

    bpmn = _sub(bpmn, '"P90D"', '"P60D"')  # the follow-up timer
    bpmn = _sub(bpmn, 'id="Gateway_follow_up" name="Follow-up check?" default="Flow_follow_up_no"',
                'id="Gateway_follow_up" name="Follow-up check?"')  # no default flow any more
    bpmn = _sub(bpmn, "<bpmn:script>urgent = bool(immediate_danger or violence or child_at_risk_flag)</bpmn:script>",
                "<bpmn:script>urgent = bool(immediate_danger or violence)</bpmn:script>")
    new["case_management.bpmn"] = bpmn
    dmn = old["risk_level.dmn"]
    start, end = dmn.index('<rule id="Rule_urgent_high">'), dmn.index("</rule>") + len("</rule>")
    new["risk_level.dmn"] = dmn[:start] + dmn[end:]  # a rule removed
    form = json.loads(old["plan_approval.form.json"])
    decision = next(c for c in form["components"] if c.get("key") == "decision")
    decision["values"].append({"label": "Rejected", "value": "rejected"})
    decision["validate"] = {}
    form["components"] = [c for c in form["components"] if c.get("key") != "comment"]
    new["plan_approval.form.json"] = json.dumps(form)
    new["extra.form.json"] = "{ not json"
    del new["urgent_response.i18n.json"]

    result = compare(old, new)
    assert result["files"] == {"added": ["extra.form.json"], "removed": ["urgent_response.i18n.json"],
                               "changed": ["case_management.bpmn", "plan_approval.form.json", "risk_level.dmn"],
                               "formatting_only": []}
    assert result["unreadable"] == [{"file": "extra.form.json", "side": "new",
                                     "error": "invalid JSON: Expecting property name enclosed in double quotes"}]
    assert [(e["id"], e["changes"]) for e in result["elements"]] == [
        ("Flow_follow_up_no", [{"field": "default", "before": True, "after": None}]),
        ("Timer_follow_up", [{"field": "timer", "before": 'timeDuration "P90D"', "after": 'timeDuration "P60D"'}]),
        ("evaluate_urgency", [{"field": "script", "before": "urgent = bool(immediate_danger or violence or "
                                                            "child_at_risk_flag)",
                               "after": "urgent = bool(immediate_danger or violence)"}])]
    [rules] = [d["rules"] for d in result["decisions"]]
    assert [(r["rule"], r["change"], r["after"]) for r in rules] == [("Rule_urgent_high", "removed", None)]
    assert rules[0]["before"]["when"] == [["urgent", "True"], ["risk_factor_count", ""], ["needs_count", ""]]
    [form_change] = result["forms"]
    assert [(f["field"], f["change"], f["changes"]) for f in form_change["fields"]] == [
        ("decision", "changed", [
            {"field": "required", "before": True, "after": None},
            {"field": "options", "before": ["approved (Approved)", "returned (Returned for rework)"],
             "after": ["approved (Approved)", "returned (Returned for rework)", "rejected (Rejected)"]}]),
        ("comment", "removed", [
            {"field": "type", "before": "textarea", "after": None},
            {"field": "label", "before": "Comment", "after": None},
            {"field": "description", "before": "Required when returned: say what must be corrected.", "after": None},
            {"field": "validation", "before": "maxLength=4000", "after": None},
            {"field": "properties", "before": "requiredWhen=decision=returned", "after": None}])]
    [gone] = result["translations"]
    assert gone["file"] == "urgent_response.i18n.json" and gone["change"] == "removed"
    assert {k["change"] for lang in gone["languages"] for k in lang["keys"]} == {"removed"}

    # a file broken on one side is not compared at all (its process is not shown as removed)
    broken = compare(old, dict(old, **{"case_management.bpmn": "<bpmn:definitions"}))
    assert broken["elements"] == [] and [u["file"] for u in broken["unreadable"]] == ["case_management.bpmn"]
    assert broken["files"]["formatting_only"] == []


# --- the API and the pages, over HTTP ---------------------------------------------------------------------------

def test_the_api_compares_versions_and_drafts(engine, version_2, anon):
    methodologist = anon.login("methodologist1")
    status, body = methodologist.get("/definitions/compare?from=1&to=2")
    assert status == 200 and body["changes"] == expected_changes(version_2)
    assert (body["from"]["number"], body["to"]["number"]) == (1, 2)
    assert methodologist.get("/definitions/compare")[1]["changes"] == body["changes"]
    status, same = methodologist.get("/definitions/compare?from=2&to=2")
    assert status == 200 and same["changes"]["same"] is True and same["changes"]["elements"] == []
    for query, expected in (("from=0&to=2", 422), ("from=abc", 422), ("to=99", 404), ("from=1&to=99999999999", 422)):
        status, error = methodologist.get(f"/definitions/compare?{query}")
        assert status == expected, (query, error)

    draft = methodologist.post("/drafts", {"name": "Back to five days"})[1]
    assert draft["based_on_version"] == 2
    status, changes = methodologist.get(f"/drafts/{draft['id']}/changes")
    assert status == 200 and changes["from"]["number"] == 2 and changes["changes"]["same"] is True
    bpmn = draft["files"]["case_management.bpmn"]
    methodologist.put(f"/drafts/{draft['id']}/files/case_management.bpmn", {
        "content": bpmn.replace('value="7 working days"', 'value="5 working days"', 1),
        "row_version": draft["row_version"]})
    changes = methodologist.get(f"/drafts/{draft['id']}/changes")[1]["changes"]
    assert [(e["id"], e["changes"]) for e in changes["elements"]] == [
        ("home_visit_assessment", [{"field": "deadline", "before": "7 working days", "after": "5 working days"}])]
    assert methodologist.get("/drafts/999999/changes")[0] == 404

    for username in ("worker1", "supervisor1", "head1", "admin1"):
        other = anon.login(username)
        assert other.get("/definitions/compare?from=1&to=2")[0] == 403
        assert other.get(f"/drafts/{draft['id']}/changes")[0] == 403
    assert anon.get("/definitions/compare?from=1&to=2")[0] == 401

    paths = anon.get("/openapi.json")[1]["paths"]
    assert {p["name"] for p in paths["/definitions/compare"]["get"]["parameters"]} >= {"from", "to"}
    assert "get" in paths["/drafts/{draft_id}/changes"]


def test_the_pages_show_what_changed_without_javascript(engine, version_2, server):
    client = WebClient(server.url)
    home = client.login("methodologist1", language="en")
    picker = home.css("#compare-form")[0]
    assert picker.get("method") == "get" and home.css("label[for=compare-from]") and home.css("label[for=compare-to]")
    assert home.form("#compare-form") == {"from": "1", "to": "2"}

    page = client.get("/workbench/compare?from=1&to=2")
    assert page.status == 200 and page.css("h2#changes")[0].text_content() == "Version 1 → version 2"
    assert page.form("#compare-form") == {"from": "1", "to": "2"}
    assert [s.get("id") for s in page.css("section.change-group")] == [
        "changes-tasks", "changes-flows", "changes-deadlines", "changes-decisions", "changes-forms",
        "changes-translations"]
    [deadline] = page.texts('#changes-deadlines li[data-element="home_visit_assessment"]')
    assert "Deadline: 5 working days → 7 working days" in deadline
    [renamed] = page.texts('#changes-tasks li[data-element="follow_up_visit"]')
    assert "Title: Follow-up visit → Follow-up home visit" in renamed
    [added] = page.texts('#changes-tasks li[data-element="prepare_follow_up"]')
    assert "added" in added and "Role (lane): social_worker" in added
    [condition] = page.texts('#changes-flows li[data-element="Flow_closure_high_risk"]')
    assert f"Condition: {HIGH_RISK} → {WIDER_RISK}" in condition
    [rule] = page.texts('#changes-decisions li[data-rule="Rule_high"]')
    assert "monitoring_interval_days = 14" in rule and "monitoring_interval_days = 10" in rule
    [label] = page.texts('#changes-forms li[data-field="comment"]')
    assert "Label: Comment → Comment for the worker" in label
    [new_field] = page.texts('#changes-forms li[data-field="plan_review_date"]')
    assert "added" in new_field and "Required: yes" in new_field
    assert "plan_approval.i18n.json" in page.texts("#changes-translations li")[0]

    same = client.get("/workbench/compare?from=2&to=2")
    assert same.status == 200 and same.css("#no-changes") and not same.css("section.change-group")
    missing = client.get("/workbench/compare?from=1&to=99")
    assert missing.status == 404 and missing.css("p.flash.error") and missing.css("#compare-form")
    assert client.get("/workbench/compare?from=x").status == 422
    assert client.get("/workbench/compare").form("#compare-form") == {"from": "1", "to": "2"}

    # the draft page says what the draft changed since its version
    start = client.post("/workbench/drafts", {"csrf_token": home.csrf(), "name": "Nothing yet"})
    assert start.css("h2#what-changed") and start.css("#no-changes")
    draft_url = start.url.replace(server.url, "")
    file_page = client.get(f"{draft_url}/files/case_management.bpmn")
    form = file_page.form("#file-form")
    form["content"] = form["content"].replace('value="7 working days"', 'value="6 working days"', 1)
    client.post(f"{draft_url}/files/case_management.bpmn", form)
    overview = client.get(draft_url)
    [item] = overview.texts('#changes-deadlines li[data-element="home_visit_assessment"]')
    assert "Deadline: 7 working days → 6 working days" in item

    for username in ("worker1", "supervisor1", "admin1"):
        other = WebClient(server.url)
        other.login(username, language="en")
        assert other.get("/workbench/compare?from=1&to=2").status == 403
