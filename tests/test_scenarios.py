"""Trying a draft: scenarios run in a sandbox (path, deadlines, escalations), are kept with the draft, run again on
every save and check, and must pass before the draft is published. The real database is never touched."""
from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select

from engine.db.models import Case, Task, Timer
from engine.errors import Conflict, InvalidInput, NotAllowed, ScenarioFailed
from engine.services import drafts, scenarios
from engine.services.demo import actor
from tests.sample_answers import answers, approval, assessment, closure, referral

ASSESSMENT_DEADLINE = '<spiffworkflow:property name="deadline" value="5 working days" />'
PLAIN = ["register_referral", "needs_assessment", "recognition_of_need", "service_plan", "plan_approval",
         "service_delivery", "monitoring_visit", "closure_proposal", "closure_approval"]


def methodologist(engine, language="en"):
    return dataclasses.replace(actor(engine, "methodologist1"), language=language)


def new_draft(engine, name="Try it"):
    return drafts.start_draft(engine, methodologist(engine), {"name": name})


def late_assessment(name="Late assessment", after="8 working days"):
    return {"name": name, "start": {"date": "2026-03-02"},
            "steps": [{"task": "register_referral", "answers": referral()},
                      {"task": "needs_assessment", "answers": assessment(), "after": after},
                      {"task": "recognition_of_need", "answers": approval("approved")}],
            "expect": {"status": "open", "stage": "planning"}}


def save(engine, draft, scenario):
    row = drafts.get_draft(engine, methodologist(engine), draft["id"])["row_version"]
    return drafts.save_scenario(engine, methodologist(engine), draft["id"], {"scenario": scenario, "row_version": row})


def counts(engine):
    with engine.db.read() as session:
        return [session.scalar(select(func.count()).select_from(model)) for model in (Case, Task, Timer)]


def test_a_recorded_scenario_walks_the_default_process_to_closure(engine):
    draft = new_draft(engine)
    before = counts(engine)
    result = drafts.record_scenario(engine, methodologist(engine), draft["id"],
                                    {"name": "Plain path", "row_version": draft["row_version"]})
    [tried] = result["scenarios"]
    assert [step["task"] for step in tried["scenario"]["steps"]] == PLAIN
    assert tried["scenario"]["expect"] == {"status": "closed", "stage": "closure"}
    assert tried["passed"] and tried["failure"] is None
    assert [entry["form_key"] for entry in tried["path"]] == PLAIN
    assert tried["end"]["status"] == "closed" and tried["end"]["open"] == []
    assert tried["events"] == []  # every answer at once: nothing falls due
    assert counts(engine) == before  # the sandbox is not the real database
    # and the sandbox's synthetic client never reaches it either
    with engine.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.subject_name == "Sandbox Client")) == 0


def test_time_passing_shows_deadlines_reminders_and_the_escalation_ladder(engine):
    draft = new_draft(engine)
    tried = save(engine, draft, late_assessment())["scenarios"][0]
    assert tried["passed"], tried["failure"]
    register, assess, recognition, plan = tried["path"]
    assert (register["form_key"], register["late"], register["deadline"]) == (
        "register_referral", False, {"unit": "working_days", "amount": 1.0})
    # Monday 2 March 2026, 09:00 in Tashkent; 5 working days (8 March, a holiday, is a Sunday: moved to Monday 9th)
    assert assess["opened_at"] == "2026-03-02T04:00:00+00:00"
    assert assess["deadline"] == {"unit": "working_days", "amount": 5.0}
    assert assess["due_at"] == "2026-03-10T13:00:00+00:00"
    assert assess["late"] is True and assess["completed_at"] == "2026-03-13T13:00:00+00:00"
    assert recognition["late"] is False and plan["state"] == "open" and plan["form_key"] == "service_plan"
    assert [(e["kind"], e["role"], e["rung"]) for e in tried["events"]] == [
        ("reminder", None, None), ("escalation", "supervisor", 1), ("escalation", "center_head", 2)]
    assert tried["events"][1]["at"] == assess["due_at"]
    assert tried["end"] == {"status": "open", "stage": "planning", "at": "2026-03-13T13:00:00+00:00",
                            "open": ["service_plan"]}


