"""The case timeline told in plain language: real names, decisions and comments, lateness in working days,
escalations, holds, closure; in the reader's language, on SQLite and PostgreSQL, with a fake clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from engine.db.models import AuditEvent, Case, Task, Timer
from engine.deadlines.calendar import WorkingCalendar
from engine.i18n import day, moment
from engine.services import cases, narrative, tasks
from engine.services.scheduler import tick
from tests.helpers import actor, complete_step, open_case, open_tasks
from tests.sample_answers import answers, approval, assessment, referral

UZ = WorkingCalendar("UZ")
ASSESSMENT = "Home visit and needs assessment"
COMMENT = "Add the polyclinic check-ups to the plan."


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def en(value: date) -> str:
    return day("en", value)


def task_by_form(engine, case_id, form_key) -> Task:
    [task] = [t for t in open_tasks(engine, case_id) if t.form_key == form_key]
    return task


def timeline(engine, case_id, language="en") -> list[dict]:
    with engine.db.read() as session:
        return narrative.case_timeline(engine, session, session.get(Case, case_id), language)


def raw_actions(engine, case_id) -> list[str]:
    with engine.db.read() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id)
                                    .order_by(AuditEvent.at, AuditEvent.id)))


def only(entries, action, task_id=None) -> dict:
    [entry] = [e for e in entries if e["action"] == action and (task_id is None or e["task_id"] == task_id)]
    return entry


def drive_a_whole_case(engine, clock) -> dict:
    """Registration, a late assessment escalated by the scheduler, recognition, a plan returned and then
    approved, a hold and a resume, delivery, monitoring and closure. Returns the ids the test looks for."""
    worker, supervisor = actor(engine, "worker1"), actor(engine, "supervisor1")
    cid = open_case(engine)["id"]  # Mon 5 Jan 2026, 14:00 in Tashkent
    clock.advance(hours=1)
    complete_step(engine, cid, "register_referral", referral())  # due Tue 6 Jan: on time
    visit = task_by_form(engine, cid, "needs_assessment")
    assert visit.due_at == utc(2026, 1, 12, 13, 0)  # Mon 12 Jan 18:00 in Tashkent
    tasks.save_draft(engine, worker, visit.id, {"data": {"living_conditions": "poor"}})
    with engine.db.read() as session:
        reminder = session.scalar(select(Timer).where(Timer.task_id == visit.id, Timer.kind == "reminder"))
    clock.set(reminder.due_at)
    assert tick(engine).by_kind == {"reminder": 1}

    clock.set(utc(2026, 1, 14, 5, 0))  # Wed 14 Jan 10:00: Tue 13 and Wed 14 past the due day
    assert tick(engine).by_kind == {"escalation": 1}
    [escalation] = [t for t in open_tasks(engine, cid) if t.kind == "escalation"]
    tasks.complete_task(engine, supervisor, escalation.id, {"data": {
        "action": "acknowledge", "reason": "The family was away; the visit is today."}})
    clock.advance(hours=2)
    complete_step(engine, cid, "needs_assessment", assessment())  # two working days late
    recognition = task_by_form(engine, cid, "recognition_of_need")
    tasks.claim_task(engine, supervisor, recognition.id)
    clock.advance(hours=1)
    complete_step(engine, cid, "recognition_of_need", approval("approved"))
    clock.advance(hours=1)
    complete_step(engine, cid, "service_plan", answers("service_plan"))
    plan_approval = task_by_form(engine, cid, "plan_approval")

    clock.set(utc(2026, 1, 15, 5, 0))  # Thu 15 Jan 10:00
    complete_step(engine, cid, "plan_approval", approval("returned", COMMENT))
    redraft = task_by_form(engine, cid, "service_plan")
    clock.set(utc(2026, 1, 15, 6, 0))
    cases.hold_case(engine, worker, cid, {"waiting_for": "client",
                                          "reason": "The client is in hospital until Tuesday."})
    cases.get_case(engine, worker, cid)  # a read: audited, never told
    clock.set(utc(2026, 1, 20, 6, 0))  # Tue 20 Jan 11:00: held Thu 11:00 → Tue 11:00, three working days
    cases.resume_case(engine, worker, cid)
    moved = task_by_form(engine, cid, "service_plan")
    assert UZ.working_days_between(redraft.due_at, moved.due_at) == 3

    clock.advance(hours=1)
    complete_step(engine, cid, "service_plan", answers("service_plan"))
    second_approval = task_by_form(engine, cid, "plan_approval")
    clock.advance(hours=1)
    complete_step(engine, cid, "plan_approval", approval("approved"))
    for form_key, data in [("service_delivery", answers("service_delivery")),
                           ("monitoring_visit", answers("monitoring_visit", outcome="close")),
                           ("closure_proposal", answers("closure_proposal")),
                           ("closure_approval", approval("approved"))]:
        clock.advance(hours=1)
        complete_step(engine, cid, form_key, data)
    closed_on = clock.now()
    return {"case": cid, "visit": visit, "recognition": recognition.id, "plan_approval": plan_approval.id,
            "second_approval": second_approval.id, "escalation": escalation.id, "closed_on": closed_on}


def test_a_whole_case_is_told_with_names_decisions_lateness_and_dates(engine, clock):
    ids = drive_a_whole_case(engine, clock)
    cid, visit = ids["case"], ids["visit"]
    entries = timeline(engine, cid)
    texts = [e["text"] for e in entries]
    raw = raw_actions(engine, cid)

    # Noise is in the audit trail but not in the story.
    for noise in ("task.draft_saved", "task.claimed", "task.reminded", "case.viewed"):
        assert noise in raw
        assert noise not in [e["action"] for e in entries]
    assert {e["action"] for e in entries} == {"case.opened", "task.opened", "task.completed", "task.escalated",
                                              "escalation.decided", "case.held", "case.resumed", "case.closed"}
    assert [e["action"] for e in entries].count("task.completed") == raw.count("task.completed") == 11
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)

    opened = entries[0]
    assert opened["text"] == (f"On {en(date(2026, 1, 5))}, Dilnoza Karimova opened the case of Oʻgʻiloy Toʻxtayeva "
                              f"(referred by the mahalla).")
    assert opened["actor"]["username"] == "worker1" and opened["actor"]["full_name"] == "Dilnoza Karimova"

    given = only(entries, "task.opened", visit.id)
    assert given["text"] == (f"“{ASSESSMENT}” was given to Dilnoza Karimova; due "
                             f"{moment('en', visit.due_at, UZ.tz)}.")
    assert "Mon 12 Jan, 18:00" in given["text"] and given["actor"] is None
    queued = only(entries, "task.opened", ids["recognition"])
    assert queued["text"].startswith("“Decide recognition of need” went to the supervisor queue; due ")

    registered = [e for e in entries if e["action"] == "task.completed"][0]
    assert registered["text"] == f"On {en(date(2026, 1, 5))}, Dilnoza Karimova completed “Register referral”."
    assert registered["late_working_days"] is None

    escalated = only(entries, "task.escalated", visit.id)
    assert escalated["text"] == (f"“{ASSESSMENT}” was 2 working days late; on {en(date(2026, 1, 14))} it was "
                                 f"escalated to the supervisor.")
    assert escalated["late_working_days"] == 2 and escalated["actor"] is None

    acknowledged = only(entries, "escalation.decided")
    assert acknowledged["text"] == (f"On {en(date(2026, 1, 14))}, Nodira Yusupova (supervisor) acknowledged the "
                                    f"escalation about “{ASSESSMENT}”. "
                                    f"Comment: “The family was away; the visit is today.”")
    assert acknowledged["task_id"] == ids["escalation"]

    done = only(entries, "task.completed", visit.id)
    assert done["text"] == (f"On {en(date(2026, 1, 14))}, Dilnoza Karimova completed “{ASSESSMENT}”. "
                            f"The client was found to be in need of social services. "
                            f"“{ASSESSMENT}” was 2 working days late.")
    assert done["late_working_days"] == 2 and done["actor"]["username"] == "worker1"

    recognised = only(entries, "task.completed", ids["recognition"])
    assert recognised["text"] == (f"On {en(date(2026, 1, 14))}, Nodira Yusupova (supervisor) approved the "
                                  f"recognition of need.")
    assert recognised["late_working_days"] is None and recognised["actor"]["username"] == "supervisor1"

    returned = only(entries, "task.completed", ids["plan_approval"])
    assert returned["text"] == (f"On {en(date(2026, 1, 15))}, Nodira Yusupova (supervisor) returned the service "
                                f"plan with the comment: “{COMMENT}”")
    approved = only(entries, "task.completed", ids["second_approval"])
    assert approved["text"] == f"On {en(date(2026, 1, 20))}, Nodira Yusupova (supervisor) approved the service plan."

    held = only(entries, "case.held")
    assert held["text"] == (f"Put on hold by Dilnoza Karimova on {en(date(2026, 1, 15))} (waiting for the client): "
                            f"The client is in hospital until Tuesday.")
    resumed = only(entries, "case.resumed")
    assert resumed["text"] == (f"Resumed by Dilnoza Karimova on {en(date(2026, 1, 20))}; deadlines moved by "
                               f"3 working days.")

    monitoring = [t for t in texts if "completed “Monitoring visit”" in t]
    assert len(monitoring) == 1 and monitoring[0].endswith("Closing the case is proposed.")
    assert any(t.endswith("Proposed reason for closing: goals achieved.") for t in texts)
    closed = entries[-1]
    assert closed["action"] == "case.closed"
    assert closed["text"] == (f"Nodira Yusupova (supervisor) closed the case on "
                              f"{en(UZ.local_date(ids['closed_on']))}: goals achieved.")

    # Only the late work says so.
    assert [e["task_id"] for e in entries if "late" in e["text"]] == [visit.id, visit.id]
    assert [e["late_working_days"] for e in entries if e["late_working_days"] is not None] == [2, 2]


def test_the_russian_reader_gets_the_same_story_with_their_dates(engine, clock):
    ids = drive_a_whole_case(engine, clock)
    english, russian = timeline(engine, ids["case"]), timeline(engine, ids["case"], "ru")
    assert [(e["action"], e["at"], e["task_id"], e["actor"], e["late_working_days"]) for e in russian] == \
        [(e["action"], e["at"], e["task_id"], e["actor"], e["late_working_days"]) for e in english]
    for ours, theirs in zip(english, russian):
        assert ours["text"] != theirs["text"]  # every sentence carries a date or a due instant
        for name in ("Dilnoza Karimova", "Nodira Yusupova", "Oʻgʻiloy Toʻxtayeva"):
            assert ours["text"].count(name) == theirs["text"].count(name)
    russian_text, english_text = " ".join(e["text"] for e in russian), " ".join(e["text"] for e in english)
    assert day("ru", date(2026, 1, 14)) in russian_text and day("en", date(2026, 1, 14)) not in russian_text
    assert day("en", date(2026, 1, 14)) in english_text
    assert "Nodira Yusupova (супервизор)" in russian_text and "(supervisor)" not in russian_text
    assert COMMENT in russian_text  # the supervisor's own words are never translated


def test_escalation_decisions_reassignment_and_extension_are_told_once(engine, clock):
    cid = open_case(engine)["id"]
    complete_step(engine, cid, "register_referral", referral())
    visit = task_by_form(engine, cid, "needs_assessment")
    clock.set(visit.due_at + timedelta(minutes=1))  # Mon 12 Jan, 18:01
    assert tick(engine).by_kind["escalation"] == 1
    clock.set(UZ.add_working_days(visit.due_at, 3).due)  # Thu 15 Jan 18:00: the centre head's rung
    assert tick(engine).by_kind == {"escalation": 1}
    head_escalation = [t for t in open_tasks(engine, cid) if t.kind == "escalation" and t.rung == 2][0]
    clock.set(utc(2026, 1, 16, 5, 0))  # Fri 16 Jan 10:00
    tasks.complete_task(engine, actor(engine, "head1"), head_escalation.id, {"data": {
        "action": "extend", "working_days": 2, "reason": "The family was away at a funeral."}})
    extended = task_by_form(engine, cid, "needs_assessment")
    supervisor = actor(engine, "supervisor1")
    clock.advance(hours=1)
    tasks.assign_task(engine, supervisor, visit.id, {"user": "worker2", "reason": "Dilnoza is on leave."})
    clock.advance(hours=1)
    tasks.extend_deadline(engine, supervisor, visit.id, {"working_days": 1, "reason": "Handover to Jasur."})
    later = task_by_form(engine, cid, "needs_assessment")
    clock.advance(hours=1)
    complete_step(engine, cid, "needs_assessment", assessment())  # by worker2, before the moved deadline

    raw = raw_actions(engine, cid)
    assert raw.count("task.deadline_extended") == 2 and raw.count("task.assigned") == 1
    assert "escalation.resolved" in raw  # the supervisor's escalation closed itself on the extension
    entries = timeline(engine, cid)
    texts = [e["text"] for e in entries]
    escalated = [e for e in entries if e["action"] == "task.escalated"]
    assert [e["late_working_days"] for e in escalated] == [0, 3]
    assert escalated[0]["text"] == (f"“{ASSESSMENT}” was not done by its deadline; on {en(date(2026, 1, 12))} it "
                                    f"was escalated to the supervisor.")
    assert escalated[1]["text"] == (f"“{ASSESSMENT}” was 3 working days late; on {en(date(2026, 1, 15))} it was "
                                    f"escalated to the centre head.")
    [decided] = [e for e in entries if e["action"] == "escalation.decided"]
    assert decided["text"] == (f"Bahodir Ergashev (centre head) answered the escalation about “{ASSESSMENT}” on "
                               f"{en(date(2026, 1, 16))} by moving its deadline to "
                               f"{moment('en', extended.due_at, UZ.tz)}: The family was away at a funeral.")
    # The extension written by the decision is told once, as the decision; the supervisor's own extension is told.
    [moved] = [e for e in entries if e["action"] == "task.deadline_extended"]
    assert moved["text"] == (f"Nodira Yusupova (supervisor) moved the deadline of “{ASSESSMENT}” from "
                             f"{moment('en', extended.due_at, UZ.tz)} to {moment('en', later.due_at, UZ.tz)} on "
                             f"{en(date(2026, 1, 16))}: Handover to Jasur.")
    [given] = [e for e in entries if e["action"] == "task.assigned"]
    assert given["text"] == (f"Nodira Yusupova (supervisor) gave “{ASSESSMENT}” from Dilnoza Karimova to "
                             f"Jasur Toshmatov on {en(date(2026, 1, 16))}: Dilnoza is on leave.")
    done = only(entries, "task.completed", visit.id)
    assert done["text"].startswith(f"On {en(date(2026, 1, 16))}, Jasur Toshmatov completed “{ASSESSMENT}”.")
    assert done["late_working_days"] is None and "late" not in done["text"]
    assert not any("escalation.resolved" in e["action"] for e in entries) and len(texts) == len(set(texts))


def test_one_working_day_late_is_singular_and_a_late_evening_counts_as_late(engine, clock):
    cid = open_case(engine)["id"]
    referral_task = task_by_form(engine, cid, "register_referral")  # due Tue 6 Jan 18:00
    clock.set(referral_task.due_at + timedelta(hours=2))  # Tue 20:00: after the deadline, on its due day
    complete_step(engine, cid, "register_referral", referral())
    visit = task_by_form(engine, cid, "needs_assessment")
    clock.set(visit.due_at + timedelta(hours=16))  # the next working morning
    complete_step(engine, cid, "needs_assessment", assessment())
    entries = timeline(engine, cid)
    registered = only(entries, "task.completed", referral_task.id)
    assert registered["late_working_days"] == 0
    assert registered["text"].endswith("“Register referral” was done after its deadline, on its due day.")
    assessed = only(entries, "task.completed", visit.id)
    assert assessed["late_working_days"] == 1
    assert assessed["text"].endswith(f"“{ASSESSMENT}” was 1 working day late.")
