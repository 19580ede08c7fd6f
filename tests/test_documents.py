"""Documents of a case (issue 8 item 2): the service plan, the assessment act, the referral letter and the closure
summary, as PDFs from the templates of the published set, in the reader's language, with the organisation's header.

PDFs cost 50–300 ms each: the file renders about twenty-five, mostly on SQLite (PostgreSQL adds nothing to a
template); the access check and the audit run on both databases.
"""
from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import select

from engine.db.models import AuditEvent
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.process.definitions import check_definition, read_definition_files
from engine.services import documents, drafts
from engine.services.demo import actor, complete_step
from tests.helpers import open_case
from tests.pdf_check import assert_readable_pdf, pdf_text
from tests.sample_answers import answers, approval, assessment, referral
from tests.web_client import WebClient

NAMES = ("service_plan", "assessment_act", "referral_letter", "closure_summary")
CLIENT = "Oʻgʻiloy Toʻxtayeva"
WALK = [("register_referral", referral), ("needs_assessment", assessment),
        ("recognition_of_need", lambda: approval("approved")), ("service_plan", lambda: answers("service_plan")),
        ("plan_approval", lambda: approval("approved")), ("service_delivery", lambda: answers("service_delivery")),
        ("monitoring_visit", lambda: answers("monitoring_visit", outcome="close")),
        ("closure_proposal", lambda: answers("closure_proposal")), ("closure_approval", lambda: approval("approved"))]


def walked_case(engine, steps=len(WALK)) -> int:
    case_id = open_case(engine, name=CLIENT)["id"]
    for form_key, make in WALK[:steps]:
        complete_step(engine, case_id, form_key, make())
    return case_id


def audit_rows(engine, case_id, action="document.issued"):
    with engine.db.read() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                        AuditEvent.action == action)).all()


# --- the four documents in five languages -------------------------------------------------------------------

#: Per language: each document's heading, and words that must come from the forms' translations (service types,
#: referral destinations, closure reasons) and the dates in words.
EXPECTED = {
    "uz": {"service_plan": ["Ijtimoiy xizmatlar koʻrsatishning individual rejasi", "Ijtimoiy-maishiy", "Moddiy yordam"],
           "assessment_act": ["Ehtiyojlarni baholash dalolatnomasi", "Yashash sharoiti"],
           "referral_letter": ["Yoʻllanma xati"],
           "closure_summary": ["Holatni yopish boʻyicha yakuniy xulosa"]},
    "uz-Cyrl": {"service_plan": ["Ижтимоий хизматлар кўрсатишнинг индивидуал режаси", "Ижтимоий-маиший",
                                 "Моддий ёрдам"],
                "assessment_act": ["Эҳтиёжларни баҳолаш далолатномаси"],
                "referral_letter": ["Йўлланма хати"],
                "closure_summary": ["Ҳолатни ёпиш бўйича якуний хулоса"]},
    "ru": {"service_plan": ["Индивидуальный план предоставления социальных услуг", "Социально-бытовая",
                            "Материальная помощь"],
           "assessment_act": ["Акт оценки потребностей", "Условия проживания"],
           "referral_letter": ["Направление", "Центр социальных услуг"],
           "closure_summary": ["Итоговое заключение о закрытии случая", "Причина закрытия"]},
    "kk": {"service_plan": ["Әлеуметтік қызметтер көрсетудің жеке жоспары"],
           "assessment_act": ["Қажеттіліктерді бағалау актісі"],
           "referral_letter": ["Жолдама хат"],
           "closure_summary": ["Кейсті жабу туралы қорытынды"]},
    "ky": {"service_plan": ["Социалдык кызмат көрсөтүүнүн жеке планы"],
           "assessment_act": ["Муктаждыктарды баалоо актысы"],
           "referral_letter": ["Жолдомо кат"],
           "closure_summary": ["Кейсти жабуу боюнча корутунду"]},
}


def _form_label(form_key, english, language):
    """A choice's label as the form's own translations give it (the documents reuse them)."""
    table = json.loads(open(f"forms/{form_key}.i18n.json", encoding="utf-8").read())
    return table[language][english]


