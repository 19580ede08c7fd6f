"""Regressions found in review of the deadline and scheduler change: lost claims, stranded batches, lock order,
ladder order, holds, calendar-day roll-over, odd input, calendar consistency, the outbox.
They run on SQLite and PostgreSQL like the rest of the suite (one is PostgreSQL-only, one SQLite-only)."""
from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from engine.db.models import OutboxEmail, Task
from engine.errors import Conflict, DefinitionInvalid, InvalidInput
from engine.process.definitions import read_definition_files
from engine.scheduler import Ticker
from engine.services import cases, definitions, scheduler, tasks
from engine.services.outbox import send_pending
from engine.services.scheduler import LEASE, claim, tick
from tests.deadline_helpers import UZ, case_at_assessment, escalations, notes, task_by_form, timer, timers_of, utc
from tests.helpers import actor, complete_step, open_case, open_tasks
from tests.sample_answers import answers, approval, assessment

















def publish_with(engine, old: str, new: str):
    """Publish the shipped set with one text replacement in the BPMN (as a methodologist would upload it)."""
    files = read_definition_files(engine.settings.workflows_dir, engine.settings.forms_dir)
    assert old in files["case_management.bpmn"], old
    files["case_management.bpmn"] = files["case_management.bpmn"].replace(old, new, 1)
    return definitions.publish(engine, files, note="review")


# --- 1. timers lost by the ticker ------------------------------------------------------------------------------

def test_the_ticker_takes_over_the_claim_of_a_crashed_scheduler(engine, clock):
    """A scheduler claims a due reminder and dies. After the lease the running ticker must fire it; today
    ``Ticker.tick`` asks ``next_due`` (pending timers only) and, while no *pending* timer is due, never claims
    again, so the reminder waits until the deadline and is then dropped as 'deadline already passed'."""
    cid, task = case_at_assessment(engine)
    [reminder] = [t for t in timers_of(engine, task.id) if t.kind == "reminder"]
    clock.set(reminder.due_at)
    assert claim(engine, "crashed-scheduler") == [reminder.id]
    clock.advance(LEASE + timedelta(minutes=1))
    assert clock.now() < task.due_at
    ticker = Ticker(engine, interval=1)  # not started: tick() is the job APScheduler runs every second
    ticker.tick()
    assert timer(engine, reminder.id).status == "fired"
    assert [n.kind for n in notes(engine, "worker1")] == ["task.reminder"]


def test_one_timer_failing_with_a_database_error_does_not_strand_the_rest_of_its_batch(engine, clock, monkeypatch):
    """``fire`` only catches EngineError. A database error (deadlock, serialization failure, 'database is
    locked', StaleDataError) in one timer escapes ``tick`` and abandons every other timer already claimed in the
    batch: they stay 'claimed' and, with the ticker's pending-only check, are not taken again."""
    _, first = case_at_assessment(engine)
    _, second = case_at_assessment(engine)
    reminders = [t for t in timers_of(engine, first.id) + timers_of(engine, second.id) if t.kind == "reminder"]
    assert len(reminders) == 2
    clock.set(max(r.due_at for r in reminders))
    original, calls = scheduler.fire_reminder, []

    def flaky(engine_, session, timer_, now):
        calls.append(timer_.id)
        if len(calls) == 1:
            raise OperationalError("UPDATE tasks ...", {}, Exception("deadlock detected"))
        return original(engine_, session, timer_, now)

    monkeypatch.setattr(scheduler, "fire_reminder", flaky)
    Ticker(engine, interval=1).tick()
    statuses = sorted(timer(engine, r.id).status for r in reminders)
    assert "fired" in statuses, statuses  # the healthy one fires in the same pass
    monkeypatch.setattr(scheduler, "fire_reminder", original)
    clock.advance(LEASE + timedelta(minutes=1))
    Ticker(engine, interval=1).tick()
    assert sorted(timer(engine, r.id).status for r in reminders) == ["fired", "fired"]  # and the failed one is retried


