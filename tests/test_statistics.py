"""Process statistics against a hand-computed fixture, in two calendars' time zones, on SQLite and PostgreSQL.

Chirchiq (UZ calendar, Asia/Tashkent, UTC+5), worker1, seven cases C1..C7 opened Mon 5 Jan 2026 09:00Z (14:00
local). Their "Register referral" is due one working day later, Tue 6 Jan 18:00 local:

* C1, C2 registered at once (0 working days); their home visit done Tue 6 10:00Z (1 working day); their
  recognition of need (due 2 working days later, Thu 8) still open now: overdue, 6 working days old.
* C3..C7 registered late: C3 Thu 8 (3 working days: 6, 7, 8), C4..C6 Fri 9 (4), C7 Mon 12 (5). A scheduler
  pass on Wed 7 10:00Z raised one escalation for each (supervisor, at the deadline). Their home visits are open
  now, 4 (C3), 3 (C4..C6) and 2 (C7) working days old.

Zangiota, its calendar switched to KG (Asia/Bishkek, UTC+6, 1-7 January off), worker3, five cases Z1..Z5
opened Mon 5 Jan 20:00Z (Tue 6 02:00 in Bishkek), registered Wed 7 20:00Z (Thu 8 02:00 in Bishkek): 1 working
day there (7 January is a holiday in Kyrgyzstan; in Tashkent's calendar it would be 2), on time. Their home
visits are open now, 4 working days old. Z1 is on hold.

Now is Wed 14 Jan 10:00Z. Working days ``d`` are counted with ``opening day < d <= completion day``.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import lxml.html
import pytest
from sqlalchemy import select

from engine.db.models import CalendarDay, Case, DefinitionVersion, OrgUnit, User
from engine.errors import InvalidInput, NotAllowed
from engine.services import cases as case_service
from engine.services import statistics
from engine.services.deadlines import forget_calendars
from engine.services.scheduler import tick
from tests.helpers import actor, complete_step, open_case
from tests.sample_answers import assessment, referral
from tests.web_client import WebClient

UTC = timezone.utc
JANUARY = {"date_from": date(2026, 1, 1), "date_until": date(2026, 1, 31)}
SUBJECTS = [f"Mijoz Statistika-{n}" for n in range(1, 13)]
WORKERS = ["Dilnoza Karimova", "Jasur Toshmatov", "Gulnora Rahimova", "Nodira Yusupova", "Akmal Sobirov",
           "Bahodir Ergashev", "worker1", "worker3", "supervisor1"]


def _at(day, hour=10, minute=0):
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def _step(engine, clock, case_id, form_key, data):
    clock.advance(minutes=1)
    complete_step(engine, case_id, form_key, data)


@pytest.fixture
def world(engine, clock):
    with engine.db.write() as session:
        session.scalar(select(OrgUnit).where(OrgUnit.name == "Zangiota tumani")).calendar = "KG"
        forget_calendars(session)
    c = []
    for n in range(7):
        clock.advance(minutes=1)
        c.append(open_case(engine, name=SUBJECTS[n])["id"])
    for case_id in c[:2]:
        _step(engine, clock, case_id, "register_referral", referral())
    clock.set(_at(5, 20))
    z = []
    for n in range(5):
        clock.advance(minutes=1)
        z.append(open_case(engine, "worker3", name=SUBJECTS[7 + n])["id"])
    clock.set(_at(6))
    for case_id in c[:2]:
        _step(engine, clock, case_id, "needs_assessment", assessment())
    clock.set(_at(7))
    tick(engine)
    clock.set(_at(7, 20))
    for case_id in z:
        _step(engine, clock, case_id, "register_referral", referral())
    for day, late in ((8, c[2:3]), (9, c[3:6]), (12, c[6:7])):
        clock.set(_at(day))
        for case_id in late:
            _step(engine, clock, case_id, "register_referral", referral())
    clock.set(_at(14))
    case_service.hold_case(engine, actor(engine, "worker3"), z[0], {"waiting_for": "client",
                                                                     "reason": "Away at relatives"})
    engine.fixture_case_ids = c + z
    return engine


def _stats(engine, who="methodologist1", language="en", **kw):
    return statistics.process_statistics(engine, replace(actor(engine, who), language=language),
                                         **({**JANUARY, **kw}))


def _by_task(rows):
    return {r["task"]: r for r in rows}


def _hidden(figures):
    return {k: None for k in figures}


def _row(suppressed_fields=(), suppressed=False, complementary=(), **figures):
    return {**figures, "suppressed": suppressed, "suppressed_fields": sorted({*suppressed_fields, *complementary}),
            "complementary_fields": sorted(complementary)}


def _pick(row, *keys):
    return {k: row[k] for k in keys}


FIGURES = ("completed", "median_days", "p90_days", "with_deadline", "late", "late_share")
WAITING = ("open_tasks", "median_age_days", "oldest_age_days", "overdue")
SUPPRESSED_TASK = _row(FIGURES, True, **_hidden(FIGURES))
SUPPRESSED_WAIT = _row(WAITING, True, **_hidden(WAITING))


def _keys(row, figures):
    return _pick(row, *figures, "suppressed", "suppressed_fields", "complementary_fields")


def test_national_figures(world):
    report = _stats(world)
    assert report["scope"] == "national" and report["time_zone"] == "Asia/Tashkent"
    assert report["start"] == "2025-12-31T19:00:00+00:00" and report["end"] == "2026-01-31T19:00:00+00:00"
    # identification finished by all twelve: 0, 0, 1×5, 3, 4, 4, 4, 5 → median (6th) 1, p90 (11th) 4
    assert report["stages"] == [{"stage": "identification", **_row(cases=12, median_days=1, p90_days=4)}]
    tasks = _by_task(report["tasks"])
    assert set(tasks) == {"register_referral", "home_visit_assessment"}
    register = tasks["register_referral"]
    assert register["stage"] == "identification" and register["form_key"] == "register_referral"
    assert register["title"] == "Register referral"
    assert _by_task(_stats(world, language="uz")["tasks"])["register_referral"]["title"] == "Murojaatni roʻyxatga olish"
    assert _keys(register, FIGURES) == _row(completed=12, median_days=1, p90_days=4, with_deadline=12, late=5,
                                            late_share=round(5 / 12, 3))
    assert _keys(tasks["home_visit_assessment"], FIGURES) == SUPPRESSED_TASK  # two cases only
    assert [r["task"] for r in report["most_overdue"]] == ["register_referral"]
    assert [(r["task"], r["stage"], r["escalations"], r["suppressed"]) for r in report["escalations"]] == \
        [("register_referral", "identification", 5, False)]

    waiting = report["waiting"]
    # open now: 10 home visits (2, 3, 3, 3, 4 in Chirchiq; 4 × 5 in Zangiota) and 2 recognitions (6, 6):
    # median (6th of 12) 4, oldest 6; 2 overdue (the recognitions) rest on two cases: hidden
    assert waiting["stages"] == [{"stage": "assessment", **_row(["overdue"], open_tasks=12, median_age_days=4,
                                                                oldest_age_days=6, overdue=None)}]
    open_tasks = _by_task(waiting["tasks"])
    assert _keys(open_tasks["recognition_of_need"], WAITING) == SUPPRESSED_WAIT
    # 12 - 10 would give the recognitions' 2 away: the home visits' count is suppressed with them
    assert _keys(open_tasks["home_visit_assessment"], WAITING) == _row(
        complementary=["open_tasks"], open_tasks=None, median_age_days=4, oldest_age_days=4, overdue=0)
    # Z1 on hold: one case
    assert waiting["on_hold"] == {**_row(["cases"], True, cases=None),
                                  "by_stage": [{"stage": "assessment", **_row(["cases"], True, cases=None)}]}
    assert report["any_suppressed"] is True


def test_a_district_in_its_own_calendar(world):
    """Zangiota alone, by a methodologist narrowing to it or by its own supervisor: Kyrgyz working days."""
    zangiota = actor(world, "supervisor2").district_id
    for report in (_stats(world, unit_id=zangiota), _stats(world, "supervisor2")):
        assert report["stages"] == [{"stage": "identification", **_row(cases=5, median_days=1, p90_days=1)}]
        register = _by_task(report["tasks"])["register_referral"]
        assert _keys(register, FIGURES) == _row(completed=5, median_days=1, p90_days=1, with_deadline=5, late=0,
                                                late_share=0.0)
        assert report["most_overdue"] == [] and report["escalations"] == []
        assert report["waiting"]["stages"] == [{"stage": "assessment", **_row(
            open_tasks=5, median_age_days=4, oldest_age_days=4, overdue=0)}]
    assert _stats(world, unit_id=zangiota)["unit"] == {"id": zangiota, "name": "Zangiota tumani", "kind": "district"}


def test_a_district_with_its_own_day_off_keeps_its_own_calendar(world):
    """Districts of one jurisdiction share its calendar in the grouped rows, unless they have overrides of their
    own: Chirchiq takes Thu 8 January off; Zangiota, back on the Uzbek calendar, does not."""
    chirchiq = actor(world, "supervisor1").district_id
    with world.db.write() as session:
        session.scalar(select(OrgUnit).where(OrgUnit.name == "Zangiota tumani")).calendar = "UZ"
        session.add(CalendarDay(calendar="UZ", date=date(2026, 1, 8), kind="day_off", name="Local day off",
                                org_unit_id=chirchiq, created_at=_at(1)))
        forget_calendars(session)
    # Chirchiq 0, 0, 2, 3, 3, 3, 4; Zangiota (Tue 6 01:00 to Thu 8 01:00 in Tashkent: 7, 8) 2 × 5
    assert _stats(world)["stages"] == [{"stage": "identification", **_row(cases=12, median_days=2, p90_days=3)}]
    assert _stats(world, "supervisor1")["stages"] == [{"stage": "identification",
                                                        **_row(cases=7, median_days=3, p90_days=4)}]
    assert _stats(world, "supervisor2")["stages"] == [{"stage": "identification",
                                                        **_row(cases=5, median_days=2, p90_days=2)}]


def test_supervisor_sees_only_their_district(world):
    report = _stats(world, "supervisor1")
    assert report["scope"] == "district"
    assert [u["name"] for u in report["units"]] == ["Chirchiq shahri"]
    # 0, 0, 3, 4, 4, 4, 5 → median (4th) 4, p90 (7th) 5
    assert report["stages"] == [{"stage": "identification", **_row(cases=7, median_days=4, p90_days=5)}]
    register = _by_task(report["tasks"])["register_referral"]
    assert _keys(register, FIGURES) == _row(completed=7, median_days=4, p90_days=5, with_deadline=7, late=5,
                                            late_share=round(5 / 7, 3))
    # open: 2, 3, 3, 3, 4 and 6, 6 → median (4th of 7) 3, oldest 6
    assert report["waiting"]["stages"] == [{"stage": "assessment", **_row(
        ["overdue"], open_tasks=7, median_age_days=3, oldest_age_days=6, overdue=None)}]
    visits = _by_task(report["waiting"]["tasks"])["home_visit_assessment"]
    assert _keys(visits, WAITING) == _row(complementary=["open_tasks"], open_tasks=None, median_age_days=3, oldest_age_days=4,
                                          overdue=0)
    assert report["waiting"]["on_hold"] == {**_row(cases=0), "by_stage": []}
    assert [(r["task"], r["escalations"]) for r in report["escalations"]] == [("register_referral", 5)]
    zangiota = actor(world, "supervisor2").district_id
    with pytest.raises(InvalidInput) as err:  # another district is not theirs to narrow to
        _stats(world, "supervisor1", unit_id=zangiota)
    assert "unit_id" in err.value.fields
    head = _stats(world, "head1")
    assert head["tasks"] == report["tasks"]


@pytest.mark.parametrize("zone", ["Asia/Tashkent", "UTC"])
def test_the_period_ends_in_its_time_zone(world, zone):
    """Until 7 January: Zangiota's registrations (Wed 7 20:00Z) are on the 8th in Tashkent, the 7th in UTC."""
    report = _stats(world, date_from=date(2026, 1, 1), date_until=date(2026, 1, 7), time_zone=zone)
    register = _by_task(report["tasks"])["register_referral"]
    if zone == "UTC":
        assert report["end"] == "2026-01-08T00:00:00+00:00"
        # C1, C2 (0) and Z1..Z5 (1 each, Kyrgyz calendar)
        assert _keys(register, FIGURES) == _row(completed=7, median_days=1, p90_days=1, with_deadline=7, late=0,
                                                late_share=0.0)
        assert report["stages"] == [{"stage": "identification", **_row(cases=7, median_days=1, p90_days=1)}]
    else:
        assert report["end"] == "2026-01-07T19:00:00+00:00"
        assert _keys(register, FIGURES) == SUPPRESSED_TASK  # C1 and C2 only
        assert report["stages"] == [{"stage": "identification", **_row(
            ["cases", "median_days", "p90_days"], True, cases=None, median_days=None, p90_days=None)}]
    assert [r["escalations"] for r in report["escalations"]] == [5]  # raised Wed 7 10:00Z in both