def test_every_document_in_every_language_of_a_closed_case(sqlite_engine):
    """Each of the four documents for a case walked to its closure, in uz, uz-Cyrl, ru, kk and ky: the client's
    name, the organisation's header, the heading and the words of the choices in the language."""
    engine = sqlite_engine
    case_id = walked_case(engine)
    for language, expected in EXPECTED.items():
        for name in NAMES:
            words = list(expected[name]) + [CLIENT, "Chirchiq shahri", "Toshkent viloyati"]
            if name == "service_plan":
                words.append(_form_label("service_plan", "Household (everyday)", language))
            if name == "referral_letter":
                words.append(_form_label("service_delivery", "Health care", language))
            if name == "closure_summary":
                words.append(_form_label("closure_proposal", "Goals of the plan achieved", language))
            if name == "assessment_act":
                words.append(_form_label("needs_assessment", "Poor", language))
            pdf = documents.issue(engine, actor(engine, "worker1"), case_id, name, language)["pdf"]
            assert_readable_pdf(pdf, *words)


# --- what a case can have, and who may have it -------------------------------------------------------------------

def test_listing_issuing_and_the_audit(engine):
    """The four documents are listed for a case at any stage, titled in the reader's language; a section not yet
    answered says so. Issuing leaves a read of the case and a ``document.issued`` row with the document and its
    language. Unknown documents, languages and cases are refused as such, without an audit row."""
    case_id = walked_case(engine, steps=1)  # only the referral is registered
    worker = actor(engine, "worker1")
    listing = documents.list_documents(engine, worker, case_id)
    assert [d["name"] for d in listing["items"]] == sorted(NAMES)
    titles = {d["name"]: d["title"] for d in listing["items"]}
    assert titles["service_plan"] == "Ijtimoiy xizmatlar koʻrsatishning individual rejasi"  # worker1 reads Uzbek
    assert documents.list_documents(engine, worker, case_id, "en")["items"][0]["title"] == "Needs assessment act"

    made = documents.issue(engine, worker, case_id, "service_plan", "ru")
    assert made["file_name"] == f"service_plan-{case_id}-ru.pdf"
    assert_readable_pdf(made["pdf"], CLIENT, "План услуг ещё не составлен.")
    rows = audit_rows(engine, case_id)
    assert [(r.actor_id, r.details["document"], r.details["language"]) for r in rows] == \
        [(worker.id, "service_plan", "ru")]
    assert rows[0].details["title"] == made["title"] != titles["service_plan"]  # as issued, in Russian
    assert audit_rows(engine, case_id, "case.viewed")[-1].details["document"] == "service_plan"
    from engine.services.case_file import case_file  # the case file lists it by that title
    listed = case_file(engine, worker, case_id)["documents"]
    assert [(d["name"], d["language"]) for d in listed] == [(made["title"], "ru")]

    for bad in ("nonexistent", "../service_plan", "", None):
        with pytest.raises(NotFound):
            documents.issue(engine, worker, case_id, bad, "ru")
    with pytest.raises(InvalidInput):
        documents.issue(engine, worker, case_id, "service_plan", "de")
    with pytest.raises(NotFound):
        documents.issue(engine, worker, 999_999, "service_plan", "ru")
    # worker3 works in the other district: the case does not exist for them, and nothing is logged
    for username in ("worker3", "methodologist1", "admin1"):
        with pytest.raises(NotFound):
            documents.issue(engine, actor(engine, username), case_id, "service_plan", "ru")
        with pytest.raises(NotFound):
            documents.list_documents(engine, actor(engine, username), case_id)
    assert len(audit_rows(engine, case_id)) == 1


