"""The consent register: consent per purpose (assessment, data sharing with a named agency, referral), given by
the person or a legal representative, with evidence and expiry; revocation opens a task for the case's worker;
a process step may require a valid consent. Through the service, the JSON API and the HTML app over real HTTP."""
from __future__ import annotations

import dataclasses

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from engine.db.models import AuditEvent, Consent, Task
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.process.definitions import check_definition, read_definition_files
from engine.services import consents, definitions, tasks
from tests.helpers import actor, audit_count, complete_step, open_case, open_tasks
from tests.sample_answers import answers, approval, assessment, referral
from tests.web_client import WebClient

TODAY = date(2026, 1, 5)  # the tests' clock: Mon 5 Jan 2026, 14:00 in Tashkent


def consent(purpose="referral", agency="Polyclinic No. 3", **extra) -> dict:
    payload = {"purpose": purpose, "given_by": "person", "given_at": TODAY.isoformat(),
               "evidence": "Signed form No. 12, scanned in the file"}
    if agency is not None:
        payload["agency"] = agency
    payload.update(extra)
    return payload


def consents_of(engine, case_id) -> list[Consent]:
    with engine.db.read() as session:
        return session.scalars(select(Consent).where(Consent.case_id == case_id).order_by(Consent.id)).all()


def valid(engine, case_id, purpose, agency=None, on=TODAY):
    with engine.db.read() as session:
        found = consents.valid_consent(session, case_id, purpose, agency, on=on)
        return found.id if found else None


def consent_tasks(engine, case_id) -> list[Task]:
    return [t for t in open_tasks(engine, case_id) if t.kind == "consent"]


# --- the service ------------------------------------------------------------------------------------------------

def test_record_validate_expire_and_revoke(engine, clock):
    cid = open_case(engine)["id"]
    worker = actor(engine, "worker1")
    assessment_consent = consents.record_consent(engine, worker, cid, consent("assessment", agency=None))
    assert assessment_consent["status"] == "valid" and assessment_consent["agency"] is None
    referral_consent = consents.record_consent(engine, worker, cid, consent(agency="  Polyclinic   No. 3 "))
    assert referral_consent["agency"] == "Polyclinic No. 3"
    sharing = consents.record_consent(engine, worker, cid, consent(
        "data_sharing", agency="Mahalla committee", given_by="legal_representative",
        representative_name="Zarina Karimova", representative_relation="mother",
        expires_on=(TODAY + timedelta(days=10)).isoformat()))
    assert sharing["given_by"] == "legal_representative" and sharing["representative_relation"] == "mother"

    assert valid(engine, cid, "assessment") == assessment_consent["id"]
    assert valid(engine, cid, "referral") == referral_consent["id"]  # any agency
    assert valid(engine, cid, "referral", "polyclinic no. 3") == referral_consent["id"]  # case and spacing ignored
    assert valid(engine, cid, "referral", "Polyclinic No. 4") is None
    assert valid(engine, cid, "data_sharing", "Mahalla committee") == sharing["id"]
    assert valid(engine, cid, "referral", on=TODAY - timedelta(days=1)) is None  # not given yet
    # Expiry: the last day still holds, the day after does not.
    assert valid(engine, cid, "data_sharing", on=TODAY + timedelta(days=10)) == sharing["id"]
    assert valid(engine, cid, "data_sharing", on=TODAY + timedelta(days=11)) is None
    clock.advance(days=11)
    listing = consents.list_consents(engine, worker, cid)
    assert {c["purpose"]: c["status"] for c in listing["items"]} == {
        "assessment": "valid", "referral": "valid", "data_sharing": "expired"}

    revoked = consents.revoke_consent(engine, actor(engine, "supervisor1"), referral_consent["id"],
                                      {"reason": "The client phoned: no referral to the polyclinic."})
    assert revoked["status"] == "revoked" and revoked["revoked_by"]["username"] == "supervisor1"
    assert valid(engine, cid, "referral", on=TODAY + timedelta(days=11)) is None
    with pytest.raises(Conflict):
        consents.revoke_consent(engine, worker, referral_consent["id"], {"reason": "Again, by mistake."})
    with engine.db.read() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == cid,
                                                                  AuditEvent.action.like("consent.%"))).all()
    assert actions == ["consent.recorded"] * 3 + ["consent.revoked"]


