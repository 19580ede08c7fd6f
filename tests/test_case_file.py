"""The case file: the whole case (every answer, each version of the plan, the story, documents issued, deadlines,
escalations, holds, consents) as JSON and as a PDF in the reader's language; each export is logged as a read of
the case and as ``case.file_exported``; whoever may not read the case gets 404 and leaves no export behind."""
from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.db.models import AuditEvent
from engine.errors import InvalidInput, NotFound
from engine.i18n import gettext
from engine.services import breakglass, case_file, cases, consents
from engine.services.audit import record
from engine.services.scheduler import tick
from tests.api_client import LiveServer
from tests.helpers import actor, open_case
from tests.pdf_check import assert_readable_pdf, pdf_text
from tests.sample_answers import answers, approval, assessment, referral
from tests.test_process_paths import step
from tests.web_client import WebClient

NAME = "Oʻgʻiloy Toʻxtayeva"
PLAN_1 = answers("service_plan", goals="Warm home for the winter.")
PLAN_2 = answers("service_plan", goals="Warm home; polyclinic every month.")
PLAN_3 = answers("service_plan", goals="Daughter takes over the shopping.",
                 services=[{"service_type": "legal", "provider": "Legal aid office", "frequency": "once",
                            "responsible": "Social worker", "target_date": "2026-04-01"}])
DOCUMENT = "referral_letter"
FORMS = Path(__file__).resolve().parents[1] / "forms"


def walked_case(engine, clock) -> int:
    """A case walked to its plan's third version: a returned plan, a late assessment escalated, a hold, a
    revision after monitoring, a consent and a document issued."""
    case_id = open_case(engine)["id"]
    worker = actor(engine, "worker1")
    consents.record_consent(engine, worker, case_id, {
        "purpose": "assessment", "given_by": "person", "given_at": engine.now().date().isoformat(),
        "evidence": "Signed form No. 12"})
    step(engine, case_id, "register_referral", referral())
    clock.advance(days=10)  # the home visit is late: the ladder escalates it to the supervisors
    tick(engine)
    step(engine, case_id, "needs_assessment", assessment())
    step(engine, case_id, "recognition_of_need", approval("approved"))
    step(engine, case_id, "service_plan", PLAN_1)
    step(engine, case_id, "plan_approval", approval("returned", "Add the polyclinic."))
    step(engine, case_id, "service_plan", PLAN_2)
    step(engine, case_id, "plan_approval", approval("approved"))
    cases.hold_case(engine, worker, case_id, {"waiting_for": "client", "reason": "In hospital until Monday."})
    clock.advance(days=3)
    cases.resume_case(engine, worker, case_id)
    step(engine, case_id, "service_delivery", answers("service_delivery"))
    step(engine, case_id, "monitoring_visit", answers("monitoring_visit", outcome="revise_plan"))
    step(engine, case_id, "service_plan", PLAN_3)
    step(engine, case_id, "plan_approval", approval("approved"))
    with engine.db.write() as session:  # what the documents service writes when it issues one
        record(session, engine.now(), "document.issued", actor_id=worker.id, case_id=case_id, document=DOCUMENT,
               language="ru", version=1, origin="127.0.0.1")
    return case_id


def _count(engine, case_id, action, actor_id=None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case_id,
                                                               AuditEvent.action == action)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    with engine.db.read() as session:
        return session.scalar(query)


