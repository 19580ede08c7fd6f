"""Every path of the default process, through the real services, with the stored state restored after each step."""
from datetime import timedelta


from engine.services import cases, tasks
from tests.helpers import actor, case_row, open_case, open_tasks, roundtrip_state
from tests.sample_answers import answers, approval, assessment, referral
from engine.services.demo import complete_step as _complete


def step(engine, case_id, form_key, data):
    result = _complete(engine, case_id, form_key, data)
    roundtrip_state(engine, case_id)
    return result


def case_data(engine, case_id):
    case = case_row(engine, case_id)
    with engine.db.read() as session:
        version = session.get(type(case), case_id).definition_version
        return engine.runtime.inspect(version.key, engine.spec_loader(version), case.state).data


def open_forms(engine, case_id):
    return sorted(t.form_key for t in open_tasks(engine, case_id))


def test_plain_path_with_returns_revision_and_closure(engine):
    case = open_case(engine)
    cid = case["id"]
    assert case["stage"] == "identification" and case["status"] == "open"
    assert [t["name"] for t in case["open_tasks"]] == ["register_referral"]
    assert case["open_tasks"][0]["assignee"]["username"] == "worker1"
    roundtrip_state(engine, cid)

    step(engine, cid, "register_referral", referral())
    assert open_forms(engine, cid) == ["needs_assessment"]
    step(engine, cid, "needs_assessment", assessment())
    assert case_row(engine, cid).risk_level == "medium"  # two risk factors, from the DMN table
    assert case_row(engine, cid).stage == "assessment"
    queue = open_tasks(engine, cid)[0]
    assert (queue.role, queue.assignee_id) == ("supervisor", None)  # the district supervisors' queue

    step(engine, cid, "recognition_of_need", approval("returned", "Visit again: income is not documented."))
    assert open_forms(engine, cid) == ["needs_assessment"]
    # The second visit finds one risk factor fewer: answers replace the earlier ones, never merge into them.
    step(engine, cid, "needs_assessment", assessment(risk_factors=["chronic_illness"]))
    assert case_data(engine, cid)["risk_factors"] == ["chronic_illness"]
    step(engine, cid, "recognition_of_need", approval("returned", "And the medical needs?"))
    step(engine, cid, "needs_assessment", assessment(risk_factors=[], needs=["household"]))
    assert case_data(engine, cid)["needs"] == ["household"]
    assert case_row(engine, cid).risk_level == "low"
    step(engine, cid, "recognition_of_need", approval("returned", "Visit once more."))
    step(engine, cid, "needs_assessment", assessment())
    assert case_row(engine, cid).risk_level == "medium"
    step(engine, cid, "recognition_of_need", approval("approved"))
    assert case_row(engine, cid).stage == "planning"

    step(engine, cid, "service_plan", answers("service_plan"))
    step(engine, cid, "plan_approval", approval("returned", "Add the polyclinic to the plan."))
    assert open_forms(engine, cid) == ["service_plan"]
    step(engine, cid, "service_plan", answers("service_plan", goals="Warm home; polyclinic every month."))
    step(engine, cid, "plan_approval", approval("approved"))
    assert case_row(engine, cid).stage == "delivery"

    step(engine, cid, "service_delivery", answers("service_delivery"))
    assert case_row(engine, cid).stage == "monitoring"
    step(engine, cid, "monitoring_visit", answers("monitoring_visit", outcome="continue"))
    assert open_forms(engine, cid) == ["monitoring_visit"]
    step(engine, cid, "monitoring_visit", answers("monitoring_visit", outcome="revise_plan"))
    assert open_forms(engine, cid) == ["service_plan"] and case_row(engine, cid).stage == "planning"
    step(engine, cid, "service_plan", answers("service_plan"))
    step(engine, cid, "plan_approval", approval("approved"))
    step(engine, cid, "service_delivery", answers("service_delivery"))
    step(engine, cid, "monitoring_visit", answers("monitoring_visit", outcome="close"))
    assert case_row(engine, cid).stage == "closure"

    step(engine, cid, "closure_proposal", answers("closure_proposal"))
    step(engine, cid, "closure_approval", approval("returned", "Summarise the services given."))
    step(engine, cid, "closure_proposal", answers("closure_proposal"))
    result = step(engine, cid, "closure_approval", approval("approved"))
    assert result["next_tasks"] == []
    row = case_row(engine, cid)
    assert (row.status, row.stage, row.next_timer_at) == ("closed", "closure", None)
    assert row.closed_at is not None


