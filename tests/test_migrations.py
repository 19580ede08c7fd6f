"""Moving running cases to a newer version: dry run, apply to the safe ones in batches, revert."""
from __future__ import annotations

import dataclasses

import time

import pytest
from sqlalchemy import func, select

from engine.db.models import Case, Task
from engine.errors import InvalidInput, NotAllowed
from engine.process.definitions import read_definition_files
from engine.services import definitions, migrations
from engine.services.demo import actor as demo_actor
from tests.helpers import complete_step, open_case, open_tasks
from tests.sample_answers import assessment, referral

ASSESSMENT = '<spiffworkflow:property name="deadline" value="5 working days" />'


def actor(engine, username):
    """Demo users read Uzbek by default; these tests read the reasons in English."""
    return dataclasses.replace(demo_actor(engine, username), language="en")


def shipped(engine) -> dict:
    return read_definition_files(engine.settings.workflows_dir, engine.settings.forms_dir)


def publish_variant(engine, note, *replacements) -> int:
    files = shipped(engine)
    bpmn = files["case_management.bpmn"]
    for old, new in replacements:
        assert old in bpmn, old
        bpmn = bpmn.replace(old, new)
    version, created = definitions.publish(engine, {**files, "case_management.bpmn": bpmn}, note=note)
    assert created
    return version.version


def snapshot(engine, case_id):
    with engine.db.read() as session:
        case = session.get(Case, case_id)
        tasks = [(t.id, t.bpmn_id, t.assignee_id, t.due_at, t.draft, t.state) for t in session.scalars(
            select(Task).where(Task.case_id == case_id).order_by(Task.id))]
        return case.definition_version_id, case.row_version, tasks


def test_a_safe_case_moves_with_its_tasks_and_an_unsafe_one_stays(engine):
    at_registration = open_case(engine)["id"]
    at_assessment = open_case(engine)["id"]
    complete_step(engine, at_assessment, "register_referral", referral())
    methodologist = actor(engine, "methodologist1")
    # version 2 renames the assessment task's id: a case waiting in it cannot move; one before it can
    v2 = publish_variant(engine, "renamed", ('id="home_visit_assessment"', 'id="home_visit_and_assessment"'),
                         ('sourceRef="home_visit_assessment"', 'sourceRef="home_visit_and_assessment"'),
                         ('targetRef="home_visit_assessment"', 'targetRef="home_visit_and_assessment"'),
                         ('bpmnElement="home_visit_assessment"', 'bpmnElement="home_visit_and_assessment"'),
                         ("<bpmn:flowNodeRef>home_visit_assessment<", "<bpmn:flowNodeRef>home_visit_and_assessment<"))
    before = {cid: snapshot(engine, cid) for cid in (at_registration, at_assessment)}

    report = migrations.dry_run(engine, methodologist, {"from": 1, "to": v2})
    verdicts = {row["case_id"]: row for row in report["cases"]}
    assert verdicts[at_registration]["safe"] is True
    assert verdicts[at_assessment]["safe"] is False
    assert verdicts[at_assessment]["reasons"] == [
        "the open task 'Home visit and needs assessment' does not exist in version 2 "
        "(it became 'home_visit_and_assessment')"]
    assert {cid: snapshot(engine, cid) for cid in before} == before  # a dry run changes nothing

    result = migrations.apply(engine, methodologist, {"from": 1, "to": v2, "note": "rename"})
    assert (result["safe"], result["unsafe"]) == (1, 1)
    moved_version, _, moved_tasks = snapshot(engine, at_registration)
    assert moved_version != before[at_registration][0]
    assert [(t[0], t[2], t[3]) for t in moved_tasks] == [(t[0], t[2], t[3]) for t in before[at_registration][2]]
    assert snapshot(engine, at_assessment) == before[at_assessment]
    # the moved case goes on, on the new version
    complete_step(engine, at_registration, "register_referral", referral())
    assert [t.bpmn_id for t in open_tasks(engine, at_registration)] == ["home_visit_and_assessment"]


def test_bad_requests_and_roles(engine):
    with pytest.raises(NotAllowed):
        migrations.dry_run(engine, actor(engine, "supervisor1"), {"from": 1, "to": 2})
    methodologist = actor(engine, "methodologist1")
    for payload in ({"from": 1}, {"from": 1, "to": 1}, {"from": 2, "to": 1}, {"from": 1, "to": 99},
                    {"from": "1", "to": 2}, {"from": True, "to": 2}):
        with pytest.raises(InvalidInput):
            migrations.dry_run(engine, methodologist, payload)