def test_version_narrows_to_the_cases_on_it(world):
    with world.db.write() as session:
        shipped = session.scalar(select(Case.definition_version_id).limit(1))
        other = DefinitionVersion(process_id="another_process", version=1, content_hash="f" * 64, files={},
                                  spec_json="", stages=["intake"], published_at=_at(1))
        session.add(other)
        session.flush()
        other_id = other.id
    on_shipped = _stats(world, version=shipped)
    everything = _stats(world)
    assert on_shipped["tasks"] == everything["tasks"] and on_shipped["version"] == shipped
    assert {v["id"] for v in everything["versions"]} >= {shipped, other_id}
    empty = _stats(world, version=other_id)
    assert empty["stages"] == [] and empty["tasks"] == [] and empty["escalations"] == []
    assert empty["waiting"]["stages"] == [] and empty["waiting"]["on_hold"]["cases"] == 0


def _strings(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def _main(page) -> str:
    """The page's own part (the header names the signed-in user, as on every page)."""
    return lxml.html.tostring(page.css("main")[0], encoding="unicode")


def _no_personal_data(world, text: str):
    with world.db.read() as session:
        names = list(session.scalars(select(User.full_name))) + list(session.scalars(select(User.username)))
    for name in SUBJECTS + WORKERS + names + ["Away at relatives", "Lives alone"]:
        assert name not in text, name


def test_no_personal_data_in_the_answer(world):
    report = _stats(world)
    _no_personal_data(world, json.dumps(report, ensure_ascii=False))
    keys = {s for s in _strings(report)}
    for key in ("case_id", "case_ids", "subject", "assignee", "owner", "full_name", "username", "worker", "user"):
        assert key not in keys
    # the only numbers are counts, days and shares, ids of org units and versions: no case id appears as a value
    # under any key that could carry one
    ids = set(world.fixture_case_ids)
    assert all(not (isinstance(r.get("id"), int) and r["id"] in ids and "kind" not in r and "version" not in r)
               for r in report["units"] + report["versions"])


def test_bad_requests_and_roles(world):
    who = actor(world, "methodologist1")
    for kwargs, field in [({"date_from": date(2026, 2, 1), "date_until": date(2026, 1, 1)}, "until"),
                          ({"date_from": date(1999, 1, 1)}, "from"),
                          ({"date_until": "2026-01-01"}, "until"),
                          ({"date_from": date(2001, 1, 1), "date_until": date(2026, 1, 1)}, "until"),
                          ({"time_zone": "Mars/Base"}, "time_zone"),
                          ({"unit_id": "1"}, "unit_id"),
                          ({"unit_id": 999999}, "unit_id"),
                          ({"version": 999999}, "version"),
                          ({"version": True}, "version")]:
        with pytest.raises(InvalidInput) as err:
            statistics.process_statistics(world, who, **kwargs)
        assert field in err.value.fields, kwargs
    mahalla = min(actor(world, "worker1").mahalla_ids)
    with pytest.raises(InvalidInput) as err:
        statistics.process_statistics(world, who, unit_id=mahalla)
    assert "unit_id" in err.value.fields
    for username in ("worker1", "specialist1"):
        with pytest.raises(NotAllowed):
            statistics.process_statistics(world, actor(world, username))
    default = statistics.process_statistics(world, actor(world, "admin1"))
    assert default["until"] == "2026-01-14" and default["from"] == (date(2026, 1, 14) - timedelta(days=89)).isoformat()


# --- over HTTP --------------------------------------------------------------------------------------------------

def test_api_answers_the_same_figures_and_refuses_bad_parameters(world, anon):
    methodologist = anon.login("methodologist1")
    status, body = methodologist.get("/statistics?from=2026-01-01&until=2026-01-31&lang=en")
    assert status == 200, body
    assert body["tasks"] == _stats(world)["tasks"]
    _no_personal_data(world, json.dumps(body, ensure_ascii=False))
    zangiota = actor(world, "supervisor2").district_id
    status, body = methodologist.get(f"/statistics?from=2026-01-01&until=2026-01-31&unit_id={zangiota}")
    assert status == 200 and body["unit"]["name"] == "Zangiota tumani"
    for query, field in [("from=2026-13-01", "from"), ("until=yesterday", "until"), ("unit_id=abc", "unit_id"),
                         ("unit_id=-3", "unit_id"), ("unit_id=0", "unit_id"), ("unit_id=99999999999", "unit_id"),
                         ("version=x", "version"), ("version=999999", "version"), ("time_zone=Nowhere/Land", "time_zone"),
                         ("time_zone=../../etc/passwd", "time_zone"), ("time_zone=Asia", "time_zone"),
                         ("time_zone=zone.tab", "time_zone"), ("time_zone=%00", "time_zone"), ("from=2026-02-01&until=2026-01-01", "until"),
                         ("from=0001-01-01", "from"), ("from=1990-01-01&until=2026-01-01", "from")]:
        status, body = methodologist.get("/statistics?" + query)
        assert status == 422 and field in body["fields"], (query, status, body)
    supervisor = anon.login("supervisor1")
    status, body = supervisor.get(f"/statistics?unit_id={zangiota}")
    assert status == 422 and "unit_id" in body["fields"]
    status, body = supervisor.get("/statistics?from=2026-01-01&until=2026-01-31")
    assert status == 200 and [u["name"] for u in body["units"]] == ["Chirchiq shahri"]
    for username in ("worker1", "specialist1"):
        assert anon.login(username).get("/statistics")[0] == 403
    assert anon.get("/statistics")[0] == 401


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_page_in_two_languages(world, server, language):
    client = WebClient(server.url)
    client.login("methodologist1", language=language)
    page = client.get("/statistics?from=2026-01-01&until=2026-01-31")
    assert page.status == 200, page.text[:500]
    assert page.css("html")[0].get("lang") == language
    assert page.css("#privacy") and "5" in page.texts("#privacy")[0]
    titles = {"en": "Register referral", "ru": "Регистрация обращения"}
    rows = {r.cssselect("th")[0].text_content().strip(): [td.text_content().strip() for td in r.cssselect("td")]
            for r in page.css("#tasks + p + table tbody tr")}
    assert rows[titles[language]][1:] == ["12", "1", "4", "5", "42 %"]  # the title in the reader's language
    (suppressed,) = [v for k, v in rows.items() if k != titles[language]]
    assert suppressed[1:] == ["<5", "—", "—", "<5", "—"]
    waiting = [[td.text_content().strip() for td in r.cssselect("td")]
               for r in page.css("#waiting + p + div + table tbody tr")]
    assert waiting[0] == ["12", "4", "6", "<5"]  # the stage, then its tasks (in the order of their titles)
    assert sorted(waiting[1:]) == [["<5", "—", "—", "<5"], ["·", "4", "4", "0"]]  # 12 − 10 is hidden: "·"
    assert page.css("figure.chart svg rect.bar")  # bars drawn without JavaScript
    assert not page.css("script")
    _no_personal_data(world, _main(page))
    assert "/cases/" not in _main(page)
    # a bad filter: the form again, with what is wrong, and nothing else
    page = client.get("/statistics?from=2026-02-01&until=2026-01-01")
    assert page.status == 422 and page.css("#until-error") and not page.css("#tasks")


def test_the_page_for_supervisors_only_of_their_district_and_not_for_workers(world, server):
    client = WebClient(server.url)
    client.login("supervisor1", language="en")
    page = client.get("/statistics?from=2026-01-01&until=2026-01-31")
    assert page.status == 200
    assert [o.text_content() for o in page.css("#unit_id option")] == ["Chirchiq shahri"]
    _no_personal_data(world, _main(page))
    worker = WebClient(server.url)
    worker.login("worker1", language="en")
    assert worker.get("/statistics").status == 403
