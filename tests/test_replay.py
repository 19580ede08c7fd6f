"""Replay on history: a draft's (or a version's) deadline rules judged over the last months of tasks, against the
latest version's, as counts per district and stage, with no personal data in the answer."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.services import drafts
from engine.services.demo import CLIENTS, USERS
from engine.services.replay import months_before, replay
from engine.services.scheduler import tick
from tests.conftest import START
from tests.helpers import actor, complete_step, open_case
from tests.sample_answers import answers, approval, assessment, referral

CHIRCHIQ, ZANGIOTA = "Chirchiq shahri", "Zangiota tumani"
ASSESSMENT = '<spiffworkflow:property name="deadline" value="5 working days" />'
REFERRAL = '<spiffworkflow:property name="deadline" value="1 working day" />'
RECOGNITION = ('<spiffworkflow:property name="deadline" value="2 working days" />', '<spiffworkflow:property '
               'name="escalation" value="center_head after 2 working days" />')
MONITORING = '<spiffworkflow:property name="deadline" value="(monitoring_interval_days) calendar days" />'
NAMES = ["Aziza Qosimova", "Botir Xolmatov", "Charos Ahmedova", "Davron Yo'ldoshev", "Eldor Mamatov"]


def _sub(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _draft(engine, change) -> int:
    """A draft of the published version with ``change`` applied to the BPMN text, saved (and so checked)."""
    methodologist = actor(engine, "methodologist1")
    draft = drafts.start_draft(engine, methodologist, {"name": "Replay check"})
    return _save(engine, draft["id"], change(draft["files"]["case_management.bpmn"]), draft["row_version"])


def _save(engine, draft_id, bpmn, row_version) -> int:
    saved = drafts.save_file(engine, actor(engine, "methodologist1"), draft_id, "case_management.bpmn",
                             {"content": bpmn, "row_version": row_version})
    assert saved["problems"] == []
    return draft_id


def _new_rules(bpmn: str) -> str:
    """Assessment within 7 working days (was 5); no deadline on the recognition of need (was 2 working days);
    the referral's deadline an expression (was 1 working day), which old tasks cannot be replayed on."""
    bpmn = _sub(bpmn, ASSESSMENT, ASSESSMENT.replace("5 working", "7 working"))
    start = bpmn.index('<bpmn:userTask id="recognition_of_need"')
    end = bpmn.index("</bpmn:userTask>", start)
    task = bpmn[start:end]
    for line in RECOGNITION:  # the escalation text is also another task's: change this task's only
        task = _sub(task, line, "")
    bpmn = bpmn[:start] + task + bpmn[end:]
    return _sub(bpmn, REFERRAL, REFERRAL.replace("1 working day", "(1 + 1) working days"))


def _case(engine, username, name) -> int:
    case_id = open_case(engine, username, name=name)["id"]
    complete_step(engine, case_id, "register_referral", referral())
    return case_id


def _counts(tasks, missed_current, missed_new, not_replayable=0) -> dict:
    return {"tasks": tasks, "missed_current": missed_current, "missed_new": missed_new,
            "not_replayable": not_replayable}


def _history(engine, clock):
    """Four cases, all registered at once (referrals on time). Times are UTC; Tashkent is UTC+5.

    * one in Zangiota opened 200 days ago, its assessment never done (outside a 6-month window);
    * Chirchiq A: assessment done on the 6th working day (late under 5, on time under 7);
    * Chirchiq B: assessment done next day; the recognition of need then waits, past its 2 working days;
    * Zangiota C: assessment still open on the 6th working day.
    Now is Tue 13 Jan 10:00: A's recognition was opened a moment ago.
    """
    clock.set(START - timedelta(days=200))
    _case(engine, "worker3", NAMES[4])
    clock.set(START)  # Mon 5 Jan 2026 09:00
    a, b = _case(engine, "worker1", NAMES[0]), _case(engine, "worker1", NAMES[1])
    _case(engine, "worker3", NAMES[2])
    clock.advance(days=1)  # Tue 6 Jan
    complete_step(engine, b, "needs_assessment", assessment())
    clock.set(datetime(2026, 1, 13, 10, 0, tzinfo=timezone.utc))  # 5 working days ended Mon 12 Jan 18:00 local
    complete_step(engine, a, "needs_assessment", assessment())
    tick(engine)  # the overdue tasks escalate: escalation tasks are not process tasks and are not counted