def test_a_thousand_cases_move_and_a_migration_is_reverted(sqlite_engine, clock):
    engine = sqlite_engine
    started = time.perf_counter()
    cases = [open_case(engine)["id"] for _ in range(1000)]
    for case_id in cases[::10]:  # a hundred are further on, in the assessment; a few with a draft
        complete_step(engine, case_id, "register_referral", referral())
    with engine.db.write() as session:
        for task in session.scalars(select(Task).where(Task.bpmn_id == "home_visit_assessment").limit(10)):
            task.draft = {"monthly_income": "1200000"}
    opened = time.perf_counter() - started
    v2 = publish_variant(engine, "assessment 7 days", (ASSESSMENT, ASSESSMENT.replace("5 working", "7 working")))
    before = {cid: snapshot(engine, cid) for cid in cases}
    methodologist = actor(engine, "methodologist1")

    dry = migrations.dry_run(engine, methodologist, {"from": 1, "to": v2})
    assert (dry["safe"], dry["unsafe"]) == (1000, 0)
    assert sum(1 for row in dry["cases"] if row["changed_open_tasks"] == ["home_visit_assessment"]) == 100

    applied = migrations.apply(engine, methodologist, {"from": 1, "to": v2})
    assert applied["safe"] == 1000
    with engine.db.read() as session:
        on_v2 = session.scalar(select(func.count()).select_from(Case).where(Case.definition_version_id != before[
            cases[0]][0]))
    assert on_v2 == 1000
    for cid in cases:  # same tasks, assignees, deadlines and drafts
        assert [(t[0], t[2], t[3], t[4]) for t in snapshot(engine, cid)[2]] == \
            [(t[0], t[2], t[3], t[4]) for t in before[cid][2]]
    # a case that moves on after the migration keeps its progress when the migration is reverted
    complete_step(engine, cases[1], "register_referral", referral())
    reverted = migrations.revert(engine, methodologist, applied["migration_id"])
    assert len(reverted["reverted"]) == 999 and reverted["kept"] == [
        {"case_id": cases[1], "reason": "the case has changed since it moved"}]
    assert snapshot(engine, cases[0])[0] == before[cases[0]][0]
    # the reverted cases are whole: the next step on version 1 gives the old deadline
    complete_step(engine, cases[2], "register_referral", referral())
    assert open_tasks(engine, cases[2])[0].deadline["amount"] == 5
    complete_step(engine, cases[10], "needs_assessment", assessment())
    print(f"1,000 cases opened in {opened:.1f} s; whole test {time.perf_counter() - started:.1f} s")


def test_moving_cases_from_the_workbench_page(engine, server):
    from tests.web_client import WebClient
    at_registration = open_case(engine)["id"]
    v2 = publish_variant(engine, "assessment 7 days", (ASSESSMENT, ASSESSMENT.replace("5 working", "7 working")))
    client = WebClient(server.url)
    client.login("methodologist1", language="en")
    page = client.get("/workbench/migrations")
    assert page.status == 200 and page.css("label[for=from]") and page.css("label[for=to]")
    dry = client.post("/workbench/migrations/dry-run", {"csrf_token": page.csrf(), "from": "1", "to": str(v2)})
    assert dry.status == 200 and "Can move: 1. Cannot move: 0." in dry.text
    assert snapshot(engine, at_registration)[0] == case_version_id(engine, 1)  # the dry run moved nothing
    moved = client.post("/workbench/migrations", {"csrf_token": page.csrf(), "from": "1", "to": str(v2),
                                                  "note": "seven days"})
    assert "Moved to version 2: 1. Stayed where they were: 0." in moved.text
    assert snapshot(engine, at_registration)[0] == case_version_id(engine, v2)
    listing = client.get("/workbench/migrations")
    revert_action = listing.css("form[action$='/revert']")[0].get("action")
    back = client.post(revert_action, {"csrf_token": listing.csrf()})
    assert back.status == 200 and snapshot(engine, at_registration)[0] == case_version_id(engine, 1)
    assert "reverted" in back.text
    refused = client.post("/workbench/migrations/dry-run", {"csrf_token": page.csrf(), "from": "2", "to": "1"})
    assert refused.status == 422
    worker = WebClient(server.url)
    worker.login("worker1", language="en")
    assert worker.get("/workbench/migrations").status == 403


def case_version_id(engine, number):
    from engine.db.models import DefinitionVersion
    with engine.db.read() as session:
        return session.scalar(select(DefinitionVersion.id).where(DefinitionVersion.version == number))
