"""Six languages with nothing left in English: every catalogue entry translated, every form and task title
translated beside its form or process, and every page of the app rendered in every language without a single
message missing from the catalogue (the app records misses under YORDAM_STRICT_I18N)."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from engine.db.models import Task
from engine.i18n import CATALOGUES, LANGUAGES, babel_locale
from engine.process.definitions import translatable_process_texts
from engine.process.xml import parse_xml
from engine.services.scheduler import tick
from engine.settings import ROOT
from forms import load_form_file
from forms.i18n import FormTexts
from tests.api_client import LiveServer
from tests.helpers import complete_step, open_case
from tests.sample_answers import referral
from tests.web_client import WebClient
from webui import create_app

TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_entry_is_translated(language):
    with open(CATALOGUES / babel_locale(language) / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalogue = read_po(po)
    template = read_po(open(CATALOGUES / "messages.pot", "rb"))
    missing = [m.id for m in template if m.id and not _translated(catalogue.get(m.id))]
    assert missing == [], f"{len(missing)} untranslated in {language}: {missing[:5]}"
    problems = [(m.id, str(e)) for m in catalogue for e in m.check(catalogue)]
    assert problems == []


def _translated(message) -> bool:
    if message is None:
        return False
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return all(s.strip() for s in strings)


@pytest.mark.parametrize("form_file", sorted((ROOT / "forms").glob("*.form.json")), ids=lambda p: p.name)
def test_every_form_is_translated_beside_it(form_file: Path):
    form = load_form_file(form_file)
    texts_file = form_file.with_name(form_file.name.replace(".form.json", ".i18n.json"))
    assert texts_file.exists(), f"{texts_file.name} is missing"
    texts = FormTexts.from_json(texts_file.read_text(encoding="utf-8"), form)
    for language in TRANSLATED:
        assert texts.missing(form, language) == [], (form_file.name, language)


def test_every_task_title_of_the_default_process_is_translated():
    import json
    bpmn = ROOT / "workflows" / "case_management.bpmn"
    names = translatable_process_texts(parse_xml(bpmn.read_text(encoding="utf-8")))
    table = json.loads((ROOT / "workflows" / "case_management.i18n.json").read_text(encoding="utf-8"))
    for language in TRANSLATED:
        assert sorted(n for n in names if not table.get(language, {}).get(n)) == [], language


@pytest.fixture
def strict_site(sqlite_engine, clock):
    app = create_app(sqlite_engine)
    app.config["YORDAM_STRICT_I18N"] = True
    cid = open_case(sqlite_engine)["id"]
    complete_step(sqlite_engine, cid, "register_referral", referral())
    clock.advance(days=10)
    tick(sqlite_engine)  # an overdue assessment and its escalations
    with LiveServer(app) as live:
        yield live.url, app, sqlite_engine, cid


def test_every_page_in_every_language_has_every_message_translated(strict_site):
    site, app, engine, cid = strict_site
    from engine.services import drafts
    from engine.services.demo import actor
    draft = drafts.start_draft(engine, actor(engine, "methodologist1"), {"name": "A draft with a problem"})
    bpmn = draft["files"]["case_management.bpmn"].replace('value="5 working days"', 'value="soon"', 1)
    drafts.save_file(engine, actor(engine, "methodologist1"), draft["id"], "case_management.bpmn",
                     {"content": bpmn, "row_version": draft["row_version"]})
    with engine.db.read() as session:
        process_task = session.scalar(select(Task.id).where(Task.case_id == cid, Task.kind == "process",
                                                            Task.state == "open"))
        escalation = session.scalar(select(Task.id).where(Task.case_id == cid, Task.kind == "escalation"))
    pages = {
        "worker1": ["/tasks", "/tasks?view=queue", "/tasks?view=all&overdue=1", f"/tasks/{process_task}",
                    "/cases", "/cases?q=nobody", "/cases/new", f"/cases/{cid}", "/notifications", "/profile",
                    "/cases/999999"],
        "supervisor1": ["/dashboard", "/tasks?view=escalations", f"/tasks/{escalation}", f"/cases/{cid}",
                        f"/cases/{cid}/export", "/reports", "/reports?level=worker"],
        "admin1": ["/break-glass", "/profile", "/reports"],
        "methodologist1": ["/workbench", "/workbench/migrations", "/workbench/compare?from=1&to=1",
                           f"/workbench/drafts/{draft['id']}",
                           f"/workbench/drafts/{draft['id']}/files/case_management.bpmn",
                           f"/workbench/drafts/{draft['id']}/files/needs_assessment.form.json"],
    }
    for language in LANGUAGES:
        anonymous = WebClient(site)
        assert anonymous.get(f"/login?lang={language}").status == 200
        for username, paths in pages.items():
            client = WebClient(site)
            client.login(username, language=language)
            for path in paths:
                page = client.get(path)
                assert page.status in (200, 404), (language, path, page.status)
            # the task form with validation messages, and the referral form with its errors
        client = WebClient(site)
        client.login("worker1", language=language)
        form_page = client.get(f"/tasks/{process_task}")
        wrong = client.post(f"/tasks/{process_task}", {"csrf_token": form_page.csrf(), "_action": "complete",
                                                       "monthly_income": "a lot"})
        assert wrong.status == 200 and wrong.css(".field-error")
        new = client.get("/cases/new")
        assert client.post("/cases/new", {"csrf_token": new.csrf(), "kind": "person"}).css(".field-error")
    missing = sorted(app.extensions["yordam_missing_translations"])
    assert missing == [], f"{len(missing)} messages without translation, e.g. {missing[:8]}"