def test_a_longer_assessment_deadline_replayed_per_district_and_stage(engine, clock):
    _history(engine, clock)
    draft_id = _draft(engine, _new_rules)

    result = replay(engine, actor(engine, "methodologist1"), draft_id=draft_id)

    assert result["months"] == 6 and result["process_id"] == "case_management"
    assert result["since"] == "2025-07-13T10:00:00+00:00" and result["until"] == "2026-01-13T10:00:00+00:00"
    assert result["current"]["kind"] == "version" and result["current"]["number"] == 1
    assert {k: result["new"][k] for k in ("kind", "draft_id", "name", "based_on_version")} == \
        {"kind": "draft", "draft_id": draft_id, "name": "Replay check", "based_on_version": 1}
    assert result["rules_changed"] == [
        {"bpmn_id": "register_referral", "title": "Register referral", "stage": "identification",
         "current": "1 working day", "new": "(1 + 1) working days"},
        {"bpmn_id": "home_visit_assessment", "title": "Home visit and needs assessment", "stage": "assessment",
         "current": "5 working days", "new": "7 working days"},
        {"bpmn_id": "recognition_of_need", "title": "Decide recognition of need", "stage": "assessment",
         "current": "2 working days", "new": None}]
    districts = {d["district_name"]: d for d in result["districts"]}
    assert list(districts) == [CHIRCHIQ, ZANGIOTA]
    # Chirchiq: A's and B's referrals (not replayable: the new rule is an expression they never recorded);
    # assessments A (late under 5 working days only) and B; recognitions B (past its 2 days) and A (just opened)
    assert districts[CHIRCHIQ]["stages"] == [{"stage": "identification", **_counts(2, 0, 0, 2)},
                                             {"stage": "assessment", **_counts(4, 2, 0)}]
    assert districts[CHIRCHIQ]["totals"] == _counts(6, 2, 0, 2)
    # Zangiota: C's referral, and its assessment still open on the 6th working day
    assert districts[ZANGIOTA]["stages"] == [{"stage": "identification", **_counts(1, 0, 0, 1)},
                                             {"stage": "assessment", **_counts(1, 1, 0)}]
    assert districts[ZANGIOTA]["totals"] == _counts(2, 1, 0, 1)
    assert result["stages"] == [{"stage": "identification", **_counts(3, 0, 0, 3)},
                                {"stage": "assessment", **_counts(5, 3, 0)}]
    assert result["totals"] == _counts(8, 3, 0, 3)

    # a year back takes in the case opened 200 days ago: its assessment is late under both rules
    year = replay(engine, actor(engine, "methodologist1"), draft_id=draft_id, months=12)
    assert year["since"] == "2025-01-13T10:00:00+00:00"
    assert {s["stage"]: s for s in {d["district_name"]: d for d in year["districts"]}[ZANGIOTA]["stages"]} == {
        "identification": {"stage": "identification", **_counts(2, 0, 0, 2)},
        "assessment": {"stage": "assessment", **_counts(2, 2, 1)}}
    assert year["totals"] == _counts(10, 4, 1, 4)


