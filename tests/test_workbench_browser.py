"""The workbench in Chromium with the built editors: the methodologist opens the process diagram of a draft,
changes the assessment deadline in the Yordam properties, saves, sees a problem she made highlighted, fixes it
and publishes; a case opened afterwards gets the new deadline."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.services import drafts
from engine.services.demo import actor
from tests.helpers import complete_step, open_case, open_tasks
from tests.sample_answers import referral
from tests.test_browser import chromium, site  # noqa: F401 -- fixtures


def test_a_methodologist_changes_a_deadline_in_the_diagram_and_publishes(chromium, site, sqlite_engine):  # noqa: F811
    engine = sqlite_engine
    draft = drafts.start_draft(engine, actor(engine, "methodologist1"), {"name": "Assessment in 7 days"})
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{site}/login?lang=en")
    page.fill("#username", "methodologist1")
    page.fill("#password", "demo1234")
    page.select_option("#language", "en")
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{site}/workbench")

    page.goto(f"{site}/workbench/drafts/{draft['id']}/files/case_management.bpmn")
    expect(page.locator("#visual-editor .djs-container")).to_be_visible()
    expect(page.locator("#content")).to_be_hidden()  # the diagram is the editor; the text follows on save

    page.click("[data-element-id=home_visit_assessment]")
    page.click("[data-group-id='group-yordam'] .bio-properties-panel-group-header")
    deadline = page.locator("#bio-properties-panel-yordam-deadline")
    expect(deadline).to_have_value("5 working days")
    deadline.fill("seven days")  # not a duration the engine reads
    page.wait_for_timeout(400)  # the panel writes after a short debounce
    page.click("#file-form button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("Problems to fix: 1")
    expect(page.locator("#file-problems li")).to_contain_text("seven days")
    expect(page.locator("[data-element-id=home_visit_assessment].yordam-problem, "
                        "[data-element-id=home_visit_assessment] .yordam-problem")).to_have_count(1)

    page.click("[data-element-id=home_visit_assessment]")
    page.click("[data-group-id='group-yordam'] .bio-properties-panel-group-header")
    page.locator("#bio-properties-panel-yordam-deadline").fill("7 working days")
    page.wait_for_timeout(400)
    page.click("#file-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("The set has no problems")

    page.goto(f"{site}/workbench/drafts/{draft['id']}")
    page.fill("#publish-note", "Assessment within 7 working days")
    page.click("text=Publish as a new version")
    expect(page.locator(".flash.success")).to_contain_text(re.compile("Version 2 is published"))
    assert errors == []
    context.close()

    case_id = open_case(engine)["id"]
    complete_step(engine, case_id, "register_referral", referral())
    assert open_tasks(engine, case_id)[0].deadline["amount"] == 7


def test_the_decision_table_and_form_editors_open_and_save_unchanged(chromium, site, sqlite_engine):  # noqa: F811
    engine = sqlite_engine
    draft = drafts.start_draft(engine, actor(engine, "methodologist1"), {"name": "Round trip"})
    dmn = next(name for name in draft["file_names"] if name.endswith(".dmn"))
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{site}/login?lang=en")
    page.fill("#username", "methodologist1")
    page.fill("#password", "demo1234")
    page.click("main button[type=submit]")
    for name, ready in ((dmn, "#visual-editor .tjs-container, #visual-editor .dmn-decision-table-container"),
                        ("needs_assessment.form.json", "#visual-editor .fjs-editor-container")):
        page.goto(f"{site}/workbench/drafts/{draft['id']}/files/{name}")
        expect(page.locator(ready).first).to_be_visible()
        expect(page.locator("#content")).to_be_hidden()
        page.click("#file-form button[type=submit]")
        expect(page.locator(".flash.success")).to_contain_text("The set has no problems")
    assert errors == []
    context.close()