def test_the_file_holds_every_answer_each_plan_version_and_what_happened(engine, clock):
    case_id = walked_case(engine, clock)
    supervisor = actor(engine, "supervisor1")
    reads, exports = _count(engine, case_id, "case.viewed"), _count(engine, case_id, "case.file_exported")

    file = case_file.case_file(engine, supervisor, case_id)
    json.dumps(file)  # JSON as it is
    assert (file["format"], file["format_version"]) == ("yordam.case_file", 1)
    assert file["case"]["id"] == case_id and file["case"]["subject"]["full_name"] == NAME

    # every answer of every form, in the order given
    keys = [f["form_key"] for f in file["forms"]]
    assert keys == ["register_referral", "needs_assessment", "recognition_of_need", "service_plan", "plan_approval",
                    "service_plan", "plan_approval", "service_delivery", "monitoring_visit", "service_plan",
                    "plan_approval"]
    given = [referral(), assessment(), approval("approved"), PLAN_1, approval("returned", "Add the polyclinic."),
             PLAN_2, approval("approved"), answers("service_delivery"),
             answers("monitoring_visit", outcome="revise_plan"), PLAN_3, approval("approved")]
    for entry, sent in zip(file["forms"], given):
        assert {k: v for k, v in entry["answers"].items() if v is not None} == \
            {k: v for k, v in sent.items() if v is not None}, entry["form_key"]
        assert entry["completed_by"] and entry["completed_at"] and entry["fields"]
    # the words beside the codes, in the reader's language (supervisor1 reads Uzbek)
    assessment_rows = {r["key"]: r for r in file["forms"][1]["fields"]}
    assert assessment_rows["living_conditions"]["value"] == "poor"
    assert assessment_rows["living_conditions"]["text"] not in ("poor", "Poor")

    # each version of the plan, with why it was drawn up and what was decided on it
    plans = file["plan_versions"]
    assert [p["answers"]["goals"] for p in plans] == [PLAN_1["goals"], PLAN_2["goals"], PLAN_3["goals"]]
    assert [p["reason"] for p in plans] == ["first", "returned", "revised"]
    assert [p["review"]["decision"] for p in plans] == ["returned", "approved", "approved"]
    assert plans[0]["review"]["comment"] == "Add the polyclinic."
    services = next(r for r in plans[2]["fields"] if r["key"] == "services")
    assert [[c["value"] for c in item][:2] for item in services["items"]] == [["legal", "Legal aid office"]]

    # the story, deadlines met and missed, the escalation, the hold, the consent, the document
    assert len(file["timeline"]) >= 20 and all(e["text"] for e in file["timeline"])
    assert any(e["action"] == "case.held" for e in file["timeline"])
    statuses = {d["title"]: d["status"] for d in file["deadlines"]}
    assert "missed" in statuses.values() and "met" in statuses.values()
    missed = next(d for d in file["deadlines"] if d["status"] == "missed")
    assert missed["late_working_days"] >= 1
    assert file["escalations"] and file["escalations"][0]["role"] == "supervisor"
    assert file["escalations"][0]["text"]
    assert [(h["waiting_for"], h["reason"]) for h in file["holds"]] == [("client", "In hospital until Monday.")]
    assert file["holds"][0]["to"] is not None
    assert [(c["purpose"], c["evidence"]) for c in file["consents"]] == [("assessment", "Signed form No. 12")]
    assert [(d["name"], d["language"], d["by"]["username"]) for d in file["documents"]] == [
        (DOCUMENT, "ru", "worker1")]

    # the export is a read of the case (the access log) and an export row, once each
    assert _count(engine, case_id, "case.viewed") == reads + 1
    assert _count(engine, case_id, "case.file_exported") == exports + 1
    with engine.db.read() as session:
        row = session.scalar(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                      AuditEvent.action == "case.file_exported"))
        assert row.actor_id == supervisor.id and row.details["format"] == "json"


def test_whoever_may_not_read_the_case_gets_not_found_and_leaves_no_export(engine):
    case_id = open_case(engine)["id"]
    before = _count(engine, case_id, "case.file_exported"), _count(engine, case_id, "case.viewed")
    for username in ("worker3", "supervisor2", "methodologist1", "admin1"):  # other district; no case contents
        who = actor(engine, username)
        with pytest.raises(NotFound):
            case_file.case_file(engine, who, case_id)
    worker = actor(engine, "worker1")
    for bad in (0, -1, 2 ** 31, 10 ** 12, "1", None, True, 1.5, case_id + 1000):
        with pytest.raises(NotFound):
            case_file.case_file(engine, worker, bad)
    with pytest.raises(InvalidInput):
        case_file.case_file(engine, worker, case_id, format="docx")
    assert (_count(engine, case_id, "case.file_exported"), _count(engine, case_id, "case.viewed")) == before

    # an administrator with break-glass access reads the file as the case page, and it is logged
    admin = actor(engine, "admin1")
    breakglass.open_access(engine, admin, {"case_id": case_id, "reason": "Court request No. 5 for the file",
                                           "minutes": 30})
    admin = dataclasses.replace(admin, granted_case_ids=frozenset({case_id}))
    assert case_file.case_file(engine, admin, case_id)["case"]["id"] == case_id
    assert _count(engine, case_id, "case.file_exported", admin.id) == 1


def test_a_new_case_and_a_case_without_its_answers(sqlite_engine):
    """A case just opened has no forms and no plan; an anonymised one keeps its skeleton and no answers."""
    engine = sqlite_engine
    case_id = open_case(engine)["id"]
    file = case_file.case_file(engine, actor(engine, "worker1"), case_id)
    assert file["forms"] == [] and file["plan_versions"] == [] and file["open_tasks"]
    with engine.db.write() as session:
        from engine.db.models import Case
        session.get(Case, case_id).state = ""
    assert case_file.case_file(engine, actor(engine, "worker1"), case_id)["forms"] == []