def test_no_personal_data_in_the_answer(engine, clock):
    _history(engine, clock)
    result = replay(engine, actor(engine, "methodologist1"), draft_id=_draft(engine, _new_rules), months=12)
    text = json.dumps(result, ensure_ascii=False)
    people = NAMES + CLIENTS + [u[1] for u in USERS] + [u[0] for u in USERS]
    assert [p for p in people if p in text] == []
    keys = set()

    def walk(value):
        if isinstance(value, dict):
            keys.update(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(result)
    assert not keys & {"case_id", "case_ids", "task_id", "person_id", "assignee_id", "subject_name", "user_id"}


def test_an_expression_deadline_is_replayed_with_the_amount_each_task_recorded(engine, clock):
    case_id = _case(engine, "worker1", NAMES[0])
    for form_key, data in (("needs_assessment", assessment()), ("recognition_of_need", approval("approved")),
                           ("service_plan", answers("service_plan")), ("plan_approval", approval("approved")),
                           ("service_delivery", answers("service_delivery"))):
        complete_step(engine, case_id, form_key, data)
    # medium risk: a monitoring visit within 30 calendar days, recorded on the task; now 35 days later
    clock.advance(days=35)
    same_expression = _draft(engine, lambda bpmn: _sub(bpmn, ASSESSMENT, ASSESSMENT.replace("5 ", "7 ")))
    methodologist = actor(engine, "methodologist1")

    result = replay(engine, methodologist, draft_id=same_expression)
    stages = {s["stage"]: s for s in result["stages"]}
    assert stages["monitoring"] == {"stage": "monitoring", **_counts(1, 1, 1)}
    assert [s["stage"] for s in result["stages"]] == ["identification", "assessment", "planning", "delivery",
                                                      "monitoring"]
    assert result["totals"] == _counts(7, 1, 1)

    # a different expression would need the case data, which replay never reads: counted as not replayable
    draft = drafts.get_draft(engine, methodologist, same_expression)
    _save(engine, same_expression, _sub(draft["files"]["case_management.bpmn"], MONITORING,
                                        MONITORING.replace("(monitoring_interval_days)",
                                                           "(monitoring_interval_days * 2)")),
          draft["row_version"])
    result = replay(engine, methodologist, draft_id=same_expression)
    assert {s["stage"]: s for s in result["stages"]}["monitoring"] == {"stage": "monitoring", **_counts(1, 0, 0, 1)}
    assert [c["bpmn_id"] for c in result["rules_changed"]] == ["home_visit_assessment", "monitoring_visit"]
    assert result["rules_changed"][1]["new"] == "(monitoring_interval_days * 2) calendar days"


def test_a_published_version_against_itself_changes_nothing(engine, clock):
    _history(engine, clock)
    methodologist = actor(engine, "methodologist1")
    result = replay(engine, methodologist, version=1, months=12)
    assert result["new"]["kind"] == "version" and result["new"]["number"] == 1
    assert result["rules_changed"] == []
    # the 200-day-old assessment, A's and C's assessments and B's recognition are late; nothing to guess
    assert result["totals"] == _counts(10, 4, 4)
    with pytest.raises(NotFound):
        replay(engine, methodologist, version=99)
    with pytest.raises(NotFound):
        replay(engine, methodologist, draft_id=123456)


@pytest.mark.parametrize("months", [0, 37, -1, "6", 2.5, True, None])
def test_months_must_be_a_whole_number_from_1_to_36(engine, months):
    with pytest.raises(InvalidInput) as err:
        replay(engine, actor(engine, "methodologist1"), version=1, months=months)
    assert list(err.value.fields) == ["months"]


def test_either_a_draft_or_a_version(engine):
    methodologist = actor(engine, "methodologist1")
    with pytest.raises(InvalidInput) as err:
        replay(engine, methodologist)
    assert list(err.value.fields) == ["draft_id"]
    with pytest.raises(InvalidInput) as err:
        replay(engine, methodologist, draft_id=1, version=1)
    assert list(err.value.fields) == ["draft_id"]
    with pytest.raises(InvalidInput) as err:
        replay(engine, methodologist, version="1")
    assert list(err.value.fields) == ["version"]


@pytest.mark.parametrize("username", ["worker1", "supervisor1", "head1", "admin1"])
def test_only_methodologists_replay(engine, username):
    with pytest.raises(NotAllowed):
        replay(engine, actor(engine, username), version=1)


def test_months_before_keeps_the_time_and_clamps_the_day():
    at = datetime(2026, 5, 31, 7, 30, tzinfo=timezone.utc)
    assert months_before(at, 3) == datetime(2026, 2, 28, 7, 30, tzinfo=timezone.utc)
    assert months_before(at, 5) == datetime(2025, 12, 31, 7, 30, tzinfo=timezone.utc)
    assert months_before(at, 36) == datetime(2023, 5, 31, 7, 30, tzinfo=timezone.utc)
    assert months_before(datetime(2024, 3, 30, tzinfo=timezone.utc), 1) == datetime(2024, 2, 29,
                                                                                    tzinfo=timezone.utc)
