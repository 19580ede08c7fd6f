"""Published versions and methodologists' scripts at run time, on SQLite and PostgreSQL.

Cases stay on the version they started on; a script that fails (an error, an endless loop, an unknown name)
leaves the case exactly as it was before the step, and the message names the task and the line.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import func, select

from engine.db.models import AuditEvent, DefinitionVersion, Task
from engine.errors import DefinitionInvalid, ScriptFailed
from engine.process.definitions import read_definition_files
from engine.services import cases, definitions
from engine.settings import Settings
from tests.helpers import actor, audit_count, case_row, complete_step, open_case, open_tasks
from tests.sample_answers import answers, approval, assessment, referral

SHIPPED = read_definition_files(Settings().workflows_dir, Settings().forms_dir)

BPMN_FILE = "case_management.bpmn"
OLD_TITLE = "Home visit and needs assessment"
NEW_TITLE = "Home visit (assessment of needs)"
COUNT_SCRIPT = "risk_factor_count = len(risk_factors or [])\nneeds_count = len(needs or [])"
COUNT_TASK = "The process failed in task 'count_risk_inputs' (Count risk factors and needs)"


def variant(*replacements) -> dict[str, str]:
    """The shipped set with each (old, new) text replaced once in the BPMN file; a renamed task keeps its
    translations under its new name (as a methodologist must do: the lint refuses stale names)."""
    text = SHIPPED[BPMN_FILE]
    texts = SHIPPED.get("case_management.i18n.json")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
        renamed = re.search(r' name="([^"]+)">$', old), re.search(r' name="([^"]+)">$', new)
        if texts and all(renamed):
            texts = texts.replace(f'"{renamed[0].group(1)}"', f'"{renamed[1].group(1)}"')
    changed = {**SHIPPED, BPMN_FILE: text}
    if texts:
        changed["case_management.i18n.json"] = texts
    return changed


def with_count_script(script: str) -> dict[str, str]:
    return variant((COUNT_SCRIPT, script))


def versions(engine) -> dict[int, int]:
    """Open cases per published version number, as GET /definitions reports them."""
    with engine.db.read() as session:
        return {v.version: open_cases for v, open_cases in definitions.list_versions(session)}


def version_of(engine, case_id) -> int:
    with engine.db.read() as session:
        return session.scalar(select(DefinitionVersion.version).where(
            DefinitionVersion.id == case_row(engine, case_id).definition_version_id))


def titles(engine, case_id) -> dict[str, str]:
    return {t.bpmn_id: t.title for t in open_tasks(engine, case_id)}


def snapshot(engine, case_id):
    """Everything a failed step must leave untouched."""
    row = case_row(engine, case_id)
    with engine.db.read() as session:
        task_rows = [(t.id, t.bpmn_id, t.title, t.state, t.role, t.assignee_id, t.completed_at, t.row_version)
                     for t in session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id))]
        audit_total = session.scalar(select(func.count(AuditEvent.id)))
    return {"case": (row.row_version, row.state, row.stage, row.status, row.risk_level, row.updated_at,
                     row.next_timer_at, row.definition_version_id),
            "open_tasks": [(t.id, t.bpmn_id, t.state, t.assignee_id) for t in open_tasks(engine, case_id)],
            "tasks": task_rows, "audit": audit_count(engine, case_id), "audit_total": audit_total}


def case_at_needs_assessment(engine, files) -> int:
    """Publish ``files``, open a case on them and register the referral: the needs assessment is open."""
    version, created = definitions.publish(engine, files)
    assert created
    case_id = open_case(engine)["id"]
    assert version_of(engine, case_id) == version.version
    complete_step(engine, case_id, "register_referral", referral())
    assert [t.bpmn_id for t in open_tasks(engine, case_id)] == ["home_visit_assessment"]
    return case_id


# --- publishing ------------------------------------------------------------------------------------------------

def test_publishing_the_same_content_twice_returns_the_same_version(engine):
    audit_before = audit_count(engine)
    shipped, created = definitions.publish_shipped(engine)  # the template published it already
    assert (shipped.version, created) == (1, False)
    again, created = definitions.publish(engine, dict(SHIPPED))
    assert (again.id, again.version, created) == (shipped.id, 1, False)
    assert audit_count(engine) == audit_before  # nothing recorded for an unchanged set

    changed = variant(('"P90D"', '"P60D"'))
    second, created = definitions.publish(engine, changed, note="follow-up after 60 days")
    assert (second.version, created) == (2, True)
    assert second.content_hash != shipped.content_hash
    assert audit_count(engine) == audit_before + 1
    same, created = definitions.publish(engine, dict(changed))
    assert (same.id, same.version, created) == (second.id, 2, False)
    with engine.db.read() as session:
        assert definitions.latest(session).version == 2
        assert session.scalar(select(func.count(DefinitionVersion.id))) == 2
        published = session.scalars(select(AuditEvent).where(AuditEvent.action == "definition.published")
                                    .order_by(AuditEvent.id)).all()[-1].details
    assert published["version"] == 2 and published["note"] == "follow-up after 60 days"
    assert versions(engine) == {1: 0, 2: 0}


def test_publishing_an_invalid_set_stores_nothing(engine):
    broken = variant(('"P90D"', "P90D"))
    with pytest.raises(DefinitionInvalid) as caught:
        definitions.publish(engine, broken)
    assert [p.message for p in caught.value.problems] == ["the timer expression P90D is not quoted"]
    assert versions(engine) == {1: 0}


# --- versioning ------------------------------------------------------------------------------------------------

V2 = (
    (f'<bpmn:userTask id="home_visit_assessment" name="{OLD_TITLE}">',
     f'<bpmn:userTask id="home_visit_assessment" name="{NEW_TITLE}">'),
    # after the monitoring visit, v2 closes the case when the worker says "continue" as well
    ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">outcome == "close"</bpmn:conditionExpression>',
     '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">outcome in ("close", "continue")'
     '</bpmn:conditionExpression>'),
)


def test_cases_stay_on_the_version_they_started_on(engine):
    old = open_case(engine)
    old_id = old["id"]
    assert old["definition"] == {"process_id": "case_management", "version": 1}
    assert versions(engine) == {1: 1}

    v2, created = definitions.publish(engine, variant(*V2), note="renamed the home visit")
    assert (v2.version, created) == (2, True)
    assert versions(engine) == {1: 1, 2: 0}

    new = open_case(engine, name="Karim Yoqubov")
    new_id = new["id"]
    assert new["definition"] == {"process_id": "case_management", "version": 2}
    assert versions(engine) == {1: 1, 2: 1}

    # the title comes from the case's own version, also for tasks opened after v2 was published
    complete_step(engine, old_id, "register_referral", referral())
    complete_step(engine, new_id, "register_referral", referral())
    assert titles(engine, old_id) == {"home_visit_assessment": OLD_TITLE}
    assert titles(engine, new_id) == {"home_visit_assessment": NEW_TITLE}
    supervisor = dataclasses.replace(actor(engine, "supervisor1"), language="en")
    assert [t["title"] for t in cases.get_case(engine, supervisor, new_id)["open_tasks"]] == [NEW_TITLE]
    in_uzbek = dataclasses.replace(supervisor, language="uz")  # the translation moved with the renamed task
    assert [t["title"] for t in cases.get_case(engine, in_uzbek, new_id)["open_tasks"]] == [
        "Xonadonga tashrif va ehtiyojlarni baholash"]

    for case_id in (old_id, new_id):
        for form_key, data in [("needs_assessment", assessment()),
                               ("recognition_of_need", approval("returned", "Income is missing.")),
                               ("needs_assessment", assessment()), ("recognition_of_need", approval("approved")),
                               ("service_plan", answers("service_plan")), ("plan_approval", approval("approved")),
                               ("service_delivery", answers("service_delivery")),
                               ("monitoring_visit", answers("monitoring_visit", outcome="continue"))]:
            complete_step(engine, case_id, form_key, data)

    # v1: "continue" keeps monitoring; v2: the changed gateway sends it to closure
    assert [t.form_key for t in open_tasks(engine, old_id)] == ["monitoring_visit"]
    assert case_row(engine, old_id).stage == "monitoring"
    assert [t.form_key for t in open_tasks(engine, new_id)] == ["closure_proposal"]
    assert case_row(engine, new_id).stage == "closure"

    for form_key, data in [("monitoring_visit", answers("monitoring_visit", outcome="close")),
                           ("closure_proposal", answers("closure_proposal")),
                           ("closure_approval", approval("approved"))]:
        complete_step(engine, old_id, form_key, data)
    old_row = case_row(engine, old_id)
    assert (old_row.status, old_row.stage, version_of(engine, old_id)) == ("closed", "closure", 1)
    assert versions(engine) == {1: 0, 2: 1}

    timeline = cases.get_case(engine, supervisor, old_id)["timeline"]
    visits = [e["details"]["title"] for e in timeline
              if e["action"] == "task.completed" and e["details"]["bpmn_id"] == "home_visit_assessment"]
    assert visits == [OLD_TITLE, OLD_TITLE]

    for form_key, data in [("closure_proposal", answers("closure_proposal")),
                           ("closure_approval", approval("approved"))]:
        complete_step(engine, new_id, form_key, data)
    assert (case_row(engine, new_id).status, version_of(engine, new_id)) == ("closed", 2)
    assert versions(engine) == {1: 0, 2: 0}


# --- scripts that fail roll the step back ----------------------------------------------------------------------

def test_failing_script_rolls_the_whole_step_back(engine, clock):
    case_id = case_at_needs_assessment(
        engine, with_count_script("risk_factor_count = len(risk_factors or [])\nneeds_count = len(needs) / 0"))
    clock.advance(hours=1)
    before = snapshot(engine, case_id)
    assert before["case"][2] == "assessment"

    with pytest.raises(ScriptFailed) as caught:
        complete_step(engine, case_id, "needs_assessment", assessment())
    err = caught.value
    assert err.message == (f"{COUNT_TASK}, line 2: needs_count = len(needs) / 0: "
                           "ZeroDivisionError: division by zero")
    assert "count_risk_inputs" in err.message and "line 2" in err.message
    assert err.details == {"task": "count_risk_inputs", "line": 2, "cause": "ZeroDivisionError"}
    assert err.code == "script_failed"
    assert snapshot(engine, case_id) == before

    # the same task can be tried again and fails the same way: nothing was half-applied
    with pytest.raises(ScriptFailed):
        complete_step(engine, case_id, "needs_assessment", assessment())
    assert snapshot(engine, case_id) == before


def test_endless_loop_hits_the_budget_and_leaves_the_case_unchanged(engine, clock):
    case_id = case_at_needs_assessment(engine, with_count_script("while True: x = 1\nrisk_factor_count = needs_count = 0"))
    clock.advance(hours=1)
    before = snapshot(engine, case_id)

    with pytest.raises(ScriptFailed) as caught:
        complete_step(engine, case_id, "needs_assessment", assessment())
    err = caught.value
    assert err.message == (f"{COUNT_TASK}, line 1: while True: x = 1: the script ran too "
                           "long (more than 200000 steps or 1.5 s)")
    assert "ran too long" in err.message
    assert err.details == {"task": "count_risk_inputs", "line": 1, "cause": "ScriptBudgetExceeded"}
    assert snapshot(engine, case_id) == before


def test_unknown_name_in_a_script_is_named(engine, clock):
    case_id = case_at_needs_assessment(
        engine, with_count_script("risk_factor_count = len(risk_factors or [])\nneeds_count = len(needs_list)"))
    clock.advance(hours=1)
    before = snapshot(engine, case_id)

    with pytest.raises(ScriptFailed) as caught:
        complete_step(engine, case_id, "needs_assessment", assessment())
    err = caught.value
    assert err.message.startswith(f"{COUNT_TASK}, line 2: needs_count = len(needs_list): "
                                  "NameError: name 'needs_list' is not defined Did you mean one of '[")
    assert "'needs'" in err.message  # the hint names the case data key the author probably meant
    assert err.details == {"task": "count_risk_inputs", "line": 2, "cause": "NameError"}
    assert snapshot(engine, case_id) == before


def test_import_is_refused_at_publish(engine):
    """``import os`` never reaches a case: publishing the set fails and nothing is stored."""
    from engine.errors import DefinitionInvalid
    from engine.services.definitions import list_versions
    with engine.db.read() as session:
        before = len(list_versions(session))
    with pytest.raises(DefinitionInvalid) as caught:
        definitions.publish(engine, with_count_script(f"import os\n{COUNT_SCRIPT}"))
    assert "Line 1: imports are not allowed in scripts" in caught.value.message
    with engine.db.read() as session:
        assert len(list_versions(session)) == before


def test_private_attribute_through_getattr_is_refused_when_the_script_runs(engine):
    case_id = case_at_needs_assessment(
        engine, with_count_script(f'{COUNT_SCRIPT}\nkind = getattr(needs, "__class__")'))
    with pytest.raises(ScriptFailed) as caught:
        complete_step(engine, case_id, "needs_assessment", assessment())
    assert caught.value.message.startswith(f"{COUNT_TASK}, line 3: kind = getattr(needs, \"__class__\"): "
                                    "NameError: name 'getattr' is not defined")


def test_failing_gateway_condition_rolls_back(engine, clock):
    """A condition that raises (here: a name only a later form sets, so the lint lets it through) is reported on
    the gateway's step."""
    files = variant(('decision == "approved" and in_need == "no"',
                     'decision == "approved" and in_need == follow_up_check'))
    definitions.publish(engine, files)
    case_id = open_case(engine)["id"]
    complete_step(engine, case_id, "register_referral", referral())
    complete_step(engine, case_id, "needs_assessment", assessment())
    clock.advance(hours=1)
    before = snapshot(engine, case_id)
    with pytest.raises(ScriptFailed) as caught:
        complete_step(engine, case_id, "recognition_of_need", approval("approved"))
    assert caught.value.message.startswith(
        "The process failed in task 'Gateway_recognition' (Need recognised?): "
        "Error evaluating expression 'decision == \"approved\" and in_need == follow_up_check' "
        "(NameError: name 'follow_up_check' is not defined)")
    assert caught.value.details == {"task": "Gateway_recognition", "line": None, "cause": "NameError"}
    assert snapshot(engine, case_id) == before
