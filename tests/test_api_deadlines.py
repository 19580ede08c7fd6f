"""Deadlines over the JSON API (real HTTP): due dates with explanations, notifications, extension, hold and
resume, calendar overrides, and the errors each gives for bad input."""
from __future__ import annotations

from datetime import timedelta


from engine.services.scheduler import tick
from tests.sample_answers import referral




def open_and_register(worker):
    status, mahallas = worker.get("/mahallas")
    status, case = worker.post("/cases", {"subject": {"kind": "person", "full_name": "Zulfiya Ismoilova"},
                                          "mahalla_id": mahallas["items"][0]["id"], "channel": "self",
                                          "summary": "Needs care at home."})
    assert status == 201, case
    first = case["open_tasks"][0]
    assert first["due_at"] and first["deadline_explanation"] and first["escalation_level"] == 0
    status, body = worker.post(f"/tasks/{first['id']}/complete", {"data": referral()})
    assert status == 200, body
    [assessment] = body["next_tasks"]
    return case["id"], assessment


def test_tasks_carry_due_dates_explanations_and_overdue(engine, clock, anon):
    worker = anon.login("worker1")
    cid, task = open_and_register(worker)
    assert "5 ish kuni" in task["deadline_explanation"] and task["overdue"] is False  # worker1 reads Uzbek
    status, en = worker.get(f"/tasks/{task['id']}?lang=en")
    assert status == 200 and "5 working days" in en["deadline_explanation"]
    status, ru = worker.get(f"/tasks/{task['id']}?lang=ru")
    assert status == 200 and "5 рабочих дней" in ru["deadline_explanation"]
    status, body = worker.get("/tasks?lang=tlh")
    assert status == 422 and "lang" in body["fields"]

    clock.set(clock.now() + timedelta(days=10))
    tick(engine)
    worker = anon.login("worker1")  # ten days on, yesterday's token has expired
    status, overdue = worker.get("/tasks?overdue=true&mine=true")
    assert [t["id"] for t in overdue["items"]] == [task["id"]] and overdue["items"][0]["escalation_level"] == 1
    status, cases = worker.get("/cases?overdue=true")
    assert cid in [c["id"] for c in cases["items"]]

    supervisor = anon.login("supervisor1")
    status, queue = supervisor.get(f"/tasks?queue=true&kind=escalation&case_id={cid}&lang=en")
    assert status == 200 and [t["kind"] for t in queue["items"]] == ["escalation"]
    escalation = queue["items"][0]
    assert escalation["escalates"]["id"] == task["id"] and "working days late" in escalation["title"]
    status, body = supervisor.post(f"/tasks/{escalation['id']}/complete", {"data": {"action": "delete"}})
    assert status == 422 and "action" in body["fields"]
    status, body = supervisor.put(f"/tasks/{escalation['id']}/draft", {"data": {}})
    assert status == 422


def test_notifications_over_http(engine, clock, anon):
    worker = anon.login("worker1")
    cid, task = open_and_register(worker)
    clock.set(clock.now() + timedelta(days=8))
    tick(engine)
    worker = anon.login("worker1")
    status, listed = worker.get("/notifications")
    assert status == 200 and listed["unread"] >= 1
    assert any(n["kind"] == "task.overdue" and n["task_id"] == task["id"] for n in listed["items"])
    first = listed["items"][0]["id"]
    status, body = worker.post(f"/notifications/{first}/read")
    assert status == 200 and body["unread"] == listed["unread"] - 1
    status, body = worker.post("/notifications/read")
    assert body == {"unread": 0}
    status, unread = worker.get("/notifications?unread=true")
    assert unread["items"] == [] and unread["unread"] == 0
    status, body = anon.login("supervisor1").post(f"/notifications/{first}/read")
    assert status == 404  # somebody else's notification