def test_assigning_a_task_while_its_rung_fires_neither_deadlocks_nor_breaks_the_scheduler(pg_engine, clock,
                                                                                          monkeypatch):
    """PostgreSQL. ``fire`` locks the case row FOR UPDATE, then updates the task row; ``assign_task`` (also
    claim_task, save_draft) updates the task row without the case lock and then inserts audit/notification rows
    whose foreign key needs a KEY SHARE lock on the same case row. Opposite lock order: a deadlock (or a
    StaleDataError on the task's row_version) that kills either the supervisor's request (500) or the scheduler
    pass (the rung stays claimed)."""
    engine = pg_engine  # SQLite serialises writers; the race needs PostgreSQL row locks
    cid, task = case_at_assessment(engine)
    clock.set(task.due_at + timedelta(minutes=1))
    read_task, go_on = threading.Event(), threading.Event()
    original = scheduler.fire_rung

    def paused(engine_, session, timer_, now):
        session.get(Task, timer_.task_id)  # what fire_rung reads first, under the case lock
        read_task.set()
        go_on.wait(10)
        return original(engine_, session, timer_, now)

    monkeypatch.setattr(scheduler, "fire_rung", paused)
    outcome = {}

    def run_scheduler():
        try:
            outcome["report"] = tick(engine, "scheduler-a")
        except Exception as err:  # noqa: BLE001
            outcome["scheduler_error"] = repr(err)

    thread = threading.Thread(target=run_scheduler)
    thread.start()
    assert read_task.wait(10)
    threading.Timer(1.0, go_on.set).start()  # the rung goes on a second later, while the assignment runs
    try:
        tasks.assign_task(engine, actor(engine, "supervisor1"), task.id,
                          {"user": "worker2", "reason": "worker1 is on leave"})
    except Exception as err:  # noqa: BLE001
        outcome["assign_error"] = repr(err)
    thread.join(30)
    assert "scheduler_error" not in outcome and "assign_error" not in outcome, outcome
    assert len(escalations(engine, cid)) == 1


# --- 2. ladders ------------------------------------------------------------------------------------------------

def test_a_ladder_written_out_of_order_is_refused_or_fires_every_rung(engine, clock):
    """The lint accepts rungs in any order. Rung 2 (due at the deadline) fires first and sets escalation_level
    to 2; rung 1 (three working days later) then finds 'rung already reached' and the centre head never hears."""
    try:
        publish_with(engine, 'value="supervisor at deadline; center_head after 3 working days" />\n'
                             '        </spiffworkflow:properties>\n      </bpmn:extensionElements>\n'
                             '      <bpmn:incoming>Flow_to_assessment',
                     'value="center_head after 3 working days; supervisor at deadline" />\n'
                     '        </spiffworkflow:properties>\n      </bpmn:extensionElements>\n'
                     '      <bpmn:incoming>Flow_to_assessment')
    except DefinitionInvalid:
        return  # refusing the ladder is a fine answer
    cid, task = case_at_assessment(engine)
    assert task.deadline["ladder"][0]["role"] == "center_head"
    clock.set(UZ.add_working_days(task.due_at, 3).due + timedelta(minutes=1))
    tick(engine)
    fired = sorted(e.role for e in escalations(engine, cid))
    assert fired == ["center_head", "supervisor"], fired


# --- 3. holds and extensions -------------------------------------------------------------------------------------

def test_a_task_opened_while_the_case_is_on_hold_is_not_extended_by_time_before_it_existed(engine, clock):
    """Completion is allowed during a hold; the next task opens with its clock running, and on resume its due
    instant is pushed by the whole hold (from held_since), including days before the task existed."""
    cid, _ = case_at_assessment(engine)
    worker = actor(engine, "worker1")
    clock.set(utc(2026, 1, 6, 5, 0))  # Tue 6 Jan 10:00 Tashkent
    cases.hold_case(engine, worker, cid, {"waiting_for": "client", "reason": "Client in hospital."})
    clock.set(utc(2026, 1, 13, 5, 0))  # a week later the visit is done, the case still on hold
    try:
        complete_step(engine, cid, "needs_assessment", assessment())
    except Conflict:
        return  # refusing work on a held case is also a consistent answer
    decision = task_by_form(engine, cid, "recognition_of_need")
    clock.set(utc(2026, 1, 14, 5, 0))  # Wed 14 Jan 10:00: resumed
    cases.resume_case(engine, worker, cid)
    moved = task_by_form(engine, cid, "recognition_of_need")
    at_most = UZ.add_working_seconds(decision.due_at,
                                     UZ.working_seconds_between(decision.created_at, clock.now())).due
    assert moved.due_at <= at_most, (decision.due_at, moved.due_at, at_most)


def _case_at_service_delivery(engine):
    cid, _ = case_at_assessment(engine)
    complete_step(engine, cid, "needs_assessment", assessment())
    complete_step(engine, cid, "recognition_of_need", approval("approved"))
    complete_step(engine, cid, "service_plan", answers("service_plan"))
    complete_step(engine, cid, "plan_approval", approval("approved"))
    return cid, task_by_form(engine, cid, "service_delivery")