def test_api_and_web_downloads(engine, server, anon):
    """GET /api/v1/cases/<id>/documents lists; .../documents/<name> is the PDF as an attachment with the usual
    headers; ?lang= picks the language. The case page links every document; a user who may not read the case gets
    404 and leaves no issue in the log."""
    import urllib.request
    case_id = walked_case(engine, steps=4)
    worker = anon.login("worker1")
    status, listing = worker.get(f"/cases/{case_id}/documents")
    assert status == 200 and len(listing["items"]) == 4
    request = urllib.request.Request(f"{server.url}/api/v1/cases/{case_id}/documents/service_plan?lang=kk",
                                     headers={"Authorization": f"Bearer {worker.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"] == f'attachment; filename="service_plan-{case_id}-kk.pdf"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert_readable_pdf(response.read(), CLIENT, "Әлеуметтік қызметтер көрсетудің жеке жоспары",
                            "Әлеуметтік-тұрмыстық")
    assert worker.get(f"/cases/{case_id}/documents/nope")[0] == 404
    assert worker.get(f"/cases/{case_id}/documents/service_plan?lang=xx")[0] == 422
    outsider = anon.login("worker3")
    assert outsider.get(f"/cases/{case_id}/documents")[0] == 404
    assert outsider.get(f"/cases/{case_id}/documents/service_plan")[0] == 404
    assert [r.details["language"] for r in audit_rows(engine, case_id)] == ["kk"]

    web = WebClient(server.url)
    web.login("worker1", language="uz")
    page = web.get(f"/cases/{case_id}")
    links = [a.get("href") for a in page.css("#documents + ul.documents a")]
    assert f"/cases/{case_id}/documents/assessment_act.pdf" in links and len(links) == 4
    assert "Ijtimoiy xizmatlar koʻrsatishning individual rejasi" in page.text
    stranger = WebClient(server.url)
    stranger.login("worker3", language="en")
    assert stranger.get(f"/cases/{case_id}/documents/service_plan.pdf").status == 404
    assert len(audit_rows(engine, case_id)) == 1


# --- the methodologist's templates ---------------------------------------------------------------------------

def _draft(engine):
    methodologist = actor(engine, "methodologist1")
    return methodologist, drafts.start_draft(engine, methodologist, {"name": "Documents"})


def test_an_edited_template_applies_once_published(sqlite_engine):
    """A methodologist fixes a text of the plan in a draft, previews it on the sample answers, publishes: the next
    plan printed for a case already running shows the change, in English and through the translations."""
    engine = sqlite_engine
    case_id = walked_case(engine, steps=4)
    methodologist, draft = _draft(engine)
    source = draft["files"]["service_plan.document.html"]
    changed = source.replace('{{ t("Goals") }}', '{{ t("Goals of the plan") }}')
    texts = json.loads(draft["files"]["service_plan.document.i18n.json"])
    for language, table in texts.items():
        table["Goals of the plan"] = {"ru": "Цели плана помощи"}.get(language, table.pop("Goals"))
        table.pop("Goals", None)
    saved = drafts.save_file(engine, methodologist, draft["id"], "service_plan.document.html",
                             {"content": changed, "row_version": draft["row_version"]})
    assert [p["message"] for p in saved["problems"]] and all(
        p["file"] == "service_plan.document.i18n.json" for p in saved["problems"])  # "Goals" is not used any more
    saved = drafts.save_file(engine, methodologist, draft["id"], "service_plan.document.i18n.json",
                             {"content": json.dumps(texts, ensure_ascii=False), "row_version": saved["row_version"]})
    assert saved["problems"] == []
    preview = documents.preview(engine, methodologist, draft["id"], "service_plan", "ru")
    assert_readable_pdf(preview["pdf"], "Цели плана помощи", "Namuna Namunayeva", "Социально-бытовая")
    with pytest.raises(NotAllowed):
        documents.preview(engine, actor(engine, "worker1"), draft["id"], "service_plan", "ru")

    before = pdf_text(documents.issue(engine, actor(engine, "worker1"), case_id, "service_plan", "ru")["pdf"])
    assert "Цели плана помощи" not in before
    drafts.publish(engine, methodologist, draft["id"], {"note": "Goals of the plan"})
    after = documents.issue(engine, actor(engine, "worker1"), case_id, "service_plan", "ru")
    assert_readable_pdf(after["pdf"], "Цели плана помощи", CLIENT)
    with engine.db.read() as session:
        from engine.db.models import Case
        assert session.get(Case, case_id).definition_version.version == 1  # the case itself stayed on its version


