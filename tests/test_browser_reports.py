"""In Chromium: a supervisor opens the monthly district report, downloads it as XLSX and as PDF, and the files
hold the figures the screen shows (the hand-computed world of test_reports.py). A screenshot of the report at
360 and 1280 px is saved to ``test-artifacts/screenshots``."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.api_client import LiveServer
from tests.pdf_check import assert_readable_pdf
from tests.test_browser import SHOTS, chromium, signed_in  # noqa: F401  (chromium is a fixture)
from tests.test_reports import build_world
from webui import create_app


@pytest.fixture
def report_site(sqlite_engine, clock):
    build_world(sqlite_engine, clock)
    with LiveServer(create_app(sqlite_engine)) as live:
        yield live.url


def _download(page, link_text) -> bytes:
    with page.expect_download() as download:
        page.get_by_role("link", name=link_text).click()
    with open(download.value.path(), "rb") as saved:
        return saved.read()


@pytest.mark.parametrize("language, total", [("ru", "Итого"), ("uz", "Jami"), ("en", "Total")])
def test_district_report_downloads_hold_the_figures_on_screen(chromium, report_site, language, total):
    page = signed_in(chromium, report_site, "supervisor1", language)
    page.get_by_role("link", name={"ru": "Отчёты", "uz": "Hisobotlar", "en": "Reports"}[language]).click()
    page.select_option("#month", "1")
    page.fill("#year", "2026")
    page.select_option("#level", "district")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_selector("#report-summary")
    cells = page.locator("#report-summary tfoot td[data-figure]")
    on_screen = {cells.nth(i).get_attribute("data-figure"): int(cells.nth(i).inner_text())
                 for i in range(cells.count())}
    assert on_screen["opened"] == 2 and on_screen["escalations"] == 1 and len(on_screen) == 10
    headings = page.locator("#report-summary thead th").all_inner_texts()[1:]

    book = load_workbook(io.BytesIO(_download(page, "Excel (XLSX)")))
    summary = book.worksheets[0]
    columns = [c.value for c in summary[3]]
    last = [c.value for c in summary[summary.max_row]]
    assert last[0] == total and columns[1:] == headings
    assert dict(zip(on_screen, last[1:])) == on_screen

    pdf = _download(page, "PDF")
    text = assert_readable_pdf(pdf, page.locator("h2.report-title").inner_text(), "Chirchiq shahri")
    total_line = next(line for line in text.splitlines() if line.startswith(total + " "))
    assert [int(n) for n in re.findall(r"\d+", total_line)] == list(on_screen.values())

    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"report-{language}-{width}.png"), full_page=True)
    page.context.close()
