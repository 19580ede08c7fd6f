"""Break-glass: an administrator reads one case for a limited time with a reason, logged and shown to the
district's supervisors; never acts on it; sees nothing once it ends."""
from __future__ import annotations

from sqlalchemy import select

from engine.db.models import AuditEvent, Case, User
from tests.helpers import open_case
from tests.web_client import WebClient

REASON = "The person asked for a copy of their file (request No. 17)"


def _case_and_districts(engine):
    """A case of worker1 (district of supervisor1), and a supervisor of the other district."""
    case_id = open_case(engine, "worker1")["id"]
    with engine.db.read() as session:
        case = session.get(Case, case_id)
        other = session.scalar(select(User).where(User.role == "supervisor", User.district_id != case.district_id))
        return case.id, case.subject_name, other.username


def test_an_administrator_reads_one_case_for_a_while_and_supervisors_see_it(engine, anon):
    case_id, subject, other_supervisor = _case_and_districts(engine)
    admin = anon.login("admin1")
    assert admin.get(f"/cases/{case_id}")[0] == 404  # no case contents by default

    status, body = admin.post("/break-glass", {"case_id": case_id, "reason": "curious"})
    assert status == 422 and "reason" in body["fields"]
    assert admin.post("/break-glass", {"case_id": 999999, "reason": REASON})[0] == 404
    assert admin.get(f"/cases/{case_id}")[0] == 404  # refusals opened nothing

    status, grant = admin.post("/break-glass", {"case_id": case_id, "reason": REASON, "minutes": 30})
    assert status == 201 and grant["active"] and grant["case_id"] == case_id
    status, case = admin.get(f"/cases/{case_id}")
    assert status == 200 and subject in str(case)
    with engine.db.read() as session:
        admin_id = session.scalar(select(User.id).where(User.username == "admin1"))
        reads = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                         AuditEvent.action == "case.viewed",
                                                         AuditEvent.actor_id == admin_id)).all()
    assert len(reads) == 1 and reads[0].details["origin"] == "127.0.0.1"

    # to read, never to act
    status, tasks = admin.get(f"/tasks?case_id={case_id}")
    assert status == 200
    for task in tasks["items"]:
        assert admin.post(f"/tasks/{task['id']}/claim")[0] in (403, 404, 409)
    assert admin.post(f"/cases/{case_id}/hold", {"waiting_for": "client", "reason": "testing"})[0] in (403, 404)

    supervisor = anon.login("supervisor1")
    status, listing = supervisor.get("/break-glass")
    assert status == 200 and [(g["case_id"], g["reason"], g["active"]) for g in listing["items"]] == [
        (case_id, REASON, True)]
    status, notes = supervisor.get("/notifications?lang=en")
    assert any("break-glass" in n["text"] and REASON in n["text"] for n in notes["items"])
    assert anon.login(other_supervisor).get("/break-glass")[1]["items"] == []
    assert anon.login("worker1").get("/break-glass")[0] == 403
    assert anon.login("worker1").post("/break-glass", {"case_id": case_id, "reason": REASON})[0] == 403

    engine.clock.advance(minutes=31)
    assert admin.get(f"/cases/{case_id}")[0] == 404  # ended by itself
    assert supervisor.get("/break-glass")[1]["items"][0]["active"] is False


def test_ending_break_glass_early(engine, anon):
    case_id, _, _ = _case_and_districts(engine)
    admin = anon.login("admin1")
    grant = admin.post("/break-glass", {"case_id": case_id, "reason": REASON})[1]
    assert admin.get(f"/cases/{case_id}")[0] == 200
    assert anon.login("admin1").post(f"/break-glass/{grant['id']}/close")[0] == 204  # same admin, other token
    assert admin.get(f"/cases/{case_id}")[0] == 404
    assert anon.login("supervisor1").post(f"/break-glass/{grant['id']}/close")[0] == 404  # not theirs


def test_break_glass_in_the_browser(engine, server):
    case_id, subject, _ = _case_and_districts(engine)
    admin = WebClient(server.url)
    admin.login("admin1", language="en")
    page = admin.get("/break-glass")
    assert page.status == 200 and page.css("label[for=reason]") and page.css("label[for=case_id]")
    refused = admin.post("/break-glass", {"csrf_token": page.csrf(), "case_id": str(case_id), "reason": "x"})
    assert refused.status == 422 and refused.css("#reason-error")
    opened = admin.post("/break-glass", {"csrf_token": page.csrf(), "case_id": f"№{case_id}", "reason": REASON,
                                         "minutes": "15"})
    assert opened.status == 200 and opened.url.endswith(f"/cases/{case_id}") and subject in opened.text
    assert "supervisors were told" in opened.text
    assert "opened break-glass access to this case" in opened.text and REASON in opened.text  # on the timeline

    supervisor = WebClient(server.url)
    supervisor.login("supervisor1", language="en")
    dashboard = supervisor.get("/dashboard")
    rows = dashboard.css("#break-glass + table tbody tr")
    assert len(rows) == 1 and REASON in rows[0].text_content() and "open now" in rows[0].text_content()