def test_scenarios_run_again_when_the_draft_changes(engine):
    draft = new_draft(engine)
    saved = save(engine, draft, late_assessment())
    assert saved["scenarios"][0]["events"]
    bpmn = drafts.get_draft(engine, methodologist(engine), draft["id"])["files"]["case_management.bpmn"]
    ten = bpmn.replace(ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace("5 working", "10 working"), 1)
    changed = drafts.save_file(engine, methodologist(engine), draft["id"], "case_management.bpmn",
                               {"content": ten, "row_version": saved["row_version"]})
    tried = changed["scenarios"][0]
    assert tried["passed"] and tried["events"] == [
        {"kind": "reminder", "at": tried["events"][0]["at"], "task": "Home visit and needs assessment",
         "role": None, "rung": None, "late_working_days": None}]
    assert tried["path"][1]["deadline"]["amount"] == 10.0 and tried["path"][1]["late"] is False
    # a definition with problems cannot be tried: the scenario says so, and it is run again once they are fixed
    broken = ten.replace("10 working days", "ten days", 1)
    changed = drafts.save_file(engine, methodologist(engine), draft["id"], "case_management.bpmn",
                               {"content": broken, "row_version": changed["row_version"]})
    assert changed["problems"] and changed["scenarios"][0]["passed"] is False
    assert changed["scenarios"][0]["failure"] == "The draft has problems: fix them before trying it."
    checked = drafts.check(engine, methodologist(engine), draft["id"])
    assert checked["scenarios"][0]["passed"] is False
    fixed = drafts.save_file(engine, methodologist(engine), draft["id"], "case_management.bpmn",
                             {"content": ten, "row_version": checked["row_version"]})
    assert fixed["scenarios"][0]["passed"]


def test_failures_say_which_step_and_why(engine):
    draft = new_draft(engine)
    wrong_answers = late_assessment("Missing answer")
    del wrong_answers["steps"][1]["answers"]["in_need"]
    not_open = late_assessment("Skipped step")
    del not_open["steps"][1]
    expectation = late_assessment("Expects closure")
    expectation["expect"] = {"status": "closed", "stage": None}
    stage = late_assessment("Expects delivery")
    stage["expect"] = {"status": None, "stage": "delivery"}
    for scenario in (wrong_answers, not_open, expectation, stage):
        save(engine, draft, scenario)
    told = {s["scenario"]["name"]: s["failure"] for s in drafts.get_draft(engine, methodologist(engine),
                                                                          draft["id"])["scenarios"]}
    assert told == {
        "Missing answer": "Step 2 (needs_assessment): some answers are not valid: in_need: This field is required.",
        "Skipped step": 'Step 2: no open task "recognition_of_need" (open: needs_assessment).',
        "Expects closure": "The case ended open; the scenario expects it closed.",
        "Expects delivery": 'The case ended at stage "planning"; the scenario expects "delivery".',
    }
    # the reader's language, not the runner's
    ru = drafts.get_draft(engine, methodologist(engine, "ru"), draft["id"])["scenarios"]
    assert ru[2]["failure"] != told["Expects closure"]


def test_publishing_needs_every_scenario_to_pass(engine):
    draft = new_draft(engine)
    failing = late_assessment("Expects closure")
    failing["expect"]["status"] = "closed"
    saved = save(engine, draft, failing)
    with pytest.raises(ScenarioFailed) as refused:
        drafts.publish(engine, methodologist(engine), draft["id"], {"note": "Try it"})
    assert refused.value.details["failing"] == ["Expects closure"]
    assert drafts.get_draft(engine, methodologist(engine), draft["id"])["status"] == "open"
    drafts.delete_scenario(engine, methodologist(engine), draft["id"], "Expects closure",
                           {"row_version": saved["row_version"]})
    save(engine, draft, late_assessment())
    # the same name replaces the scenario instead of adding another
    kept = save(engine, draft, late_assessment(after="1 working day"))["scenarios"]
    assert len(kept) == 1 and kept[0]["scenario"]["steps"][1]["after"] == "1 working day"
    # nothing changed in the files: publishing refuses for that reason, not for the scenarios
    with pytest.raises(Conflict, match="Nothing changed"):
        drafts.publish(engine, methodologist(engine), draft["id"], {"note": "Try it"})


def test_waiting_for_the_process_timer_of_the_follow_up_visit(engine):
    draft = new_draft(engine)
    follow_up = {"name": "Follow-up after closure", "start": {"date": "2026-03-02"}, "steps": [
        {"task": "register_referral", "answers": referral()}, {"task": "needs_assessment", "answers": assessment()},
        {"task": "recognition_of_need", "answers": approval("approved")},
        {"task": "service_plan", "answers": answers("service_plan")},
        {"task": "plan_approval", "answers": approval("approved")},
        {"task": "service_delivery", "answers": answers("service_delivery")},
        {"task": "monitoring_visit", "answers": answers("monitoring_visit", outcome="close")},
        {"task": "closure_proposal", "answers": closure(follow_up=True)},
        {"task": "closure_approval", "answers": approval("approved")},
        {"task": "follow_up_visit", "answers": answers("follow_up_visit")}],
        "expect": {"status": "closed"}}
    tried = save(engine, draft, follow_up)["scenarios"][0]
    assert tried["passed"], tried["failure"]
    visit = tried["path"][-1]
    assert visit["form_key"] == "follow_up_visit"
    assert visit["opened_at"].startswith("2026-05-31")  # 90 days after closure on 2 March (a P90D timer)