def test_revocation_opens_a_task_in_the_workers_inbox_which_they_mark_done(engine):
    cid = open_case(engine)["id"]
    recorded = consents.record_consent(engine, actor(engine, "worker1"), cid, consent())
    revoked = consents.revoke_consent(engine, actor(engine, "supervisor1"), recorded["id"],
                                      {"reason": "Withdrawn in writing."})
    [task] = consent_tasks(engine, cid)
    assert revoked["review_task_id"] == task.id
    worker = dataclasses.replace(actor(engine, "worker1"), language="en")  # demo users read Uzbek by default
    inbox = tasks.list_tasks(engine, worker, mine=True)["items"]
    [item] = [t for t in inbox if t["kind"] == "consent"]
    assert item["title"] == "Consent revoked: referral (Polyclinic No. 3) — review the case"
    assert item["assignee"]["username"] == "worker1" and item["consent"]["revocation_reason"] == "Withdrawn in writing."
    assert tasks.inbox_counts(engine, worker)["mine"] == 2  # the first process task and the review

    with pytest.raises(NotAllowed):  # it is the worker's: the supervisor does not tick it off for them
        tasks.complete_task(engine, actor(engine, "supervisor1"), task.id, {"data": {}})
    with pytest.raises(InvalidInput):
        tasks.complete_task(engine, worker, task.id, {"data": {"action": "acknowledge"}})
    done = tasks.complete_task(engine, worker, task.id, {"data": {"comment": "Told the polyclinic to stop."}})
    assert done["task"]["state"] == "completed" and consent_tasks(engine, cid) == []
    # the process went on untouched: its first task is still open
    assert [t.form_key for t in open_tasks(engine, cid)] == ["register_referral"]


def test_only_those_who_see_the_case_read_and_its_workers_and_supervisors_write(engine):
    cid = open_case(engine)["id"]  # worker1's case in district 1
    recorded = consents.record_consent(engine, actor(engine, "supervisor1"), cid, consent())
    for username in ("worker3", "supervisor2", "admin1"):  # another district; no case reads
        with pytest.raises(NotFound):
            consents.list_consents(engine, actor(engine, username), cid)
    for username in ("worker3", "supervisor2"):
        with pytest.raises(NotFound):
            consents.record_consent(engine, actor(engine, username), cid, consent())
        with pytest.raises(NotFound):
            consents.revoke_consent(engine, actor(engine, username), recorded["id"], {"reason": "Not mine."})
    for username in ("specialist1", "methodologist1", "admin1"):
        with pytest.raises(NotAllowed):
            consents.record_consent(engine, actor(engine, username), cid, consent())
    with pytest.raises(NotFound):  # worker2: same district, another mahalla
        consents.list_consents(engine, actor(engine, "worker2"), cid)
    assert consents.list_consents(engine, actor(engine, "head1"), cid)["items"][0]["id"] == recorded["id"]
    assert len(consents_of(engine, cid)) == 1


def test_bad_input_is_refused_field_by_field_and_nothing_is_stored(engine):
    cid = open_case(engine)["id"]
    worker = actor(engine, "worker1")
    before = audit_count(engine, cid)
    cases = [
        ({"given_by": "person"}, {"purpose", "given_at", "evidence"}),
        (consent("data_sharing", agency=None), {"agency"}),
        (consent("assessment", agency="Polyclinic No. 3"), {"agency"}),
        (consent(given_by="legal_representative"), {"representative_name", "representative_relation"}),
        (consent(representative_name="Zarina Karimova"), {"given_by"}),
        (consent(expires_on=(TODAY - timedelta(days=1)).isoformat()), {"expires_on"}),
        (consent(given_at=(TODAY + timedelta(days=1)).isoformat()), {"given_at"}),
        (consent(purpose="marketing"), {"purpose"}),
        (consent(person_id=999), {"person_id"}),
        (consent(evidence="ok"), {"evidence"}),
        (consent(colour="red"), {"colour"}),
    ]
    for payload, wanted in cases:
        with pytest.raises(InvalidInput) as err:
            consents.record_consent(engine, worker, cid, payload)
        assert set(err.value.fields) == wanted, (payload, err.value.fields)
    recorded = consents.record_consent(engine, worker, cid, consent())
    with pytest.raises(InvalidInput) as err:
        consents.revoke_consent(engine, worker, recorded["id"], {"reason": ""})
    assert set(err.value.fields) == {"reason"}
    assert len(consents_of(engine, cid)) == 1 and consents_of(engine, cid)[0].revoked_at is None
    assert audit_count(engine, cid) == before + 1


