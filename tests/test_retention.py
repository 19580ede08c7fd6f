"""A person's export holds every record about them; after the retention date the nightly job leaves no personal
data behind in any table, except for cases under legal hold."""
from __future__ import annotations

import json

from sqlalchemy import select, text

from engine.db.models import Base, Case
from engine.services import consents, retention
from tests.helpers import actor, case_row, open_case
from tests.sample_answers import answers, approval, assessment, referral
from tests.test_process_paths import step
from tests.web_client import WebClient

NAME = "Zulfiya Rahimberdiyeva"
SUMMARY = "Lives alone above the bakery; no heating since October."
TRACES = ["zulfiya", "rahimberd", "зульфия", "1950-03-15", "bakery", "saidakbar", "form no. 77"]


def closed_case(engine) -> int:
    case_id = open_case(engine, name=NAME, summary=SUMMARY)["id"]
    consents.record_consent(engine, actor(engine, "worker1"), case_id, {
        "purpose": "referral", "agency": "Polyclinic No. 3", "given_by": "legal_representative",
        "representative_name": "Saidakbar Rahimberdiyev", "representative_relation": "son",
        "given_at": engine.now().date().isoformat(), "evidence": "Signed form No. 77"})
    step(engine, case_id, "register_referral", referral())
    step(engine, case_id, "needs_assessment", assessment(in_need=False, risk_factors=[], needs=[]))
    step(engine, case_id, "recognition_of_need", approval("approved"))
    step(engine, case_id, "closure_proposal", answers("closure_proposal", closure_reason="not_in_need"))
    step(engine, case_id, "closure_approval", approval("approved"))
    assert case_row(engine, case_id).status == "closed"
    return case_id


def everything_stored(engine) -> str:
    """Every row of every table, as lower-case text."""
    rows = []
    with engine.db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in ("users", "definition_versions", "org_units"):
                continue  # staff and the process definition hold no client data
            for row in session.execute(text(f"SELECT * FROM {table.name}")):
                rows.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(rows).lower()


def test_the_export_holds_every_record_about_the_person(engine, anon):
    case_id = closed_case(engine)
    worker = anon.login("worker1")
    assert worker.get(f"/cases/{case_id}")[0] == 200
    status, export = worker.get(f"/cases/{case_id}/export")
    assert status == 200
    assert export["case"]["id"] == case_id and NAME in json.dumps(export, ensure_ascii=False)
    assert [p["full_name"] for p in export["persons"]] == [NAME] and export["persons"][0]["birth_date"] == "1950-03-15"
    assert len(export["tasks"]) >= 5 and all(t["completed_at"] for t in export["tasks"])
    actions = [h["action"] for h in export["history"]]
    assert "case.opened" in actions and actions.count("task.completed") >= 5
    assert export["access_log"] and export["access_log"][0]["from"] == "127.0.0.1"
    assert export["retention"]["personal_data_removed_after"] is not None
    assert [c["representative_name"] for c in export["consents"]] == ["Saidakbar Rahimberdiyev"]
    assert anon.login("worker3").get(f"/cases/{case_id}/export")[0] == 404  # another district: not found
    # the export itself is logged
    assert worker.get(f"/cases/{case_id}/export")[1]["history"][-1]["action"] == "case.exported"


def test_the_printable_export_in_the_browser(engine, server):
    case_id = closed_case(engine)
    client = WebClient(server.url)
    client.login("worker1", language="ru")
    page = client.get(f"/cases/{case_id}/export")
    assert page.status == 200 and NAME in page.text and page.css("html[lang=ru]")
    download = client.get(f"/cases/{case_id}/export?format=json")
    assert json.loads(download.text)["persons"][0]["full_name"] == NAME


