"""Deadlines in working days, reminders, escalation ladders, holds and extensions, fired by the scheduler once,
on SQLite and PostgreSQL, with a fake clock."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine.db.models import AuditEvent, Notification, Task, Timer, User
from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.i18n import LANGUAGES, day
from engine.services import cases, notifications, tasks, users
from engine.services.scheduler import tick
from tests.deadline_helpers import (UZ, case_at_assessment, english, escalations, notes, task_by_form, timers_of,
                                    utc)
from tests.helpers import actor, complete_step
from tests.sample_answers import approval, assessment

FRIDAY_BEFORE_HOLIDAY = datetime(2025, 12, 5, 5, 0, tzinfo=timezone.utc)  # Fri 5 Dec 2025, 10:00 in Tashkent
















# --- due dates and their explanation -----------------------------------------------------------------------

def test_friday_before_a_holiday_skips_the_weekend_and_the_holiday(engine, clock):
    clock.set(FRIDAY_BEFORE_HOLIDAY)
    cid, task = case_at_assessment(engine)
    # Five working days after Friday 5 Dec: Tue 9, Wed 10, Thu 11, Fri 12, Mon 15 (Mon 8 Dec is Constitution Day).
    assert task.due_at == utc(2025, 12, 15, 13, 0)  # 18:00 in Tashkent
    assert [(s["date"], s["reason"]) for s in task.deadline["skipped"]] == [
        ("2025-12-06", "weekend"), ("2025-12-07", "weekend"), ("2025-12-08", "holiday"),
        ("2025-12-13", "weekend"), ("2025-12-14", "weekend")]
    assert task.deadline["source"].startswith("Inson rules")

    explanations = {}
    for language in LANGUAGES:
        reader = dataclasses.replace(actor(engine, "worker1"), language=language)
        text = tasks.get_task(engine, reader, task.id)["deadline_explanation"]
        assert day(language, date(2025, 12, 15)) in text  # the due day, written the reader's way
        assert day(language, date(2025, 12, 8)) in text  # the skipped holiday ...
        assert UZ.holiday_name(date(2025, 12, 8), language) in text  # ... named in the reader's language
        explanations[language] = text
    assert len(set(explanations.values())) == len(LANGUAGES)
    assert "working days" in explanations["en"] and "Constitution Day" in explanations["en"]
    assert "рабочих дн" in explanations["ru"]
    assert "ish kuni" in explanations["uz"]


def test_a_deadline_from_case_data_follows_the_monitoring_cadence(engine, clock):
    cid, _ = case_at_assessment(engine)
    complete_step(engine, cid, "needs_assessment", assessment())  # two risk factors: medium risk
    for form_key, data in [("recognition_of_need", approval("approved"))]:
        complete_step(engine, cid, form_key, data)
    from tests.sample_answers import answers
    complete_step(engine, cid, "service_plan", answers("service_plan"))
    complete_step(engine, cid, "plan_approval", approval("approved"))
    opened = clock.now()
    complete_step(engine, cid, "service_delivery", answers("service_delivery"))
    visit = task_by_form(engine, cid, "monitoring_visit")
    assert visit.deadline["expression"] == "monitoring_interval_days" and visit.deadline["amount"] == 30
    expected = UZ.add_calendar_days(opened, 30)
    assert visit.due_at == expected.due
    reminders = [t for t in timers_of(engine, visit.id) if t.kind == "reminder"]
    assert len(reminders) == 2 and opened < reminders[0].due_at < reminders[1].due_at < visit.due_at


# --- the ladder ----------------------------------------------------------------------------------------------

def test_every_rung_fires_once_at_its_time(engine, clock):
    cid, task = case_at_assessment(engine)
    reminder, rung1, rung2 = timers_of(engine, task.id)
    assert (reminder.kind, rung1.kind, rung2.kind) == ("reminder", "escalation", "escalation")
    assert rung1.due_at == task.due_at and rung1.target_role == "supervisor"
    assert rung2.due_at == UZ.add_working_days(task.due_at, 3).due and rung2.target_role == "center_head"
    assert clock.now() < reminder.due_at < task.due_at

    clock.set(reminder.due_at - timedelta(seconds=1))
    assert tick(engine).fired == 0
    clock.set(reminder.due_at)
    assert tick(engine).by_kind == {"reminder": 1}
    assert [n.kind for n in notes(engine, "worker1")] == ["task.reminder"]

    clock.set(task.due_at + timedelta(minutes=1))
    report = tick(engine)
    assert report.by_kind == {"escalation": 1} and 59 <= report.max_late_seconds <= 61
    [first] = escalations(engine, cid)
    assert (first.role, first.assignee_id, first.rung, first.escalates_task_id) == ("supervisor", None, 1, task.id)
    assert [n.kind for n in notes(engine, "supervisor1")] == ["escalation.opened"]
    assert [n.kind for n in notes(engine, "worker1")] == ["task.reminder", "task.overdue"]
    supervisor = actor(engine, "supervisor1")
    view = tasks.get_task(engine, dataclasses.replace(supervisor, language="en"), first.id)
    assert view["escalates"]["id"] == task.id and view["actions"] == ["reassign", "extend", "acknowledge"]
    assert view["title"].startswith("Overdue: “Home visit and needs assessment”")

    clock.set(rung2.due_at)
    assert tick(engine).by_kind == {"escalation": 1}
    second = escalations(engine, cid)[-1]
    assert (second.role, second.rung) == ("center_head", 2)
    head = dataclasses.replace(actor(engine, "head1"), language="en")
    assert "3 working days late" in tasks.get_task(engine, head, second.id)["title"]
    with engine.db.read() as session:
        assert session.get(Task, task.id).escalation_level == 2

    clock.advance(days=30)
    assert tick(engine).fired == 0  # nothing fires twice
    assert [t.status for t in timers_of(engine, task.id)] == ["fired", "fired", "fired"]


def test_early_completion_cancels_the_rungs_not_reached(engine, clock):
    cid, task = case_at_assessment(engine)
    clock.set(task.due_at + timedelta(hours=1))
    tick(engine)
    assert len(escalations(engine, cid)) == 1
    complete_step(engine, cid, "needs_assessment", assessment())
    assert escalations(engine, cid) == [] and len(escalations(engine, cid, "cancelled")) == 1
    statuses = {t.kind + str(t.rung or ""): (t.status, t.outcome) for t in timers_of(engine, task.id)}
    assert statuses["escalation2"] == ("cancelled", "task completed")
    clock.advance(days=10)
    assert tick(engine).by_kind.get("escalation", 0) == 0 or all(
        t.task_id != task.id for t in _fired_since(engine, task.due_at + timedelta(hours=2)))


def _fired_since(engine, instant):
    with engine.db.read() as session:
        return session.scalars(select(Timer).where(Timer.fired_at > instant)).all()


def test_a_reassigned_task_keeps_its_due_date_and_its_ladder(engine, clock):
    cid, task = case_at_assessment(engine)
    moved = tasks.assign_task(engine, actor(engine, "supervisor1"), task.id,
                              {"user": "worker2", "reason": "worker1 is on leave"})
    assert moved["assignee"]["username"] == "worker2" and moved["due_at"] == task.due_at.isoformat()
    clock.set(task.due_at + timedelta(minutes=5))
    tick(engine)
    assert [n.kind for n in notes(engine, "worker2")][-2:] == ["task.assigned", "task.overdue"]
    assert len(escalations(engine, cid)) == 1


def test_a_deactivated_users_overdue_task_reaches_the_supervisor(engine, clock):
    cid, task = case_at_assessment(engine)
    with engine.db.read() as session:
        worker1 = session.scalar(select(User).where(User.username == "worker1"))
    assert users.deactivate_user(engine, worker1.id) == 1
    moved = task_by_form(engine, cid, "needs_assessment")
    assert (moved.role, moved.assignee_id, moved.due_at) == ("supervisor", None, task.due_at)
    clock.set(task.due_at + timedelta(seconds=30))
    tick(engine)
    [escalation] = escalations(engine, cid)
    assert escalation.role == "supervisor"
    queue = tasks.list_tasks(engine, actor(engine, "supervisor1"), queue=True, overdue=True)["items"]
    assert task.id in [t["id"] for t in queue] and all(t["overdue"] for t in queue)


# --- acting on an escalation ---------------------------------------------------------------------------------

def test_the_supervisor_extends_from_the_escalation_and_the_ladder_starts_again(engine, clock):
    cid, task = case_at_assessment(engine)
    clock.set(task.due_at + timedelta(hours=20))
    tick(engine)
    [escalation] = escalations(engine, cid)
    supervisor = actor(engine, "supervisor1")
    with pytest.raises(InvalidInput) as err:
        tasks.complete_task(engine, supervisor, escalation.id, {"data": {"action": "extend", "working_days": 2}})
    assert "reason" in err.value.fields
    done = tasks.complete_task(engine, supervisor, escalation.id, {"data": {
        "action": "extend", "working_days": 2, "reason": "The family was away at a funeral."}})
    assert done["task"]["state"] == "completed"
    extended = task_by_form(engine, cid, "needs_assessment")
    assert extended.due_at == UZ.add_working_days(clock.now(), 2).due
    assert extended.escalation_level == 0 and extended.deadline["generation"] == 1
    assert extended.deadline["changes"][-1]["reason"] == "The family was away at a funeral."
    text = tasks.get_task(engine, english(engine, "worker1"), task.id)["deadline_explanation"]
    assert "Nodira Yusupova extended the deadline" in text and "funeral" in text
    live = [t for t in timers_of(engine, task.id) if t.status == "pending"]
    assert [t.key.split(":", 2)[2] for t in live if t.kind == "escalation"] == ["g1:rung:1", "g1:rung:2"]
    assert all(t.due_at > clock.now() for t in live)
    clock.set(extended.due_at + timedelta(seconds=1))
    assert tick(engine).by_kind["escalation"] == 1  # overdue again: escalated again
    assert len(escalations(engine, cid)) == 1


def test_reassign_and_acknowledge_from_an_escalation(engine, clock):
    cid, task = case_at_assessment(engine)
    clock.set(task.due_at + timedelta(hours=1))
    tick(engine)
    [escalation] = escalations(engine, cid)
    supervisor = actor(engine, "supervisor1")
    with pytest.raises(InvalidInput):
        tasks.complete_task(engine, supervisor, escalation.id, {"data": {"action": "reassign", "user": "worker3",
                                                                         "reason": "other district"}})
    tasks.complete_task(engine, supervisor, escalation.id, {"data": {
        "action": "reassign", "user": "worker2", "reason": "worker1 is overloaded"}})
    reassigned = task_by_form(engine, cid, "needs_assessment")
    assert reassigned.assignee_id == actor(engine, "worker2").id and reassigned.due_at == task.due_at
    clock.set(timers_of(engine, task.id)[-1].due_at)
    tick(engine)
    [head_escalation] = escalations(engine, cid)
    with pytest.raises(NotAllowed):
        tasks.complete_task(engine, supervisor, head_escalation.id, {"data": {"action": "acknowledge"}})
    head = actor(engine, "head1")
    result = tasks.complete_task(engine, head, head_escalation.id, {"data": {"action": "acknowledge",
                                                                            "reason": "Spoke to worker2."}})
    assert result["task"]["state"] == "completed" and escalations(engine, cid) == []
    with engine.db.read() as session:
        decided = session.scalars(select(AuditEvent).where(AuditEvent.action == "escalation.decided")).all()
    assert [e.details["decision"] for e in decided] == ["reassign", "acknowledge"]


def test_extend_endpoint_rules(engine, clock):
    cid, task = case_at_assessment(engine)
    with pytest.raises(NotAllowed):
        tasks.extend_deadline(engine, actor(engine, "worker1"), task.id, {"working_days": 2, "reason": "busy"})
    supervisor = actor(engine, "supervisor1")
    with pytest.raises(InvalidInput):
        tasks.extend_deadline(engine, supervisor, task.id, {"working_days": 2, "until": "2026-02-01",
                                                            "reason": "both given"})
    with pytest.raises(InvalidInput):
        tasks.extend_deadline(engine, supervisor, task.id, {"until": "2026-01-06", "reason": "earlier than due"})
    view = tasks.extend_deadline(engine, supervisor, task.id, {"until": "2026-01-20", "reason": "Documents awaited"})
    assert view["due_at"] == UZ.end_of_day(date(2026, 1, 20)).isoformat()


# --- hold and resume ----------------------------------------------------------------------------------------

def test_hold_stops_the_clock_and_resume_moves_the_deadline_by_the_time_held(engine, clock):
    cid, task = case_at_assessment(engine)  # opened Mon 5 Jan 2026 14:00 Tashkent, due Mon 12 Jan 18:00
    assert task.due_at == utc(2026, 1, 12, 13, 0)
    worker = actor(engine, "worker1")
    clock.set(utc(2026, 1, 6, 5, 0))  # Tue 10:00
    held = cases.hold_case(engine, worker, cid, {"waiting_for": "agency", "reason": "Waiting for the polyclinic."})
    assert held["on_hold"] and held["open_tasks"][0]["clock_stopped"]
    with pytest.raises(Conflict):
        cases.hold_case(engine, worker, cid, {"waiting_for": "client", "reason": "again"})
    assert all(t.status == "cancelled" for t in timers_of(engine, task.id))

    clock.set(task.due_at + timedelta(days=1))  # the old deadline passes while on hold: nothing fires
    assert tick(engine).fired == 0
    assert tasks.list_tasks(engine, worker, overdue=True)["items"] == []

    clock.set(utc(2026, 1, 14, 5, 0))  # Wed 14 Jan 10:00: held Tue 10:00 → Wed 10:00 the next week
    resumed = cases.resume_case(engine, worker, cid)
    held_seconds = UZ.working_seconds_between(utc(2026, 1, 6, 5, 0), utc(2026, 1, 14, 5, 0))
    assert held_seconds == 6 * 9 * 3600  # six whole working days (Tue 10:00 to Wed 10:00, eight days later)
    moved = task_by_form(engine, cid, "needs_assessment")
    assert moved.due_at == UZ.add_working_seconds(task.due_at, held_seconds).due == utc(2026, 1, 20, 13, 0)
    assert not resumed["on_hold"] and resumed["open_tasks"][0]["due_at"] == moved.due_at.isoformat()
    text = tasks.get_task(engine, english(engine, "worker1"), task.id)["deadline_explanation"]
    assert "on hold" in text and "Waiting for the polyclinic" in text
    pending = [t for t in timers_of(engine, task.id) if t.status == "pending"]
    assert {t.kind for t in pending} == {"escalation", "reminder"} and pending[-2].due_at == moved.due_at
    with pytest.raises(Conflict):
        cases.resume_case(engine, worker, cid)


def test_only_the_owner_or_a_supervisor_may_hold(engine):
    cid, _ = case_at_assessment(engine)
    with pytest.raises(NotAllowed):
        cases.hold_case(engine, actor(engine, "specialist1"), cid, {"waiting_for": "client", "reason": "x y z"})
    with pytest.raises(InvalidInput) as err:
        cases.hold_case(engine, actor(engine, "worker1"), cid, {"waiting_for": "weather", "reason": "snow"})
    assert "waiting_for" in err.value.fields


# --- downtime, coalescing and exactly once ---------------------------------------------------------------

def test_three_days_of_scheduler_downtime_fire_each_rung_once_late(engine, clock):
    first, task1 = case_at_assessment(engine)
    clock.advance(hours=2)
    second, task2 = case_at_assessment(engine)
    rungs = [t for t in timers_of(engine, task1.id) + timers_of(engine, task2.id) if t.kind == "escalation"]
    first_rungs = [t for t in rungs if t.rung == 1]
    clock.set(max(t.due_at for t in first_rungs) + timedelta(days=3))  # the scheduler was down three days
    overdue_rungs = {t.key for t in rungs if t.due_at <= clock.now()}
    assert len(overdue_rungs) == 4  # both first rungs, and the centre head's rungs three working days later
    report = tick(engine)
    assert report.by_kind["escalation"] == 4
    with engine.db.read() as session:
        fired = session.scalars(select(Timer).where(Timer.status == "fired", Timer.kind == "escalation")).all()
        assert {t.key for t in fired} == overdue_rungs
        for timer in fired:
            assert timer.late_seconds == pytest.approx((timer.fired_at - timer.due_at).total_seconds())
        assert min(t.late_seconds for t in fired if t.rung == 1) >= 3 * 86400
        escalated = session.scalars(select(Task).where(Task.kind == "escalation")).all()
        assert sorted((e.escalates_task_id, e.rung) for e in escalated) == sorted(
            {(task1.id, 1), (task1.id, 2), (task2.id, 1), (task2.id, 2)})
        skipped_reminders = session.scalars(select(Timer).where(Timer.kind == "reminder")).all()
        assert all(t.outcome.startswith("deadline already passed") for t in skipped_reminders)
    assert tick(engine).fired == 0


def test_missed_monitoring_reminders_coalesce_into_one(engine, clock):
    from tests.sample_answers import answers
    cid, _ = case_at_assessment(engine)
    for form_key, data in [("needs_assessment", assessment()), ("recognition_of_need", approval("approved")),
                           ("service_plan", answers("service_plan")), ("plan_approval", approval("approved")),
                           ("service_delivery", answers("service_delivery"))]:
        complete_step(engine, cid, form_key, data)
    visit = task_by_form(engine, cid, "monitoring_visit")
    first, second = [t for t in timers_of(engine, visit.id) if t.kind == "reminder"]
    before = len(notes(engine, "worker1"))
    clock.set(second.due_at + timedelta(hours=1))  # down from before the first to after the second point
    assert tick(engine).by_kind == {"reminder": 1}
    assert [n.kind for n in notes(engine, "worker1")[before:]] == ["task.reminder"]
    statuses = sorted((t.status, t.outcome or "") for t in timers_of(engine, visit.id) if t.kind == "reminder")
    assert statuses[0][0] == "cancelled" and statuses[0][1].startswith("coalesced into")
    assert statuses[1][0] == "fired"


def test_a_claimed_timer_of_a_completed_task_never_fires(engine, clock):
    """A scheduler claims a rung, then the task is completed before it fires: the claim is void."""
    from engine.services.scheduler import claim, fire
    cid, task = case_at_assessment(engine)
    clock.set(task.due_at + timedelta(seconds=1))
    claimed = claim(engine, "scheduler-a")
    assert len(claimed) == 2  # the reminder and the first rung
    complete_step(engine, cid, "needs_assessment", assessment())
    assert [fire(engine, timer_id, "scheduler-a") for timer_id in claimed] == [False, False]
    assert escalations(engine, cid) == [] and notes(engine, "worker1") == []


def test_an_expired_claim_is_taken_over_and_fires_once(engine, clock):
    from engine.services.scheduler import LEASE, claim, fire
    cid, task = case_at_assessment(engine)
    reminder = timers_of(engine, task.id)[0]
    clock.set(reminder.due_at)
    [timer_id] = claim(engine, "crashed-scheduler")  # ... which dies before firing
    assert timer_id == reminder.id
    assert claim(engine, "scheduler-b") == []  # the lease holds
    clock.advance(LEASE + timedelta(seconds=1))
    assert claim(engine, "scheduler-b") == [timer_id]
    assert fire(engine, timer_id, "crashed-scheduler") is False  # the old claim is void
    assert fire(engine, timer_id, "scheduler-b") is True
    assert fire(engine, timer_id, "scheduler-b") is False
    assert [n.kind for n in notes(engine, "worker1")] == ["task.reminder"]


def test_notifications_list_counts_unread_and_marks_read(engine, clock):
    cid, task = case_at_assessment(engine)
    clock.set(task.due_at + timedelta(seconds=1))
    tick(engine)
    supervisor = actor(engine, "supervisor1")
    listed = notifications.list_notifications(engine, dataclasses.replace(supervisor, language="en"))
    assert listed["unread"] == 1 and listed["items"][0]["text"].startswith(
        "Overdue: “Home visit and needs assessment”")
    ru = notifications.list_notifications(engine, dataclasses.replace(supervisor, language="ru"))
    assert ru["items"][0]["text"].startswith("Просрочено")
    assert notifications.mark_read(engine, supervisor, listed["items"][0]["id"]) == {"unread": 0}
    with engine.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.read_at.is_(None), Notification.user_id == supervisor.id)) == 0
