"""Drafts of the process: start from the published version, save files (checked on every save), publish a new
version that new cases start on, while running cases keep theirs."""
from __future__ import annotations

from tests.helpers import case_row, complete_step, open_case, open_tasks
from tests.sample_answers import referral

ASSESSMENT_DEADLINE = '<spiffworkflow:property name="deadline" value="5 working days" />'


def test_a_methodologist_changes_a_deadline_and_publishes(engine, anon):
    before_id = open_case(engine)["id"]
    complete_step(engine, before_id, "register_referral", referral())
    methodologist = anon.login("methodologist1")

    status, draft = methodologist.post("/drafts", {"name": "Assessment within 7 working days"})
    assert status == 201 and draft["based_on_version"] == 1 and draft["problems"] == []
    bpmn = draft["files"]["case_management.bpmn"]
    assert ASSESSMENT_DEADLINE in bpmn
    changed = bpmn.replace(ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace("5 working", "7 working"), 1)
    status, saved = methodologist.put(f"/drafts/{draft['id']}/files/case_management.bpmn",
                                      {"content": changed, "row_version": draft["row_version"]})
    assert status == 200 and saved["problems"] == [] and saved["row_version"] == draft["row_version"] + 1
    # a save based on the old row_version is refused: nobody overwrites another's change
    status, body = methodologist.put(f"/drafts/{draft['id']}/files/case_management.bpmn",
                                     {"content": bpmn, "row_version": draft["row_version"]})
    assert status == 409

    status, result = methodologist.post(f"/drafts/{draft['id']}/publish", {"note": "Assessment: 7 working days"})
    assert status == 201 and result["version"]["number"] == 2
    assert methodologist.get(f"/drafts/{draft['id']}")[1]["status"] == "published"

    after_id = open_case(engine)["id"]
    complete_step(engine, after_id, "register_referral", referral())
    old_task, new_task = open_tasks(engine, before_id)[0], open_tasks(engine, after_id)[0]
    assert (old_task.bpmn_id, old_task.deadline["amount"]) == ("home_visit_assessment", 5)
    assert (new_task.bpmn_id, new_task.deadline["amount"]) == ("home_visit_assessment", 7)
    assert case_row(engine, before_id).definition_version_id != case_row(engine, after_id).definition_version_id


def test_every_save_lists_problems_and_publishing_waits_for_none(engine, anon):
    methodologist = anon.login("methodologist1")
    draft = methodologist.post("/drafts", {"name": "Broken on purpose"})[1]
    bpmn = draft["files"]["case_management.bpmn"]
    broken = bpmn.replace(ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace("5 working days", "five days"), 1)
    status, saved = methodologist.put(f"/drafts/{draft['id']}/files/case_management.bpmn",
                                      {"content": broken, "row_version": draft["row_version"]})
    assert status == 200
    [problem] = saved["problems"]
    assert problem["file"] == "case_management.bpmn" and problem["element_id"] == "home_visit_assessment"
    assert "five days" in problem["message"] and problem["hint"]
    status, body = methodologist.post(f"/drafts/{draft['id']}/publish", {"note": "try anyway"})
    assert status == 422 and body["error"] == "definition_invalid"
    assert [v["version"] for v in methodologist.get("/definitions")[1]["items"]] == [1]  # nothing published

    not_xml = "<bpmn:definitions"
    saved = methodologist.put(f"/drafts/{draft['id']}/files/case_management.bpmn",
                              {"content": not_xml, "row_version": saved["row_version"]})[1]
    assert saved["problems"][0]["rule"] == "xml" and saved["problems"][0]["line"] == 1


