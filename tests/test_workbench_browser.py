"""The workbench in Chromium with the built editors: the methodologist opens the process diagram of a draft,
changes the assessment deadline in the Yordam properties, saves, sees a problem she made highlighted, fixes it
and publishes; a case opened afterwards gets the new deadline."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from sqlalchemy import update

from engine.db.models import User
from engine.i18n import gettext
from engine.services import drafts, migrations, tasks
from engine.services.demo import actor
from tests.helpers import complete_step, open_case, open_tasks
from tests.sample_answers import referral
from tests.test_browser import chromium, site  # noqa: F401 -- fixtures


def test_a_methodologist_changes_the_process_tries_it_and_publishes(chromium, site, sqlite_engine):  # noqa: F811
    """The Done-when of the workbench, as the demo methodologist does it in the browser."""
    engine = sqlite_engine
    before_id = open_case(engine)["id"]  # a case opened before: it keeps the old deadline and label until moved
    complete_step(engine, before_id, "register_referral", referral())
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
    page.fill("#draft-name", "Assessment in 7 days")
    page.click("#start-draft button[type=submit]")
    expect(page.locator("h1")).to_have_text("Assessment in 7 days")
    draft_url = page.url

    # 1. the assessment deadline, in the diagram's Yordam properties; a duration the engine cannot read first
    page.click("text=case_management.bpmn")
    expect(page.locator("#visual-editor .djs-container")).to_be_visible()
    expect(page.locator("#content")).to_be_hidden()  # the diagram is the editor; the text follows on save
    _open_group(page, "home_visit_assessment", "group-yordam")
    deadline = page.locator("#bio-properties-panel-yordam-deadline")
    expect(deadline).to_have_value("5 working days")
    deadline.fill("seven days")  # not a duration the engine reads
    # 2. and a timer written without quotes: the engine would read P60D as a variable name
    _open_group(page, "Timer_follow_up", "group-timer")
    page.locator("#bio-properties-panel-timerEventDefinitionValue").fill("P60D")
    _save(page)
    expect(page.locator(".flash.error")).to_contain_text("Problems to fix: 2")
    problems = page.locator("#file-problems li")
    expect(problems.filter(has_text="seven days")).to_have_count(1)
    expect(problems.filter(has_text="P60D")).to_contain_text("the timer expression P60D is not quoted")
    expect(page.locator("[data-element-id=home_visit_assessment].yordam-problem, "
                        "[data-element-id=home_visit_assessment] .yordam-problem")).to_have_count(1)
    _open_group(page, "home_visit_assessment", "group-yordam")
    page.locator("#bio-properties-panel-yordam-deadline").fill("7 working days")
    _open_group(page, "Timer_follow_up", "group-timer")
    page.locator("#bio-properties-panel-timerEventDefinitionValue").fill('"P60D"')
    _save(page)
    expect(page.locator(".flash.success")).to_contain_text("The set has no problems")

    # 3. a form label, in the form editor; its translations follow in the table below it
    page.goto(f"{draft_url}/files/needs_assessment.form.json")
    expect(page.locator("#visual-editor .fjs-editor-container")).to_be_visible()
    page.click("#visual-editor [data-id=Field_strengths]")
    general = page.locator("[data-group-id='group-general'] .bio-properties-panel-group-header")
    if "open" not in (general.get_attribute("class") or ""):
        general.click()
    label = page.locator("#bio-properties-panel-label")
    label.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("Strengths and support network")
    _save(page)
    # the old label's translations no longer match a text of the form: the check says so
    expect(page.locator("[role=alert].flash.error")).to_contain_text("Problems to fix: 1 (this file: 1)")
    expect(page.locator("#file-problems li")).to_contain_text("needs_assessment")
    expect(page.locator("#translations ~ .flash.error")).to_contain_text("Strengths and resources")
    row = page.locator("table.form-texts tr", has=page.locator("th", has_text="Strengths and support network"))
    row.locator("input[lang=uz]").fill("Kuchli tomonlar va yordam tarmogʻi")
    row.locator("input[lang=ru]").fill("Сильные стороны и круг поддержки")
    page.click("#texts-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("Translations saved. The set has no problems.")

    # 4. try it: a scenario recorded with sample answers walks the changed process to closure
    page.goto(draft_url)
    page.fill("#record-name", "Plain path")
    page.click("form[action$='/scenarios/record'] button[type=submit]")
    expect(page.locator("[role=status].flash.success")).to_contain_text("Every scenario passes (1).")
    scenario = page.locator("#scenario-1")
    expect(scenario.locator(".badge.ok")).to_have_text("passes")
    assessment_row = scenario.locator("table.scenario-path tr", has=page.locator("td", has_text="Home visit"))
    expect(assessment_row).to_contain_text("7 working days")

    # 5. publish
    page.fill("#publish-note", "Assessment within 7 working days; strengths label")
    page.click("text=Publish as a new version")
    expect(page.locator("[role=status].flash.success")).to_contain_text(re.compile("Version 2 is published"))
    assert errors == []
    context.close()

    after_id = open_case(engine)["id"]
    complete_step(engine, after_id, "register_referral", referral())
    worker = actor(engine, "worker1")  # reads Uzbek
    new_task, old_task = open_tasks(engine, after_id)[0], open_tasks(engine, before_id)[0]
    assert new_task.deadline["amount"] == 7 and old_task.deadline["amount"] == 5
    assert _label(engine, worker, new_task.id) == "Kuchli tomonlar va yordam tarmogʻi"
    assert _label(engine, worker, old_task.id) == "Kuchli tomonlar va resurslar"
    # until the case is moved to the new version: then it shows the new label, and keeps its running deadline
    moved = migrations.apply(engine, actor(engine, "methodologist1"), {"from": 1, "to": 2, "note": "Move"})
    assert moved["safe"] >= 1
    assert _label(engine, worker, old_task.id) == "Kuchli tomonlar va yordam tarmogʻi"
    assert open_tasks(engine, before_id)[0].due_at == old_task.due_at


def _open_group(page, element_id, group):
    page.click(f"[data-element-id={element_id}]")
    header = page.locator(f"[data-group-id='{group}'] .bio-properties-panel-group-header")
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def _save(page):
    page.wait_for_timeout(400)  # the panels write after a short debounce
    page.click("#file-form button[type=submit]")


def _label(engine, user, task_id):
    page = tasks.task_page(engine, user, task_id)
    return page["translate"](page["form_definition"].get_field("strengths").label)


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
    # the Yordam group of the diagram's properties speaks the reader's language
    with engine.db.write() as session:
        session.execute(update(User).where(User.username == "methodologist1").values(language="ru"))
    page.goto(f"{site}/workbench/drafts/{draft['id']}/files/case_management.bpmn")
    _open_group(page, "home_visit_assessment", "group-yordam")
    deadline_label = page.locator("[data-entry-id='yordam-deadline'] label")
    assert gettext("ru", "Deadline") != "Deadline"
    expect(deadline_label).to_have_text(gettext("ru", "Deadline"))
    assert errors == []
    context.close()
