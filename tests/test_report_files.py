"""The monthly report on the page, through the API, and as CSV, XLSX and PDF files: the same figures in each, in
the user's language (the hand-computed world of test_reports.py, on SQLite: the figures' SQL is tested on both
databases there)."""
from __future__ import annotations

import csv
import io
import json
import urllib.request

import pytest
from openpyxl import load_workbook

from engine.services import reports
from engine.services.report_layout import SUMMARY
from tests.api_client import Client, LiveServer
from tests.helpers import actor
from tests.pdf_check import assert_readable_pdf
from tests.test_reports import build_world
from tests.web_client import WebClient
from webui import create_app

JANUARY = "year=2026&month=1&level=district&time_zone=Asia/Tashkent"


@pytest.fixture
def live(sqlite_engine, clock):
    build_world(sqlite_engine, clock)
    with LiveServer(create_app(sqlite_engine)) as server:
        yield server


def _download(client: WebClient, path: str) -> tuple[int, dict, bytes]:
    try:
        with client.opener.open(client.base_url + path, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        body = err.read()
        err.close()
        return err.code, dict(err.headers), body


def _signed_in(live, username="supervisor1", language="en") -> WebClient:
    client = WebClient(live.url)
    client.login(username, language=language)
    return client


def _expected_summary(engine):
    totals = reports.monthly(engine, actor(engine, "supervisor1"), year=2026, month=1, level="district")["totals"]
    return {key: pick(totals) for key, _, pick in SUMMARY}


def test_page_shows_the_figures_with_charts_and_download_links(live, sqlite_engine):
    client = _signed_in(live)
    page = client.get("/reports?" + JANUARY)
    assert page.status == 200, page.text[:500]
    shown = {cell.get("data-figure"): int(cell.text_content()) for cell in page.css("tfoot td[data-figure]")}
    assert shown == _expected_summary(sqlite_engine)
    assert shown["opened"] == 2 and shown["deadlines_missed"] == 1 and shown["escalations"] == 1
    assert page.texts("h2.report-title") == ["Monthly report, January 2026"]
    assert "Chirchiq shahri" in page.texts("#report-summary tbody th")
    assert len(page.css("figure.chart svg")) >= 3
    links = [a.get("href") for a in page.css("p.downloads a")]
    assert {link.split("?")[0] for link in links} == {"/reports/monthly.xlsx", "/reports/monthly.pdf",
                                                      "/reports/monthly.csv"}
    # the breakdowns speak the user's words, not codes: the service type "household" in Russian
    ru = _signed_in(live, language="ru").get("/reports?" + JANUARY)
    assert "Социально-бытовая" in ru.texts("#services_by_type tbody th")
    assert "Оценка" in ru.texts("#deadlines_missed_by_stage tbody th")


def test_defaults_are_last_month_of_the_own_district(live):
    page = _signed_in(live).get("/reports")  # 31 Jan 20:00 UTC is 1 February in Tashkent: January is the last month
    assert page.status == 200
    assert page.texts("h2.report-title") == ["Monthly report, January 2026"]
    assert [o.get("value") for o in page.css("#unit option[selected]")] == [str(actor_district(live))]
    assert [o.get("value") for o in page.css("#level option[selected]")] == ["mahalla"]


def actor_district(live):
    return actor(live.app.extensions["yordam"], "supervisor1").district_id


def test_bad_month_is_a_clear_error_on_the_page_and_in_the_api(live):
    page = _signed_in(live).get("/reports?year=2026&month=13&level=district")
    assert page.status == 422
    assert page.texts("#month-error") == ["Give a month from 1 to 12."]
    api = Client(live.url)
    status, body = api.call("POST", "/auth/login", {"username": "supervisor1", "password": "demo1234"})
    api.token = body["token"]
    status, body = api.get("/reports/monthly?year=2026&month=x")
    assert status == 422 and "month" in body["fields"]
    status, body = api.get("/reports/monthly?" + JANUARY + "&format=doc")
    assert status == 422 and "format" in body["fields"]
    status, body = api.get("/reports/monthly?" + JANUARY)
    assert status == 200 and body["totals"]["opened"] == 2 and body["groups"][0]["name"] == "Chirchiq shahri"
    specialist = Client(live.url)
    specialist.token = specialist.call("POST", "/auth/login", {"username": "specialist1",
                                                                "password": "demo1234"})[1]["token"]
    assert specialist.get("/reports/monthly?" + JANUARY)[0] == 403


def test_csv_and_xlsx_hold_the_page_figures(live, sqlite_engine):
    expected = _expected_summary(sqlite_engine)
    client = _signed_in(live, language="ru")
    status, headers, body = _download(client, "/reports/monthly.csv?" + JANUARY)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    # the supervisor's report is her district's unless she asks otherwise: its number is in the name
    assert f'filename="yordam-report-2026-01-district-{actor_district(live)}.csv"' in headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, district, total = rows[0], rows[1], rows[-1]
    assert header[0] == "Район" and district[0] == "Chirchiq shahri" and total[0] == "Итого"
    assert int(total[header.index("Открыто случаев")]) == expected["opened"]
    assert int(total[header.index("Эскалации")]) == expected["escalations"]
    assert int(total[header.index("Предоставленные услуги, по видам: Социально-бытовая")]) == 2
    assert district[1:] == total[1:]  # one district: its row is the total

    status, headers, body = _download(client, "/reports/monthly.xlsx?" + JANUARY)
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(body))
    summary = book.worksheets[0]
    assert summary["A1"].value == "Ежемесячный отчёт, январь 2026"
    columns = [c.value for c in summary[3]]
    last = [c.value for c in summary[summary.max_row]]
    assert last[0] == "Итого"
    assert {key: last[columns.index(title)] for key, title in zip(expected, columns[1:])} == expected
    titles = [sheet.title for sheet in book.worksheets]
    assert len(titles) == len(set(titles)) > 5 and all(len(t) <= 31 for t in titles)


@pytest.mark.parametrize("language, words", [
    ("uz", ["Oylik hisobot, Yanvar 2026", "Chirchiq shahri", "Ijtimoiy-maishiy"]),
    ("uz-Cyrl", ["Ойлик ҳисобот", "Chirchiq shahri", "Ижтимоий-маиший"]),
    ("ru", ["Ежемесячный отчёт, январь 2026", "Chirchiq shahri", "Социально-бытовая"]),
    ("kk", ["Ай сайынғы есеп", "Chirchiq shahri", "Әлеуметтік-тұрмыстық"]),
    ("ky", ["Айлык отчёт", "Chirchiq shahri", "Социалдык-турмуштук"]),
])
def test_pdf_in_each_language(live, language, words):
    status, headers, body = _download(_signed_in(live, language=language), "/reports/monthly.pdf?" + JANUARY)
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    text = assert_readable_pdf(body, *words)
    assert "Supervisor" not in text  # no English left in a translated report


def test_api_files_are_the_web_files(live):
    api = Client(live.url)
    api.token = api.call("POST", "/auth/login", {"username": "supervisor1", "password": "demo1234"})[1]["token"]
    request = urllib.request.Request(f"{live.url}/api/v1/reports/monthly?{JANUARY}&format=csv",
                                     headers={"Authorization": f"Bearer {api.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        api_rows = list(csv.reader(io.StringIO(response.read().decode("utf-8-sig"))))
    status, choices = api.get("/reports/choices")
    assert status == 200 and choices["default"]["level"] == "mahalla"
    assert json.dumps(choices).count('"kind": "district"') == 1  # the own district only
    assert api_rows[-1][1:] == api_rows[1][1:]