def test_after_the_retention_date_no_personal_data_is_left(engine, clock):
    case_id = closed_case(engine)
    kept_id = closed_case(engine)
    supervisor = actor(engine, "supervisor1")
    retention.set_legal_hold(engine, supervisor, kept_id, "Prosecutor's request No. 44")
    assert retention.run(engine)["anonymised"] == []  # not yet due
    assert any(trace in everything_stored(engine) for trace in TRACES)

    clock.advance(days=365 * 5 + 3)
    report = retention.run(engine)
    assert report["anonymised"] == [case_id] and report["on_legal_hold"] == [kept_id]
    with engine.db.read() as session:
        gone = session.get(Case, case_id)
        assert gone.anonymised_at is not None and gone.search_key == "" and gone.state == ""
        kept = session.get(Case, kept_id)
        assert kept.subject_name == NAME and kept.anonymised_at is None

    retention.set_legal_hold(engine, supervisor, kept_id, None)
    assert retention.run(engine)["anonymised"] == [kept_id]
    stored = everything_stored(engine)
    assert [trace for trace in TRACES if trace in stored] == []
    assert retention.run(engine)["anonymised"] == []  # nothing twice
    # the statistical skeleton stays, and the case still opens
    from engine.services import cases
    with engine.db.read() as session:
        assert session.scalar(select(Case.stage).where(Case.id == case_id)) == "closure"
    assert cases.get_case(engine, supervisor, case_id)["status"] == "closed"


def test_only_supervisors_put_a_legal_hold(engine):
    from engine.errors import InvalidInput, NotAllowed
    case_id = open_case(engine)["id"]
    import pytest
    with pytest.raises(NotAllowed):
        retention.set_legal_hold(engine, actor(engine, "worker1"), case_id, "because")
    with pytest.raises(InvalidInput):
        retention.set_legal_hold(engine, actor(engine, "supervisor1"), case_id, "x")


# --- rectification ----------------------------------------------------------------------------------------------

def test_a_person_has_their_details_corrected_with_history(engine, anon):
    case_id = open_case(engine, name=NAME, summary=SUMMARY)["id"]
    worker = anon.login("worker1")
    person_id = worker.get(f"/cases/{case_id}")[1]["subject"]["id"]

    status, body = worker.post(f"/cases/{case_id}/rectify", {"person_id": person_id, "reason": "passport"})
    assert status == 422  # nothing to correct
    status, body = worker.post(f"/cases/{case_id}/rectify", {"person_id": person_id, "full_name": "X Y",
                                                              "reason": "x"})
    assert status == 422 and "reason" in body["fields"]
    assert anon.login("worker2").post(f"/cases/{case_id}/rectify", {
        "person_id": person_id, "full_name": "Someone Else", "reason": "because"})[0] in (403, 404)

    status, body = worker.post(f"/cases/{case_id}/rectify", {
        "person_id": person_id, "full_name": "Zulfiya Rahimberdiyeva-Karimova", "birth_date": "1951-03-15",
        "reason": "Her passport shows a double surname and 1951"})
    assert status == 200 and body["before"] == {"full_name": NAME, "birth_date": "1950-03-15"}
    case = worker.get(f"/cases/{case_id}?lang=en")[1]
    assert case["subject"]["full_name"] == "Zulfiya Rahimberdiyeva-Karimova"
    assert case["subject_name"] == "Zulfiya Rahimberdiyeva-Karimova"
    story = " ".join(entry["text"] for entry in case["story"])
    assert f"the name (was “{NAME}”)" in story and "Her passport shows a double surname" in story
    # the search follows the new name, in either script
    assert [c["id"] for c in worker.get("/cases?q=Каримова")[1]["items"]] == [case_id]
    # the old values stay in the person's export
    export = worker.get(f"/cases/{case_id}/export")[1]
    rectified = [h for h in export["history"] if h["action"] == "person.rectified"]
    assert rectified[0]["details"]["before"]["full_name"] == NAME


def test_correcting_details_in_the_browser(engine, server):
    case_id = open_case(engine, name=NAME)["id"]
    client = WebClient(server.url)
    client.login("worker1", language="en")
    page = client.get(f"/cases/{case_id}")
    form = page.form("details.rectify form")
    form.update({"full_name": "Zulfiya Rahimova", "reason": "Spelling in the referral was wrong"})
    after = client.post(f"/cases/{case_id}/rectify", form)
    assert after.status == 200 and "Zulfiya Rahimova" in after.texts("h1")[0]
    assert "the old ones stay in the history" in after.text