@pytest.mark.parametrize("source, says", [
    ("<h1>{{ t('Plan') }</h1>", "does not compile"),
    ("{% for s in answers.service_plan.services %}<p>{{ s.provider }}</p>", "does not compile"),
    ("<p>{{ client_name }}</p>", "unknown variable 'client_name'"),
    ("<p>{{ case.secret }}</p>", "'case' has no 'secret'"),
    ("<p>{{ answers.service_plan.budget }}</p>", "form 'service_plan' has no field 'budget'"),
    ("<p>{{ answers.housing_form.rooms }}</p>", "the set has no form 'housing_form'"),
    ("{% include 'service_plan.document.html' %}", "cannot use other files"),
    ("<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>", "starts with _"),
    ("<p>{{ t(subject.name) }}</p>", "t() takes a text in quotes"),
])
def test_a_broken_template_is_refused_on_save_with_a_clear_problem(sqlite_engine, source, says):
    engine = sqlite_engine
    methodologist, draft = _draft(engine)
    methodologist = dataclasses.replace(methodologist, language="en")  # problems are told in the reader's language
    saved = drafts.save_file(engine, methodologist, draft["id"], "broken.document.html",
                             {"content": source, "row_version": draft["row_version"]})
    problems = [p for p in saved["problems"] if p["file"] == "broken.document.html"]
    assert problems and any(says in p["message"] for p in problems), saved["problems"]
    assert all(p["line"] == 1 and p["hint"] for p in problems)
    with pytest.raises(Exception) as refused:
        drafts.publish(engine, methodologist, draft["id"], {"note": "Broken template"})
    assert refused.value.code == "definition_invalid"


def test_the_sandbox_keeps_templates_away_from_python_and_answers_away_from_html(sqlite_engine):
    """What the checks let through still runs in the immutable sandbox: no attribute of Python's internals, no
    mutation, no huge strings; answers typed by users are escaped, so a client named <script> stays text."""
    from engine.process import documents as templates
    template = templates.Template("probe", "", ())
    context = {"subject": {"name": "<script>alert(1)</script>"}, "case": {}, "org": {}, "issued": {},
               "answers": {}, "raw": {}}
    escaped = templates.render(templates.Template("probe", "<p>{{ subject.name }}</p>", ()), context, {}, "en")
    assert "<script>" not in escaped and "&lt;script&gt;" in escaped
    for source in ("{{ subject.name.__class__ }}", "{{ subject['__class__'] }}",
                   "{{ (subject.name|attr('__class__')) }}", "{{ subject.name.format.__globals__ }}"):
        out = templates.render(templates.Template("probe", source, ()), context, {}, "en")
        assert "class" not in out and "globals" not in out and "str" not in out, (source, out)
    for source in ("{{ subject.update({'name': 'x'}) }}", "{{ 'x' * 100000000 }}", "{{ 10 ** 1000 }}",
                   "{{ subject.name.mro() }}"):
        with pytest.raises(templates.RenderFailed):
            templates.render(templates.Template("probe", source, ()), context, {}, "en")
    assert template.title == "Probe"


def test_the_shipped_templates_are_complete_in_every_language():
    """The four default documents are in workflows/, pass the checks, and every text of each is translated into
    uz, uz-Cyrl, ru, kk and ky (Uzbek Latin with ʻ, never an ASCII apostrophe in oʻ/gʻ)."""
    from engine.process import documents as templates
    files = read_definition_files("workflows", "forms")
    assert check_definition(files) == []
    for name in NAMES:
        template, findings = templates.parse_template(name, files[f"{name}.document.html"])
        assert template is not None and not findings
        texts = templates.parse_texts(files[f"{name}.document.i18n.json"], template)
        for language in templates.TEXT_LANGUAGES:
            missing = [text for text in template.texts if not texts.get(language, {}).get(text)]
            assert not missing, (name, language, missing)
            for text, translation in texts[language].items():
                assert ("%(" in text) == ("%(" in translation), (name, language, text)
        assert not any(bad in t for t in texts["uz"].values() for bad in ("o'", "g'", "o‘", "g‘"))


def test_a_changed_template_is_a_change_in_what_changed():
    """The workbench's "What changed" lists an edited template as changed (a template is text: no edit of it is
    "layout or formatting only")."""
    from engine.process.compare import compare, grouped
    files = read_definition_files("workflows", "forms")
    edited = {**files, "service_plan.document.html": files["service_plan.document.html"].replace("Goals", "Aims")}
    result = compare(files, edited)
    assert result["files"]["formatting_only"] == []
    assert grouped(result) == [("files", [{"file": "service_plan.document.html", "change": "changed"}])]