def test_bad_requests_change_nothing(engine, anon):
    methodologist = anon.login("methodologist1")
    draft = methodologist.post("/drafts", {"name": "Names"})[1]
    path = f"/drafts/{draft['id']}/files"
    for name, payload in [("evil.exe", {"content": "x", "row_version": draft["row_version"]}),
                          ("..bpmn", {"content": "x", "row_version": draft["row_version"]}),
                          ("ok.bpmn", {"content": "", "row_version": draft["row_version"]}),
                          ("ok.bpmn", {"content": "<x/>"}),
                          ("ok.bpmn", {"content": "<x/>", "row_version": True})]:
        status, body = methodologist.put(f"{path}/{name}", payload)
        assert status == 422 and body["fields"], (name, body)
    assert methodologist.get(f"/drafts/{draft['id']}")[1]["row_version"] == draft["row_version"]
    assert methodologist.post("/drafts", {"name": ""})[0] == 422
    assert methodologist.post("/drafts", {"name": "x", "from_version": 99})[0] == 422
    assert methodologist.get("/drafts/999999")[0] == 404
    assert methodologist.post(f"/drafts/{draft['id']}/publish", {"note": ""})[0] == 422
    # other roles have no workbench
    for username in ("worker1", "supervisor1", "admin1"):
        assert anon.login(username).get("/drafts")[0] == 403
        assert anon.login(username).post("/drafts", {"name": "x"})[0] == 403


def test_adding_and_removing_a_file_and_discarding(engine, anon):
    methodologist = anon.login("methodologist1")
    draft = methodologist.post("/drafts", {"name": "Scratch"})[1]
    saved = methodologist.put(f"/drafts/{draft['id']}/files/extra.dmn",
                              {"content": "<not-dmn/>", "row_version": draft["row_version"]})[1]
    assert "extra.dmn" in saved["file_names"] and any(p["file"] == "extra.dmn" for p in saved["problems"])
    status, removed = methodologist.delete(f"/drafts/{draft['id']}/files/extra.dmn?row_version={saved['row_version']}")
    assert status == 200 and "extra.dmn" not in removed["file_names"] and removed["problems"] == []
    assert methodologist.delete(f"/drafts/{draft['id']}")[0] == 204
    assert [d["id"] for d in methodologist.get("/drafts")[1]["items"]] == []
    status, body = methodologist.post(f"/drafts/{draft['id']}/publish", {"note": "too late"})
    assert status == 409


# --- the workbench pages, without JavaScript ------------------------------------------------------------------

def test_the_workbench_in_the_browser_without_javascript(engine, server):
    from tests.web_client import WebClient
    client = WebClient(server.url)
    home = client.login("methodologist1", language="en")
    assert home.url.endswith("/workbench") and home.css("h1")[0].text_content() == "Workbench"
    start = client.post("/workbench/drafts", {"csrf_token": home.csrf(), "name": "Seven days"})
    assert start.status == 200 and "/workbench/drafts/" in start.url
    draft_url = start.url.replace(server.url, "")
    assert "case_management.bpmn" in start.texts("ul.files li")
    assert start.css("#problems + p.success")  # a copy of the published version has no problem

    page = client.get(f"{draft_url}/files/case_management.bpmn")
    form = page.form("#file-form")
    assert ASSESSMENT_DEADLINE in form["content"] and page.css("label[for=content]")
    broken = dict(form, content=form["content"].replace(ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace(
        "5 working days", "soon"), 1))
    saved = client.post(f"{draft_url}/files/case_management.bpmn", broken)
    assert saved.status == 200 and "Problems to fix: 1" in saved.text
    assert any("soon" in item for item in saved.texts("#file-problems li"))
    # a stale save is refused and keeps the author's text on the page
    stale = client.post(f"{draft_url}/files/case_management.bpmn", form)
    assert stale.status == 409 and "Someone saved this draft meanwhile" in stale.text
    fixed = saved.form("#file-form")
    fixed["content"] = fixed["content"].replace('value="soon"', 'value="7 working days"')
    assert "The set has no problems" in client.post(f"{draft_url}/files/case_management.bpmn", fixed).text

    overview = client.get(draft_url)
    published = client.post(f"{draft_url}/publish", {"csrf_token": overview.csrf(), "note": "Seven days"})
    assert published.url.endswith("/workbench") and "Version 2 is published" in published.text
    assert published.texts("table.list tbody tr td")[0] == "2"

    worker = WebClient(server.url)
    worker.login("worker1", language="en")
    assert worker.get("/workbench").status == 403