def test_bad_scenarios_are_refused_and_change_nothing(engine):
    draft = new_draft(engine)
    bad = [({"name": "", "steps": [{"task": "x"}]}, "name"),
           ({"name": "No steps", "steps": []}, "steps"),
           ({"name": "Bad after", "steps": [{"task": "register_referral", "after": "soon"}]}, "steps.1.after"),
           ({"name": "Bad answers", "steps": [{"task": "register_referral", "answers": [1]}]}, "steps.1.answers"),
           ({"name": "Bad date", "start": {"date": "2 March"}, "steps": [{"task": "x"}]}, "start.date"),
           ({"name": "Bad calendar", "start": {"calendar": "FR"}, "steps": [{"task": "x"}]}, "start.calendar"),
           ({"name": "Bad status", "steps": [{"task": "x"}], "expect": {"status": "done"}}, "expect.status"),
           ("not an object", "name")]
    for scenario, field in bad:
        with pytest.raises(InvalidInput) as refused:
            save(engine, draft, scenario)
        assert field in refused.value.fields, (scenario, refused.value.fields)
    assert drafts.get_draft(engine, methodologist(engine), draft["id"])["scenarios"] == []
    with pytest.raises(Conflict):
        drafts.save_scenario(engine, methodologist(engine), draft["id"],
                             {"scenario": late_assessment(), "row_version": draft["row_version"] + 5})
    with pytest.raises(NotAllowed):
        drafts.save_scenario(engine, actor(engine, "supervisor1"), draft["id"],
                             {"scenario": late_assessment(), "row_version": draft["row_version"]})


def test_kazakh_calendar_and_the_api(engine, anon):
    client = anon.login("methodologist1")
    status, draft = client.post("/drafts", {"name": "Kazakh calendar"})
    scenario = late_assessment(after=None)
    scenario["start"] = {"date": "2026-03-06", "calendar": "KZ"}  # Friday; 8 March is a holiday in Kazakhstan
    status, saved = client.post(f"/drafts/{draft['id']}/scenarios",
                                {"scenario": scenario, "row_version": draft["row_version"]})
    assert status == 200, saved
    assess = saved["scenarios"][0]["path"][1]
    assert assess["opened_at"] == "2026-03-06T04:00:00+00:00"  # 09:00 in Astana (UTC+5)
    status, body = client.post(f"/drafts/{draft['id']}/scenarios", {"scenario": {"name": "x"},
                                                                    "row_version": saved["row_version"]})
    assert status == 422 and "steps" in body["fields"]
    status, _ = client.delete(f"/drafts/{draft['id']}/scenarios?name=Nope&row_version={saved['row_version']}")
    assert status == 404
    status, gone = client.delete(f"/drafts/{draft['id']}/scenarios?name=Late assessment"
                                 f"&row_version={saved['row_version']}")
    assert status == 200 and gone["scenarios"] == [], gone
    assert "Sandbox Client" not in json.dumps(saved)  # the path and events name tasks and roles, never the client


def test_the_try_section_and_the_replay_page_without_javascript(engine, server):
    from tests.api_client import Client
    from tests.helpers import complete_step, open_case
    from tests.web_client import WebClient
    case_id = open_case(engine)["id"]
    complete_step(engine, case_id, "register_referral", referral())
    client = WebClient(server.url)
    home = client.login("methodologist1", language="en")
    start = client.post("/workbench/drafts", {"csrf_token": home.csrf(), "name": "Tried"})
    draft_url = start.url.replace(server.url, "")
    assert "No scenario yet." in start.text
    recorded = client.post(f"{draft_url}/scenarios/record", start.form("form[action$='/scenarios/record']"))
    assert "Every scenario passes (1)." in recorded.text
    assert recorded.texts("#scenario-1 h3")[0].startswith("Plain path")
    assert recorded.texts("#scenario-1 table.scenario-path tbody tr td")[0] == "Register referral"
    # edit it: the editor holds its JSON; a late assessment now shows the escalations it would fire
    editing = client.get(f"{draft_url}?scenario=1")
    form = editing.form("#scenario-editor")
    scenario = json.loads(form["scenario"])
    scenario["steps"][1]["after"] = "8 working days"
    form["scenario"] = json.dumps(scenario)
    saved = client.post(f"{draft_url}/scenarios", form)
    events = saved.texts("#scenario-1 ul.scenario-events li")
    assert len(events) == 3 and "escalation to Supervisor" in events[1] and "Centre head" in events[2]
    broken = client.post(f"{draft_url}/scenarios", dict(saved.form("#scenario-editor"), scenario="{nope"))
    assert "The scenario is not valid JSON" in broken.text

    replay = client.get(f"{draft_url}/replay?months=3")
    assert replay.status == 200 and "The draft changes no deadline" in replay.text
    assert replay.texts("#replay-table tbody tr td")[:3] == ["Chirchiq shahri", "Identification", "1"]
    assert client.get(f"{draft_url}/replay?months=99").status == 422
    status, body = Client(server.url).login("methodologist1").get(
        f"/drafts/{draft_url.rsplit('/', 1)[1]}/replay?months=3")
    assert status == 200 and body["totals"]["tasks"] == 2