def test_a_household_consent_names_its_member(engine):
    worker = actor(engine, "worker1")
    case = open_case(engine, subject={"kind": "household", "name": "Karimovlar", "members": [
        {"full_name": "Zarina Karimova", "relation": "head"}, {"full_name": "Aziz Karimov", "relation": "child",
                                                              "birth_date": "2015-04-01"}]})
    child = case["subject"]["members"][1]["id"]
    with pytest.raises(InvalidInput) as err:
        consents.record_consent(engine, worker, case["id"], consent())
    assert set(err.value.fields) == {"person_id"}
    recorded = consents.record_consent(engine, worker, case["id"], consent(
        person_id=child, given_by="legal_representative", representative_name="Zarina Karimova",
        representative_relation="mother"))
    assert recorded["person"]["full_name"] == "Aziz Karimov"


def test_lint_checks_the_consent_properties():
    files = read_definition_files(*_definition_folders())
    bpmn = files["case_management.bpmn"]
    anchor = '<spiffworkflow:property name="formKey" value="service_delivery" />'
    for extra, message in [
        ('<spiffworkflow:property name="requires_consent" value="marketing" />', "use one of"),
        ('<spiffworkflow:property name="requires_consent" value="assessment" />'
         '<spiffworkflow:property name="consent_agency_field" value="delivery_notes" />', "names no agency"),
        ('<spiffworkflow:property name="requires_consent" value="referral" />'
         '<spiffworkflow:property name="consent_agency_field" value="nowhere" />', "not a field of form"),
    ]:
        problems = check_definition({**files, "case_management.bpmn": bpmn.replace(anchor, anchor + extra)})
        assert [p.rule for p in problems] == ["consent"] and message in problems[0].message, problems
    good = anchor + '<spiffworkflow:property name="requires_consent" value="referral" />'
    assert check_definition({**files, "case_management.bpmn": bpmn.replace(anchor, good)}) == []


def _definition_folders():
    from engine.settings import Settings
    settings = Settings(database_url="sqlite://", secret_key="test")
    return settings.workflows_dir, settings.forms_dir


# --- a step that requires a consent -----------------------------------------------------------------------------

def publish_requiring(engine, purpose="referral", agency_field=None):
    """The shipped set with the delivery step requiring a consent (as a methodologist would declare it)."""
    files = read_definition_files(engine.settings.workflows_dir, engine.settings.forms_dir)
    anchor = '<spiffworkflow:property name="formKey" value="service_delivery" />'
    extra = f'<spiffworkflow:property name="requires_consent" value="{purpose}" />'
    if agency_field:
        extra += f'<spiffworkflow:property name="consent_agency_field" value="{agency_field}" />'
    files["case_management.bpmn"] = files["case_management.bpmn"].replace(anchor, anchor + extra, 1)
    return definitions.publish(engine, files, note="delivery needs a referral consent")


def case_at_delivery(engine) -> tuple[int, Task]:
    cid = open_case(engine)["id"]
    complete_step(engine, cid, "register_referral", referral())
    complete_step(engine, cid, "needs_assessment", assessment())
    complete_step(engine, cid, "recognition_of_need", approval("approved"))
    complete_step(engine, cid, "service_plan", answers("service_plan"))
    complete_step(engine, cid, "plan_approval", approval("approved"))
    [task] = open_tasks(engine, cid)
    assert task.form_key == "service_delivery"
    return cid, task


def test_the_required_consent_step_is_refused_then_allowed(engine, anon):
    publish_requiring(engine, agency_field="delivery_notes")
    cid, task = case_at_delivery(engine)
    assert task.requires_consent == {"purpose": "referral", "agency_field": "delivery_notes"}
    worker = anon.login("worker1")
    status, shown = worker.get(f"/tasks/{task.id}")
    assert shown["requires_consent"]["purpose"] == "referral"
    data = answers("service_delivery", delivery_notes="Polyclinic No. 3")
    before = audit_count(engine, cid)

    status, body = worker.post(f"/tasks/{task.id}/complete", {"data": data})
    assert status == 409, body
    assert body["message"] == ("A valid consent for referral (Polyclinic No. 3) is needed before this step: "
                               "record it on the case page.")
    status, _ = worker.post(f"/cases/{cid}/consents", consent(agency="Polyclinic No. 4"))  # another agency
    assert status == 201
    status, body = worker.post(f"/tasks/{task.id}/complete", {"data": data})
    assert status == 409, body
    assert [t.id for t in open_tasks(engine, cid)] == [task.id] and audit_count(engine, cid) == before + 1

    status, _ = worker.post(f"/cases/{cid}/consents", consent(agency="polyclinic no. 3"))
    assert status == 201
    status, body = worker.post(f"/tasks/{task.id}/complete", {"data": data})
    assert status == 200, body
    assert body["task"]["state"] == "completed"