def test_resuming_keeps_a_calendar_day_deadline_on_a_working_day(engine, clock):
    """'30 calendar days' rolls a due date off weekends and holidays when computed, but resume adds the held
    clock time to it, so the deadline can land on a Saturday."""
    cid, task = _case_at_service_delivery(engine)
    assert task.deadline["unit"] == "calendar_days"
    due_day = UZ.local_date(task.due_at)
    held_days = (5 - due_day.weekday()) % 7 or 7  # hold exactly long enough to push it onto a Saturday
    assert not UZ.is_working_day(due_day + timedelta(days=held_days))
    worker = actor(engine, "worker1")
    cases.hold_case(engine, worker, cid, {"waiting_for": "agency", "reason": "Waiting for the polyclinic."})
    clock.advance(days=held_days)
    cases.resume_case(engine, worker, cid)
    moved = task_by_form(engine, cid, "service_delivery")
    assert UZ.is_working_day(UZ.local_date(moved.due_at)), moved.due_at


def test_an_extension_while_on_hold_sends_no_reminders_during_the_hold(engine, clock):
    """``extend`` does not look at the hold: it schedules live reminder and rung timers for a case whose clocks
    are stopped. The reminder then reaches the worker during the hold (fire_reminder has no hold check) and the
    rungs are burnt as 'case on hold'."""
    cid, task = case_at_assessment(engine)
    worker, supervisor = actor(engine, "worker1"), actor(engine, "supervisor1")
    clock.set(utc(2026, 1, 6, 5, 0))
    cases.hold_case(engine, worker, cid, {"waiting_for": "client", "reason": "Client in hospital."})
    tasks.extend_deadline(engine, supervisor, task.id, {"working_days": 2, "reason": "Documents awaited."})
    live = [t for t in timers_of(engine, task.id) if t.status == "pending"]
    for timer_ in live:  # the case stays on hold throughout
        clock.set(timer_.due_at + timedelta(minutes=1))
        tick(engine)
    assert [n.kind for n in notes(engine, "worker1") if n.kind == "task.reminder"] == []
    burnt = [timer(engine, t.id).outcome for t in live if t.kind == "escalation"]
    assert "case on hold" not in burnt, burnt  # a rung spent while the clock is stopped


def test_extending_a_task_that_had_no_deadline_keeps_the_task_readable(engine, clock):
    """``move_deadline`` builds a record with ``due_before: None`` for a task without a rule; ``explain`` then
    calls ``datetime.fromisoformat(None)``: the extension and every later view of the task raise TypeError
    (HTTP 500)."""
    line = '          <spiffworkflow:property name="{}" value="{}" />\n'
    publish_with(engine, line.format("deadline", "1 working day")
                 + line.format("deadlineSource", "Yordam default: a referral is registered by the next working day")
                 + line.format("escalation", "supervisor at deadline; center_head after 3 working days"), "")
    cid = open_case(engine)["id"]
    [first] = open_tasks(engine, cid)
    assert first.due_at is None
    supervisor = actor(engine, "supervisor1")
    try:
        tasks.extend_deadline(engine, supervisor, first.id, {"until": "2026-01-20", "reason": "Documents awaited."})
    except InvalidInput:
        return  # refusing is fine
    view = tasks.get_task(engine, supervisor, first.id)
    assert view["due_at"] and view["deadline_explanation"]


# --- 4. the e-mail outbox ------------------------------------------------------------------------------------------

def test_sending_mail_does_not_hold_the_sqlite_write_lock(sqlite_engine):
    """``send_pending`` talks to the SMTP server (30 s timeout, up to 100 mails) inside ``db.write()``, i.e.
    inside BEGIN IMMEDIATE on SQLite: every task completion and every timer waits for the mail server."""
    engine = sqlite_engine
    with engine.db.write() as session:
        session.add(OutboxEmail(to_address="nodira@example.uz", subject="s", body="b", created_at=engine.now()))
    path = engine.db.url.split("sqlite:///", 1)[1]
    seen = []

    def transport(to, subject, body, key):
        conn = sqlite3.connect(path, timeout=0.5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError as err:
            seen.append(str(err))
        finally:
            conn.close()

    assert send_pending(engine, transport) == (1, 0)
    assert seen == ["free"]