def test_extend_hold_and_resume_over_http(engine, clock, anon):
    worker, supervisor = anon.login("worker1"), anon.login("supervisor1")
    cid, task = open_and_register(worker)
    status, body = worker.post(f"/tasks/{task['id']}/extend", {"working_days": 2, "reason": "busy week"})
    assert status == 403
    status, body = supervisor.post(f"/tasks/{task['id']}/extend", {"working_days": 0, "reason": "no"})
    assert status == 422 and "working_days" in body["fields"]
    status, extended = supervisor.post(f"/tasks/{task['id']}/extend?lang=en",
                                       {"working_days": 2, "reason": "The client is in hospital."})
    assert status == 200 and extended["due_at"] > task["due_at"]
    assert "The client is in hospital" in extended["deadline_explanation"]

    status, body = worker.post(f"/cases/{cid}/hold", {"waiting_for": "client"})
    assert status == 422 and "reason" in body["fields"]
    status, held = worker.post(f"/cases/{cid}/hold", {"waiting_for": "client", "reason": "Client in hospital."})
    assert status == 200 and held["on_hold"] and held["open_tasks"][0]["clock_stopped"]
    status, body = worker.post(f"/cases/{cid}/hold", {"waiting_for": "client", "reason": "again please"})
    assert status == 409
    clock.set(clock.now() + timedelta(days=7))
    worker = anon.login("worker1")
    status, resumed = worker.post(f"/cases/{cid}/resume?lang=en")
    assert status == 200 and not resumed["on_hold"]
    assert resumed["open_tasks"][0]["due_at"] > extended["due_at"]
    assert "on hold" in resumed["open_tasks"][0]["deadline_explanation"]
    actions = [e["action"] for e in resumed["timeline"]]
    assert actions[-3:] == ["task.deadline_extended", "case.held", "case.resumed"]
    status, body = worker.post(f"/cases/{cid}/resume")
    assert status == 409
    status, body = worker.post("/cases/99999/hold", {"waiting_for": "client", "reason": "nobody here"})
    assert status == 404


def test_calendar_days_and_overrides(engine, anon):
    admin, worker = anon.login("admin1"), anon.login("worker1")
    status, days = worker.get("/calendars/UZ/days?from=2025-12-05&to=2025-12-09&lang=en")
    assert status == 200 and days["time_zone"] == "Asia/Tashkent"
    assert [(d["date"], d["working"], d["reason"]) for d in days["days"]] == [
        ("2025-12-05", True, None), ("2025-12-06", False, "weekend"), ("2025-12-07", False, "weekend"),
        ("2025-12-08", False, "holiday"), ("2025-12-09", True, None)]
    assert days["days"][3]["name"] == "Constitution Day"

    body = {"date": "2025-12-09", "kind": "day_off", "name": "Extra day off by decree"}
    status, _ = worker.post("/calendars/UZ/days", body)
    assert status == 403
    status, created = admin.post("/calendars/UZ/days", body)
    assert status == 201 and created["kind"] == "day_off"
    status, again = admin.post("/calendars/UZ/days", body)
    assert status == 409
    status, days = worker.get("/calendars/UZ/days?from=2025-12-09&to=2025-12-09")
    assert days["days"][0]["working"] is False and days["days"][0]["name"] == "Extra day off by decree"

    for path, bad in [("/calendars/XX/days", body), ("/calendars/UZ/days", {**body, "kind": "holiday"}),
                      ("/calendars/UZ/days", {**body, "date": "2025-02-30"}),
                      ("/calendars/UZ/days", {**body, "org_unit_id": 99999})]:
        status, error = admin.post(path, bad)
        assert status in (404, 422) and error["error"], (path, bad, status)
    status, error = worker.get("/calendars/UZ/days?from=2025-01-01&to=2027-01-01")
    assert status == 422
    status, error = worker.get("/calendars/UZ/days?from=yesterday")
    assert status == 422 and "from" in error["fields"]
    status, _ = admin.delete(f"/calendars/UZ/days/{created['id']}")
    assert status == 204
    status, days = worker.get("/calendars/UZ/days?from=2025-12-09&to=2025-12-09")
    assert days["days"][0]["working"] is True


def test_openapi_lists_the_deadline_routes(anon):
    status, doc = anon.get("/openapi.json")
    for path in ("/tasks/{task_id}/extend", "/cases/{case_id}/hold", "/cases/{case_id}/resume",
                 "/notifications", "/calendars/{code}/days"):
        assert path in doc["paths"], path
    assert "deadline_explanation" in doc["components"]["schemas"]["TaskOut"]["properties"]
