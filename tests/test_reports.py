"""Monthly reports against a hand-computed fixture, in two time zones, on SQLite and PostgreSQL.

Three cases of worker1 (Chirchiq, clock starting Mon 5 Jan 2026 09:00 UTC):

* A, opened Mon 5 Jan 09:00Z, walked to monitoring; its recognition of need (due 2 working days, 7 Jan) is
  decided only on 21 Jan: missed, and one escalation (centre head, 2 working days after the deadline) raised on
  20 Jan; 12 working days in assessment (6-9, 12-16, 19-21 Jan), 0 in each other finished stage.
* C, opened Tue 6 Jan 10:00Z, walked to closure within the same local day: every deadline met, closed
  "goals_achieved", 0 working days per stage.
* B, opened Sat 31 Jan 20:00Z: still in identification; Sunday 1 February 01:00 in Tashkent, 31 January in UTC.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.services import reports
from engine.services.scheduler import tick
from tests.helpers import actor, complete_step, open_case
from tests.sample_answers import answers, approval, assessment, referral

UTC = timezone.utc
WALK = [("register_referral", referral), ("needs_assessment", assessment),
        ("recognition_of_need", lambda: approval("approved")), ("service_plan", lambda: answers("service_plan")),
        ("plan_approval", lambda: approval("approved")), ("service_delivery", lambda: answers("service_delivery")),
        ("monitoring_visit", lambda: answers("monitoring_visit", outcome="close")),
        ("closure_proposal", lambda: answers("closure_proposal")),
        ("closure_approval", lambda: approval("approved"))]


def _steps(engine, clock, case_id, steps, every=timedelta(minutes=5)):
    for form_key, make in steps:
        clock.advance(seconds=every.total_seconds())
        complete_step(engine, case_id, form_key, make())


@pytest.fixture
def world(engine, clock):
    return build_world(engine, clock)


def build_world(engine, clock):
    """The three cases of the module's docstring; the engine returned."""
    a = open_case(engine, name="Case A")                                   # Mon 5 Jan 09:00Z
    _steps(engine, clock, a["id"], WALK[:2])
    clock.set(datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    c = open_case(engine, name="Case C")
    _steps(engine, clock, c["id"], WALK)                                  # closed by 10:45Z the same day
    clock.set(datetime(2026, 1, 20, 10, 0, tzinfo=UTC))
    tick(engine)                                                          # A's recognition is overdue: one rung
    clock.set(datetime(2026, 1, 21, 10, 0, tzinfo=UTC))
    _steps(engine, clock, a["id"], WALK[2:6])                             # A now in monitoring
    clock.set(datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
    open_case(engine, name="Case B")
    return engine


def _totals(engine, who="supervisor1", **kw):
    return reports.monthly(engine, actor(engine, who), **kw)["totals"]


DEADLINES_JANUARY = {"identification": {"met": 2, "missed": 0}, "assessment": {"met": 3, "missed": 1},
                     "planning": {"met": 4, "missed": 0}, "delivery": {"met": 2, "missed": 0},
                     "monitoring": {"met": 1, "missed": 0}, "closure": {"met": 2, "missed": 0}}
WORKING_DAYS_JANUARY = {"identification": 0.0, "assessment": 6.0, "planning": 0.0, "delivery": 0.0,
                        "monitoring": 0.0, "closure": 0.0}


@pytest.mark.parametrize("zone", ["Asia/Tashkent", "UTC"])
def test_january_figures_in_each_time_zone(world, zone):
    report = reports.monthly(world, actor(world, "supervisor1"), year=2026, month=1, level="district",
                             time_zone=zone)
    late_b = zone == "UTC"  # B opened on 31 January in UTC, on 1 February in Tashkent
    expected = {
        "opened": 3 if late_b else 2,
        "closed": 1, "closed_by_reason": {"goals_achieved": 1},
        "open_at_end": 2 if late_b else 1,
        "open_by_stage": {"monitoring": 1, **({"identification": 1} if late_b else {})},
        "open_by_risk": {"medium": 1, **({"unknown": 1} if late_b else {})},
        "served": {"persons": 3 if late_b else 2, "households": 0,
                   "by_category": {"elderly_alone": {"persons": 2, "households": 0}}},
        "services_by_type": {"household": 2},
        "referrals_by_destination": {"health": 2},
        "deadlines": DEADLINES_JANUARY,
        "working_days_by_stage": WORKING_DAYS_JANUARY,
        "escalations": 1, "escalations_by_stage": {"assessment": 1},
    }
    assert report["totals"] == expected
    assert [g["name"] for g in report["groups"]] == ["Chirchiq shahri"]
    assert report["groups"][0]["figures"] == expected
    start = "2026-01-01T00:00:00+00:00" if late_b else "2025-12-31T19:00:00+00:00"
    assert report["from"] == start and report["time_zone"] == zone


@pytest.mark.parametrize("zone", ["Asia/Tashkent", "UTC"])
def test_february_holds_case_b_only_in_tashkent(world, zone):
    totals = _totals(world, year=2026, month=2, level="region", time_zone=zone)
    in_tashkent = zone == "Asia/Tashkent"
    assert totals["opened"] == (1 if in_tashkent else 0)
    assert totals["closed"] == 0 and totals["deadlines"] == {} and totals["escalations"] == 0
    assert totals["open_at_end"] == 2  # A and B, whichever zone
    assert totals["open_by_stage"] == {"monitoring": 1, "identification": 1}
    assert totals["served"]["persons"] == 2 and totals["services_by_type"] == {}


def test_levels_and_scopes(world):
    by_worker = reports.monthly(world, actor(world, "head1"), year=2026, month=1, level="worker")
    names = {g["name"]: g["figures"] for g in by_worker["groups"]}
    worker = names["Dilnoza Karimova"]
    assert worker["opened"] == 2 and worker["closed"] == 1
    # the supervisor decided recognitions, plans and closures: her tasks, her deadlines
    assert names["Nodira Yusupova"]["deadlines"] == {"assessment": {"met": 1, "missed": 1},
                                                     "planning": {"met": 2, "missed": 0},
                                                     "closure": {"met": 1, "missed": 0}}
    assert worker["deadlines"]["assessment"] == {"met": 2, "missed": 0}
    own = reports.monthly(world, actor(world, "worker1"), year=2026, month=1, level="mahalla")
    assert own["totals"]["opened"] == 2 and own["totals"]["deadlines"]["assessment"] == {"met": 2, "missed": 0}
    assert _totals(world, "worker2", year=2026, month=1, level="worker")["opened"] == 0
    assert _totals(world, "supervisor2", year=2026, month=1, level="district")["opened"] == 0
    national = _totals(world, "methodologist1", year=2026, month=1, level="region")
    assert national["opened"] == 2 and national["escalations"] == 1
    with pytest.raises(NotAllowed):
        reports.monthly(world, actor(world, "specialist1"), year=2026, month=1, level="district")


def test_bad_requests_are_refused(engine):
    who = actor(engine, "methodologist1")
    for kwargs, field in [({"year": 2026, "month": 13, "level": "district"}, "month"),
                          ({"year": 1999, "month": 1, "level": "district"}, "year"),
                          ({"year": 2026, "month": 1, "level": "country"}, "level"),
                          ({"year": 2026, "month": 1, "level": "district", "time_zone": "Mars/Base"}, "time_zone"),
                          ({"year": 2026, "month": 1, "level": "district", "time_zone": "Asia"}, "time_zone"),
                          ({"year": 2026, "month": 1, "level": "district", "time_zone": "../../etc/passwd"}, "time_zone"),
                          ({"year": "2026", "month": 1, "level": "district"}, "year")]:
        with pytest.raises(InvalidInput) as err:
            reports.monthly(engine, who, **kwargs)
        assert field in err.value.fields
    with pytest.raises(NotFound):
        reports.monthly(engine, who, year=2026, month=1, level="district", unit_id=999999)
    with pytest.raises(NotFound):  # another district's unit, for a supervisor
        supervisor = actor(engine, "supervisor2")
        reports.monthly(engine, actor(engine, "supervisor1"), year=2026, month=1, level="district",
                        unit_id=supervisor.district_id)
