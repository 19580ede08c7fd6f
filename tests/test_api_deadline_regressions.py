"""Review: bad input to the deadline routes of the JSON API must give a clear 4xx, never a 500 (DESIGN §5).
Also the calendar view an administrator reads must match the calendar deadlines use. Real HTTP."""
from __future__ import annotations

from datetime import timedelta


from engine.services.scheduler import tick
from tests.sample_answers import referral

HUGE = 2 ** 63 + 1  # a JSON / URL integer: no bound is checked before it reaches the database




def open_and_register(worker):
    status, mahallas = worker.get("/mahallas")
    status, case = worker.post("/cases", {"subject": {"kind": "person", "full_name": "Zulfiya Ismoilova"},
                                          "mahalla_id": mahallas["items"][0]["id"], "channel": "self",
                                          "summary": "Needs care at home."})
    assert status == 201, case
    status, body = worker.post(f"/tasks/{case['open_tasks'][0]['id']}/complete", {"data": referral()})
    assert status == 200, body
    [assessment] = body["next_tasks"]
    return case["id"], assessment


def test_odd_numbers_and_dates_on_the_deadline_routes_are_4xx(engine, clock, anon):
    worker = anon.login("worker1")
    cid, task = open_and_register(worker)
    clock.set(clock.now() + timedelta(days=10))
    tick(engine)
    worker, supervisor, admin = anon.login("worker1"), anon.login("supervisor1"), anon.login("admin1")
    status, queue = supervisor.get(f"/tasks?queue=true&kind=escalation&case_id={cid}")
    escalation = queue["items"][0]["id"]
    calls = [
        (supervisor, "POST", f"/tasks/{escalation}/complete",
         {"data": {"action": "reassign", "user": HUGE, "reason": "worker1 is ill"}}),
        (supervisor, "POST", f"/tasks/{escalation}/complete",
         {"data": {"action": "extend", "until": "9999-12-31", "reason": "far away"}}),
        (supervisor, "POST", f"/tasks/{task['id']}/extend", {"until": "9999-12-30", "reason": "far away"}),
        (supervisor, "POST", f"/tasks/{task['id']}/assign", {"user": HUGE, "reason": "worker1 is ill"}),
        (supervisor, "POST", f"/notifications/{HUGE}/read", None),
        (supervisor, "GET", f"/tasks?case_id={HUGE}", None),
        (worker, "GET", "/calendars/UZ/days?from=9999-12-31", None),
        (worker, "GET", "/calendars/UZ/days?from=9999-12-01&to=9999-12-31", None),
        (worker, "GET", f"/calendars/UZ/days?org_unit={HUGE}", None),
        (admin, "POST", "/calendars/UZ/days", {"date": "2026-12-01", "kind": "day_off", "name": "x",
                                               "org_unit_id": HUGE}),
    ]
    failures = []
    for client, method, path, body in calls:
        status, answer = client.call(method, path, body)
        assert status != 401, (path, answer)
        if status >= 500:
            failures.append(f"{method} {path} {body} -> {status}")
    assert failures == [], "\n".join(failures)


def test_the_calendar_an_admin_reads_for_a_district_is_the_one_its_deadlines_use(engine, clock, anon):
    """A region-wide override (org_unit_id = the region) changes the deadlines of every district in it
    (``calendar_for`` applies the overrides of all ancestors), but ``GET /calendars/UZ/days?org_unit=<district>``
    only shows overrides stored for exactly that unit: the admin sees a working day the deadlines skip."""
    admin, worker = anon.login("admin1"), anon.login("worker1")
    status, me = worker.get("/me")
    district = me["district_id"]
    from engine.db.models import OrgUnit
    with engine.db.read() as session:
        region = session.get(OrgUnit, district).parent_id
    assert region is not None
    status, created = admin.post("/calendars/UZ/days", {"date": "2026-01-07", "kind": "day_off",
                                                        "name": "Regional day off", "org_unit_id": region})
    assert status == 201, created
    cid, task = open_and_register(worker)  # opened Mon 5 Jan 2026: 5 working days, Wed 7 Jan skipped
    assert "2026-01-07" in [s["date"] for s in engine_task_skipped(engine, task["id"])]
    status, days = admin.get(f"/calendars/UZ/days?from=2026-01-07&to=2026-01-07&org_unit={district}")
    assert status == 200
    assert days["days"][0]["working"] is False, days


def engine_task_skipped(engine, task_id):
    from engine.db.models import Task
    with engine.db.read() as session:
        return session.get(Task, task_id).deadline["skipped"]
