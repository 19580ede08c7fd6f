"""In a real browser (Chromium through Playwright): the demo social worker takes a referral through registration
and assessment, correcting one answer on the way; the demo supervisor approves the recognition of need and
returns the plan. Screenshots of the inbox, a task form, a case page and the dashboard, 360 px and 1280 px
wide, in Uzbek and Russian, are saved to ``test-artifacts/screenshots`` for people to look at.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``); without it these tests fail, they are
never skipped."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from engine.settings import ROOT
from tests.api_client import LiveServer
from tests.sample_answers import answers
from webui import create_app

CHROMIUM = os.environ.get("YORDAM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "screenshots"
WIDTHS = (360, 1280)


@pytest.fixture(scope="module")
def chromium():
    assert Path(CHROMIUM).exists(), f"Chromium is needed for the browser tests ({CHROMIUM}); .ci/run installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def site(sqlite_engine):
    with LiveServer(create_app(sqlite_engine)) as live:
        yield live.url


def signed_in(chromium, site, username, language, width=1280):
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale=language)
    page = context.new_page()
    page.goto(f"{site}/login?lang={language}")
    page.fill("#username", username)
    page.fill("#password", "demo1234")
    page.select_option("#language", language)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{site}/tasks")
    return page


def fill(page, data: dict, prefix=""):
    """Answer a rendered form the way a person would: type, pick, tick."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for index, item in enumerate(value):
                if not page.locator(f"[name='{name}-{index}']").count():
                    page.click(f"button[name=_add][value='{name}']")
                fill(page, item, prefix=f"{name}-{index}-")
            continue
        field = page.locator(f"[name='{name}']")
        kind = field.first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if isinstance(value, list):
            for choice in value:
                page.check(f"[name='{name}'][value='{choice}']")
        elif kind.startswith("select"):
            field.select_option(str(value))
        elif kind.endswith("radio"):
            page.check(f"[name='{name}'][value='{value}']")
        elif kind.endswith("checkbox"):
            field.set_checked(bool(value))
        elif value is not None:
            field.fill(str(value))


def complete(page):
    page.click("form.task-form .actions button[value=complete]")


def shoot(page, name, language):
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{language}-{page.viewport_size['width']}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000  # something was drawn


def test_referral_to_returned_plan_in_the_browser(chromium, site):
    worker = signed_in(chromium, site, "worker1", "en")
    worker.click("text=Cases")
    worker.click("text=Open a case")
    worker.fill("#full_name", "Mohira Qodirova")
    worker.fill("#birth_date", "1958-11-03")
    worker.select_option("#sex", "female")
    worker.select_option("#channel", "polyclinic")
    worker.fill("#summary", "Widowed, lives alone on the fifth floor; cannot go down the stairs.")
    worker.click("main form button.primary")
    expect(worker.locator("h1")).to_have_text("Mohira Qodirova")

    worker.click("text=Register referral")
    registration = answers("register_referral")
    fill(worker, {k: v for k, v in registration.items() if k != "address"})
    complete(worker)
    expect(worker.locator("#field-address")).to_have_attribute("aria-invalid", "true")  # the one correction
    expect(worker.locator(".error-summary")).to_be_visible()
    worker.fill("#field-address", registration["address"])
    complete(worker)
    expect(worker.locator("main h2")).to_have_text("What happens next")

    worker.click("main a:has-text('Home visit and needs assessment')")
    fill(worker, answers("needs_assessment"))
    complete(worker)
    expect(worker.locator("main")).to_contain_text("Decide recognition of need")

    supervisor = signed_in(chromium, site, "supervisor1", "en")
    supervisor.goto(f"{site}/tasks?view=queue")
    supervisor.click("a:has-text('Decide recognition of need') >> nth=0")
    fill(supervisor, {"decision": "approved"})
    complete(supervisor)
    expect(supervisor.locator("main")).to_contain_text("Draft individual service plan")

    worker.goto(f"{site}/tasks")
    worker.click("a:has-text('Draft individual service plan')")
    fill(worker, answers("service_plan"))
    complete(worker)
    supervisor.goto(f"{site}/tasks?view=queue")
    supervisor.click("a:has-text('Approve service plan') >> nth=0")
    fill(supervisor, {"decision": "returned", "comment": "Add the polyclinic's home visits."})
    complete(supervisor)
    expect(supervisor.locator("main")).to_contain_text("Draft individual service plan")

    worker.goto(f"{site}/tasks")
    worker.click("a:has-text('Draft individual service plan')")
    expect(worker.locator("#field-goals")).to_have_value(answers("service_plan")["goals"])  # the plan comes back
    worker.click("main .crumbs a >> nth=1")
    story = worker.locator(".timeline").inner_text()
    assert "Nodira Yusupova" in story and "returned" in story and "polyclinic" in story


@pytest.mark.parametrize("language", ["uz", "ru"])
def test_screenshots_of_the_main_pages(chromium, site, language):
    for width in WIDTHS:
        worker = signed_in(chromium, site, "worker1", language, width)
        worker.goto(f"{site}/cases/new")
        worker.fill("#full_name", "Oʻgʻiloy Toʻxtayeva")
        worker.fill("#summary", "—")
        worker.click("main form button.primary")
        case_url = worker.url
        worker.goto(f"{site}/tasks")
        expect(worker.locator("html")).to_have_attribute("lang", "uz-Latn" if language == "uz" else "ru")
        shoot(worker, "inbox", language)
        worker.click("main .cards h2 a >> nth=0")
        expect(worker.locator("form.task-form")).to_be_visible()
        shoot(worker, "task-form", language)
        worker.goto(case_url)
        shoot(worker, "case", language)
        scroll_width = worker.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width + 1, f"the case page scrolls sideways at {width} px"
        supervisor = signed_in(chromium, site, "supervisor1", language, width)
        supervisor.goto(f"{site}/dashboard")
        expect(supervisor.locator("svg[role=img]").first).to_be_visible()
        shoot(supervisor, "dashboard", language)
        worker.context.close()
        supervisor.context.close()