def _expected(language: str) -> list[str]:
    """What a reader of ``language`` must find in the PDF: the name, headings and the plan's items in their words."""
    plan_words = json.loads((FORMS / "service_plan.i18n.json").read_text(encoding="utf-8"))[language]
    heading = gettext(language, "Individual service plan")
    assert heading != "Individual service plan", language  # the catalogue translates it
    return [NAME, heading, gettext(language, "What happened"), plan_words["Service type"],
            plan_words["Social-legal"], "Legal aid office", PLAN_3["goals"]]


@pytest.fixture
def sqlite_server(sqlite_engine):
    from webui import create_app
    with LiveServer(create_app(sqlite_engine)) as live:
        yield live


def _download(client: WebClient, path: str) -> tuple[int, str, bytes]:
    try:
        with client.opener.open(client.base_url + path, timeout=120) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


@pytest.mark.parametrize("language", ["uz", "uz-Cyrl", "ru", "kk", "ky"])
def test_the_pdf_in_the_readers_language(sqlite_engine, sqlite_server, clock, language):
    case_id = walked_case(sqlite_engine, clock)
    client = WebClient(sqlite_server.url)
    client.login("supervisor1", language=language)
    page = client.get(f"/cases/{case_id}")
    links = [a.get("href") for a in page.css("a[download]")]
    assert f"/cases/{case_id}/file.pdf" in links and f"/cases/{case_id}/file.json" in links
    status, kind, pdf = _download(client, f"/cases/{case_id}/file.pdf")
    assert status == 200 and kind == "application/pdf"
    assert_readable_pdf(pdf, *_expected(language))
    with sqlite_engine.db.read() as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                       AuditEvent.action == "case.file_exported")).one()
        assert row.details["format"] == "pdf" and row.details["origin"] == "127.0.0.1"


def test_the_web_json_and_the_api(sqlite_engine, sqlite_server, clock):
    engine = sqlite_engine
    case_id = walked_case(engine, clock)
    client = WebClient(sqlite_server.url)
    client.login("worker1", language="ru")
    status, kind, body = _download(client, f"/cases/{case_id}/file.json")
    assert status == 200 and kind.startswith("application/json")
    assert json.loads(body)["plan_versions"][1]["answers"]["goals"] == PLAN_2["goals"]

    from tests.api_client import Client
    api = Client(sqlite_server.url).login("supervisor1")
    status, file = api.get(f"/cases/{case_id}/file?lang=ru")
    assert status == 200 and file["language"] == "ru" and len(file["plan_versions"]) == 3
    request = urllib.request.Request(f"{sqlite_server.url}/api/v1/cases/{case_id}/file.pdf?lang=kk",
                                     headers={"Authorization": f"Bearer {api.token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        pdf = response.read()
        assert response.headers["Content-Type"] == "application/pdf"
    assert gettext("kk", "Individual service plan") in pdf_text(pdf)

    other = Client(sqlite_server.url).login("worker3")
    exports = _count(engine, case_id, "case.file_exported")
    assert other.get(f"/cases/{case_id}/file")[0] == 404
    assert other.get(f"/cases/{case_id}/file.pdf")[0] == 404
    assert other.get("/cases/999999/file")[0] == 404
    outsider = WebClient(sqlite_server.url)
    outsider.login("worker3")
    assert _download(outsider, f"/cases/{case_id}/file.pdf")[0] == 404
    assert _download(outsider, f"/cases/{case_id}/file.json")[0] == 404
    assert _count(engine, case_id, "case.file_exported") == exports
    # 3 exports above: web JSON, API JSON, API PDF
    assert exports == 3


def test_a_household_case_file(sqlite_engine, sqlite_server):
    """A household's file names every member with their relation; a case without forms still prints."""
    engine = sqlite_engine
    worker = actor(engine, "worker1")
    case_id = cases.open_case(engine, worker, {
        "subject": {"kind": "household", "name": "Qodirovlar oilasi", "members": [
            {"full_name": "Jasur Qodirov", "relation": "head", "birth_date": "1980-02-01", "sex": "male"},
            {"full_name": "Malika Qodirova", "relation": "child", "birth_date": "2015-06-30", "sex": "female"}]},
        "mahalla_id": min(worker.mahalla_ids), "channel": "school", "summary": "The children miss school."})["id"]
    file = case_file.case_file(engine, worker, case_id)
    assert [m["full_name"] for m in file["case"]["subject"]["members"]] == ["Jasur Qodirov", "Malika Qodirova"]
    client = WebClient(sqlite_server.url)
    client.login("worker1", language="en")
    status, _, pdf = _download(client, f"/cases/{case_id}/file.pdf")
    assert status == 200
    assert_readable_pdf(pdf, "Qodirovlar oilasi", "Jasur Qodirov — Head of household", "Malika Qodirova — Child",
                        "No plan yet.", "Forms and answers")