def test_without_an_agency_answer_any_agency_will_do_and_a_revoked_one_will_not(engine):
    publish_requiring(engine)
    cid, task = case_at_delivery(engine)
    worker = actor(engine, "worker1")
    recorded = consents.record_consent(engine, worker, cid, consent(agency="Employment centre"))
    consents.revoke_consent(engine, worker, recorded["id"], {"reason": "Changed her mind."})
    with pytest.raises(Conflict) as err:
        tasks.complete_task(engine, worker, task.id, {"data": answers("service_delivery")})
    assert err.value.message == ("A valid consent for referral is needed before this step: record it on the "
                                 "case page.")
    consents.record_consent(engine, worker, cid, consent(agency="Employment centre"))
    assert tasks.complete_task(engine, worker, task.id, {"data": answers("service_delivery")})["task"]["state"] \
        == "completed"


# --- the JSON API -----------------------------------------------------------------------------------------------

def test_the_api_records_lists_and_revokes_with_scopes_and_errors(engine, anon):
    worker, supervisor, far = anon.login("worker1"), anon.login("supervisor1"), anon.login("worker3")
    cid = open_case(engine)["id"]
    status, recorded = worker.post(f"/cases/{cid}/consents", consent())
    assert status == 201 and recorded["status"] == "valid" and recorded["recorded_by"]["username"] == "worker1"
    status, listing = supervisor.get(f"/cases/{cid}/consents")
    assert status == 200 and [c["id"] for c in listing["items"]] == [recorded["id"]]
    assert listing["today"] == "2026-01-05"

    for client, method, path, payload in [
            (far, "GET", f"/cases/{cid}/consents", None), (far, "POST", f"/cases/{cid}/consents", consent()),
            (far, "POST", f"/consents/{recorded['id']}/revoke", {"reason": "Not my case."}),
            (worker, "GET", "/cases/99999999/consents", None),
            (worker, "POST", "/consents/99999999/revoke", {"reason": "Unknown."})]:
        status, body = client.call(method, path, payload)
        assert status == 404, (path, body)

    status, body = worker.post(f"/cases/{cid}/consents", {"purpose": "data_sharing", "given_by": "person",
                                                          "given_at": "2026-13-01", "evidence": ""})
    assert status == 422 and set(body["fields"]) == {"given_at", "evidence"}, body
    status, body = worker.post(f"/cases/{cid}/consents", consent("data_sharing", agency=""))
    assert status == 422 and set(body["fields"]) == {"agency"}, body
    status, body = worker.post(f"/consents/{recorded['id']}/revoke", {})
    assert status == 422 and set(body["fields"]) == {"reason"}, body
    assert len(consents_of(engine, cid)) == 1 and consents_of(engine, cid)[0].revoked_at is None

    status, revoked = supervisor.post(f"/consents/{recorded['id']}/revoke", {"reason": "Withdrawn by phone."})
    assert status == 200 and revoked["status"] == "revoked"
    status, inbox = worker.get("/tasks?mine=true&kind=consent")
    assert status == 200 and [t["id"] for t in inbox["items"]] == [revoked["review_task_id"]]
    status, notes = worker.get("/notifications?lang=en")
    assert any("was revoked" in n["text"] for n in notes["items"]), notes
    status, done = worker.post(f"/tasks/{revoked['review_task_id']}/complete", {"data": {}})
    assert status == 200 and done["task"]["state"] == "completed", done
    status, again = supervisor.post(f"/consents/{recorded['id']}/revoke", {"reason": "Withdrawn by phone."})
    assert status == 409, again

    status, doc = anon.get("/openapi.json")
    assert {"/cases/{case_id}/consents", "/consents/{consent_id}/revoke"} <= set(doc["paths"])


# --- the HTML app -----------------------------------------------------------------------------------------------