def test_urgent_branch_high_risk_confirmation_and_follow_up_timer(engine, clock):
    cid = open_case(engine)["id"]
    step(engine, cid, "register_referral", referral(urgent=True))
    tasks_now = {t.form_key: t for t in open_tasks(engine, cid)}
    assert set(tasks_now) == {"urgent_response", "urgent_supervisor_review"}
    assert tasks_now["urgent_supervisor_review"].role == "supervisor"
    step(engine, cid, "urgent_supervisor_review", answers("urgent_supervisor_review"))
    assert open_forms(engine, cid) == ["urgent_response"]  # the join waits for both
    step(engine, cid, "urgent_response", answers("urgent_response"))
    step(engine, cid, "needs_assessment", assessment())
    assert case_row(engine, cid).risk_level == "high"  # urgent → high
    for form_key, data in [("recognition_of_need", approval("approved")),
                           ("service_plan", answers("service_plan")), ("plan_approval", approval("approved")),
                           ("service_delivery", answers("service_delivery")),
                           ("monitoring_visit", answers("monitoring_visit", outcome="close")),
                           ("closure_proposal", answers("closure_proposal", follow_up_check=True)),
                           ("closure_approval", approval("approved"))]:
        step(engine, cid, form_key, data)
    head_task = open_tasks(engine, cid)[0]
    assert (head_task.form_key, head_task.role) == ("closure_confirmation", "center_head")
    step(engine, cid, "closure_confirmation", approval("approved"))

    row = case_row(engine, cid)
    assert open_tasks(engine, cid) == [] and row.status == "open"
    assert row.next_timer_at == clock.now() + timedelta(days=90)
    clock.advance(days=91)
    from engine.services.scheduler import tick
    assert tick(engine).by_kind["bpmn"] == 1
    assert tick(engine).fired == 0  # fired once, not again
    assert open_forms(engine, cid) == ["follow_up_visit"]
    assert case_row(engine, cid).next_timer_at is None
    step(engine, cid, "follow_up_visit", answers("follow_up_visit"))
    assert case_row(engine, cid).status == "closed"


def test_not_in_need_goes_to_closure(engine):
    cid = open_case(engine)["id"]
    step(engine, cid, "register_referral", referral())
    step(engine, cid, "needs_assessment", assessment(in_need=False, risk_factors=[], needs=[]))
    assert case_row(engine, cid).risk_level == "none"
    step(engine, cid, "recognition_of_need", approval("approved"))
    assert open_forms(engine, cid) == ["closure_proposal"]
    assert case_row(engine, cid).stage == "closure"
    values = tasks.get_task(engine, actor(engine, "worker1"), open_tasks(engine, cid)[0].id)["values"]
    assert "closure_reason" not in values or values["closure_reason"] in (None, "not_in_need")
    step(engine, cid, "closure_proposal", answers("closure_proposal", closure_reason="not_in_need"))
    step(engine, cid, "closure_approval", approval("approved"))
    assert case_row(engine, cid).status == "closed"


def test_closure_returned_by_center_head_goes_back_to_proposal(engine):
    cid = open_case(engine)["id"]
    step(engine, cid, "register_referral", referral())
    step(engine, cid, "needs_assessment", assessment(risk_factors=["violence", "neglect", "no_income"]))
    assert case_row(engine, cid).risk_level == "high"
    for form_key, data in [("recognition_of_need", approval("approved")),
                           ("service_plan", answers("service_plan")), ("plan_approval", approval("approved")),
                           ("service_delivery", answers("service_delivery")),
                           ("monitoring_visit", answers("monitoring_visit", outcome="close")),
                           ("closure_proposal", answers("closure_proposal")),
                           ("closure_approval", approval("approved")),
                           ("closure_confirmation", approval("returned", "Check with the school first."))]:
        step(engine, cid, form_key, data)
    assert open_forms(engine, cid) == ["closure_proposal"]


def test_timeline_names_each_step_with_who_and_when(engine, clock):
    cid = open_case(engine)["id"]
    clock.advance(hours=2)
    step(engine, cid, "register_referral", referral())
    clock.advance(days=1)
    step(engine, cid, "needs_assessment", assessment())
    step(engine, cid, "recognition_of_need", approval("returned", "Income is missing."))
    detail = cases.get_case(engine, actor(engine, "supervisor1"), cid)
    done = [(e["details"]["bpmn_id"], e["actor"]["username"], e["at"]) for e in detail["timeline"]
            if e["action"] == "task.completed"]
    assert [d[:2] for d in done] == [("register_referral", "worker1"), ("home_visit_assessment", "worker1"),
                                     ("recognition_of_need", "supervisor1")]
    assert done[0][2] == "2026-01-05T11:00:00+00:00" and done[1][2] == "2026-01-06T11:00:00+00:00"
    returned = [e for e in detail["timeline"] if e["details"].get("decision") == "returned"]
    assert returned[0]["details"]["comment"] == "Income is missing."
    assert detail["timeline"][0]["action"] == "case.opened"
    assert detail["stages"] == ["identification", "assessment", "planning", "delivery", "monitoring", "closure"]