def test_the_case_page_records_and_revokes_consents_without_javascript(engine, server):
    cid = open_case(engine)["id"]
    browser = WebClient(server.url)
    browser.login("worker1", language="en")
    page = browser.get(f"/cases/{cid}")
    assert page.status == 200 and "Consents" in page.texts("h2")
    assert page.texts("#consents + p.empty") == ["No consent recorded yet."]
    form = page.form("details.record-consent form")
    assert form["csrf_token"] and form["given_by"] == "person"
    for field in page.css("details.record-consent form input:not([type=hidden]), "
                          "details.record-consent form select, details.record-consent form textarea"):
        labels = page.css(f"label[for='{field.get('id')}']")
        assert labels, f"{field.get('name')} has no label"

    # Bad input: the page again, 422, the messages beside the fields, the answers kept, nothing stored.
    form.update({"purpose": "referral", "agency": "", "given_at": "2026-01-05", "evidence": "Form No. 12"})
    page = browser.post(f"/cases/{cid}/consents", form)
    assert page.status == 422
    assert page.texts("#agency-error") == ["Name the agency (e.g. Polyclinic No. 3)."]
    assert page.css("#consent-evidence")[0].text == "Form No. 12"
    assert consents_of(engine, cid) == []

    form = page.form("details.record-consent form")
    form.update({"agency": "Polyclinic No. 3", "expires_on": "2026-12-31"})
    page = browser.post(f"/cases/{cid}/consents", form)
    assert page.status == 200 and f"/cases/{cid}" in page.url
    assert "The consent is recorded." in page.texts(".flash")
    [card] = page.css("li.consent")
    assert card.get("class") == "card consent consent-valid"
    assert page.texts("li.consent h3") == ["Referral: Polyclinic No. 3 Valid"]
    assert page.texts("li.consent dd")[2] == "Thu 31 Dec 2026"

    revoke = page.form("details.revoke-consent form")
    revoke["reason"] = "x"
    page = browser.post(page.css("details.revoke-consent form")[0].get("action"), revoke)
    assert "Say why the consent was revoked (at least 3 characters)." in page.texts(".flash")
    revoke["reason"] = "The mother withdrew it in writing."
    page = browser.post(page.css("details.revoke-consent form")[0].get("action"), revoke)
    assert page.css("li.consent")[0].get("class") == "card consent consent-revoked"
    assert "The mother withdrew it in writing." in page.texts("li.consent dd")[4]
    assert not page.css("details.revoke-consent")

    # The review task is in the worker's inbox; the task page marks it done.
    inbox = browser.get("/tasks")
    [link] = [a.get("href") for a in inbox.css("main a") if "Consent revoked" in a.text_content()]
    task_page = browser.get(link)
    assert "Consent revoked: referral (Polyclinic No. 3) — review the case" in task_page.texts("h1")
    done = browser.post(link, {**task_page.form("main form"), "comment": "Stopped the referral."})
    assert done.status == 200 and "Done:" in done.texts("h1")[0]
    assert consent_tasks(engine, cid) == []


def test_the_task_page_says_which_consent_the_step_needs(engine, server):
    publish_requiring(engine)
    cid, task = case_at_delivery(engine)
    browser = WebClient(server.url)
    browser.login("worker1", language="en")
    page = browser.get(f"/tasks/{task.id}")
    assert "This step needs a valid consent for referral." in " ".join(page.texts(".flash.info"))
    form = {k: v for k, v in page.form("form.task-form").items() if not k.startswith("_")}
    form.update({"delivered-0-service_type": "household", "delivered-0-delivered_on": "2026-01-05",
                 "_action": "complete"})
    page = browser.post(f"/tasks/{task.id}", form)
    assert ("A valid consent for referral is needed before this step: record it on the case page."
            in page.texts(".flash"))
    assert [t.id for t in open_tasks(engine, cid)] == [task.id]


def test_a_worker_of_another_district_gets_not_found(engine, server):
    cid = open_case(engine)["id"]
    with engine.db.read() as session:
        count = session.scalar(select(func.count(Consent.id)))
    browser = WebClient(server.url)
    browser.login("worker3", language="en")
    csrf = browser.get("/profile").csrf()
    assert browser.post(f"/cases/{cid}/consents", {"csrf_token": csrf, **consent()}).status == 404
    assert browser.get(f"/cases/{cid}").status == 404
    with engine.db.read() as session:
        assert session.scalar(select(func.count(Consent.id))) == count
