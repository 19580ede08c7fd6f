"""Working-day calendars (engine/deadlines/calendar.py).

Every expected date below was checked against the real calendar (weekdays are asserted in the tests themselves)
and against what holidays 0.109 actually lists; names are the package's English (en_US) names.
"""
from __future__ import annotations

import re
import time as stopwatch
from datetime import date, datetime, time, timedelta, timezone

import holidays
import pytest

from engine.deadlines.calendar import (
    JURISDICTIONS,
    WORKDAY_END,
    WORKDAY_START,
    DayOverride,
    Deadline,
    SkippedDay,
    WorkingCalendar,
)

UTC = timezone.utc
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def local(code: str, *args: int) -> datetime:
    """An instant given as local wall-clock time in the jurisdiction, returned in UTC."""
    return datetime(*args, tzinfo=WorkingCalendar.zone(code)).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekend(d: date) -> SkippedDay:
    return SkippedDay(d, "weekend", "")


def holiday(d: date, name: str) -> SkippedDay:
    return SkippedDay(d, "holiday", name)


@pytest.fixture
def uz() -> WorkingCalendar:
    return WorkingCalendar("UZ")


# --- The brief's example: Uzbekistan, December 2025 ---------------------------------------------------------


def test_five_working_days_from_monday_skip_the_weekend_and_constitution_day(uz):
    assert date(2025, 12, 1).weekday() == MON and date(2025, 12, 8).weekday() == MON
    start = local("UZ", 2025, 12, 1, 10, 0)

    deadline = uz.add_working_days(start, 5)

    assert deadline.start == start == utc(2025, 12, 1, 5, 0)
    assert deadline.due == local("UZ", 2025, 12, 9, 18, 0) == utc(2025, 12, 9, 13, 0)
    assert deadline.skipped == (
        weekend(date(2025, 12, 6)),
        weekend(date(2025, 12, 7)),
        holiday(date(2025, 12, 8), "Constitution Day"),
    )
    assert deadline.rolled_from is None


def test_case_opened_the_friday_before_a_monday_holiday(uz):
    assert date(2025, 12, 5).weekday() == FRI and date(2025, 12, 15).weekday() == MON

    deadline = uz.add_working_days(local("UZ", 2025, 12, 5, 16, 30), 5)

    # Tue 9, Wed 10, Thu 11, Fri 12, Mon 15.
    assert deadline.due == utc(2025, 12, 15, 13, 0)
    assert deadline.skipped == (
        weekend(date(2025, 12, 6)),
        weekend(date(2025, 12, 7)),
        holiday(date(2025, 12, 8), "Constitution Day"),
        weekend(date(2025, 12, 13)),
        weekend(date(2025, 12, 14)),
    )


def test_zero_working_days_means_close_of_business_today_or_next_working_day(uz):
    assert uz.add_working_days(local("UZ", 2025, 12, 1, 10, 0), 0).due == utc(2025, 12, 1, 13, 0)
    # Saturday 6 December: Sunday and the Monday holiday are skipped, due Tuesday.
    deadline = uz.add_working_days(local("UZ", 2025, 12, 6, 10, 0), 0)
    assert deadline.due == utc(2025, 12, 9, 13, 0)
    assert [skipped.date for skipped in deadline.skipped] == [date(2025, 12, 7), date(2025, 12, 8)]


def test_negative_counts_are_refused(uz):
    with pytest.raises(ValueError):
        uz.add_working_days(utc(2025, 12, 1, 5), -1)
    with pytest.raises(ValueError):
        uz.add_calendar_days(utc(2025, 12, 1, 5), -1)


# --- Kazakhstan, Kyrgyzstan -----------------------------------------------------------------------------------


def test_kazakhstan_nauryz_2025_is_five_days_off_in_a_row():
    kz = WorkingCalendar("KZ")
    assert date(2025, 3, 20).weekday() == THU and date(2025, 3, 26).weekday() == WED

    deadline = kz.add_working_days(local("KZ", 2025, 3, 20, 10, 0), 1)

    assert deadline.due == local("KZ", 2025, 3, 26, 18, 0) == utc(2025, 3, 26, 13, 0)
    # Saturday and Sunday are Nauryz itself; Monday and Tuesday are the observed days off for them.
    assert deadline.skipped == (
        holiday(date(2025, 3, 21), "Nowruz Holiday"),
        holiday(date(2025, 3, 22), "Nowruz Holiday"),
        holiday(date(2025, 3, 23), "Nowruz Holiday"),
        holiday(date(2025, 3, 24), "Nowruz Holiday (observed)"),
        holiday(date(2025, 3, 25), "Nowruz Holiday (observed)"),
    )


def test_kyrgyzstan_may_holidays_2025_close_the_office_from_1_to_11_may():
    kg = WorkingCalendar("KG")
    assert date(2025, 4, 30).weekday() == WED and date(2025, 5, 12).weekday() == MON

    deadline = kg.add_working_days(local("KG", 2025, 4, 30, 15, 0), 1)

    assert deadline.due == local("KG", 2025, 5, 12, 18, 0) == utc(2025, 5, 12, 12, 0)  # Bishkek is UTC+6
    assert deadline.skipped == (
        holiday(date(2025, 5, 1), "Labor Day"),
        holiday(date(2025, 5, 2), "May Holidays"),
        holiday(date(2025, 5, 3), "May Holidays"),
        holiday(date(2025, 5, 4), "May Holidays"),
        holiday(date(2025, 5, 5), "Constitution Day"),
        holiday(date(2025, 5, 6), "May Holidays"),
        holiday(date(2025, 5, 7), "May Holidays"),
        holiday(date(2025, 5, 8), "May Holidays"),
        holiday(date(2025, 5, 9), "Victory Day"),
        weekend(date(2025, 5, 10)),
        weekend(date(2025, 5, 11)),
    )


def test_kyrgyz_workday_category_lists_commemorative_days_not_transferred_working_days():
    """The package's KG "workday" category holds days that stopped being days off in 2025.

    Taking it as "these dates are working days" would open the office on Sunday 23 February and Saturday
    8 November 2025; the calendar must ignore it.
    """
    workday_category = holidays.country_holidays("KG", years=2025, categories=("workday",), language="en_US")
    assert set(workday_category) == {date(2025, 2, 23), date(2025, 4, 7), date(2025, 11, 7), date(2025, 11, 8)}
    assert date(2025, 2, 23).weekday() == SUN and date(2025, 11, 8).weekday() == SAT

    kg = WorkingCalendar("KG")
    assert kg.day_kind(date(2025, 2, 23)) == (False, "weekend", "")
    assert kg.day_kind(date(2025, 11, 8)) == (False, "weekend", "")
    assert kg.is_working_day(date(2025, 4, 7))  # a Monday
    assert kg.is_working_day(date(2025, 11, 7))  # a Friday
    # Before the 2025 Labour Code 7 November was still a day off.
    assert kg.day_kind(date(2024, 11, 7)) == (False, "holiday", "Days of History and Commemoration of Ancestors")


def test_kyrgyz_transferred_saturday_11_january_2025_is_a_working_day():
    kg = WorkingCalendar("KG")
    package = holidays.country_holidays("KG", years=2025, language="en_US")
    assert package[date(2025, 1, 2)] == "Day off (substituted from 01/11/2025)"  # MM/DD/YYYY
    assert date(2025, 1, 11).weekday() == SAT

    is_working, reason, _name = kg.day_kind(date(2025, 1, 11))
    assert (is_working, reason) == (True, "")
    assert kg.day_kind(date(2025, 1, 2)) == (False, "holiday", "Day off (substituted from 01/11/2025)")

    deadline = kg.add_working_days(local("KG", 2025, 1, 10, 11, 0), 1)  # Friday -> the worked Saturday
    assert deadline.due == utc(2025, 1, 11, 12, 0)
    assert deadline.skipped == ()


def test_kyrgyz_2024_day_off_moved_away_from_an_observed_monday_makes_that_monday_working():
    # Christmas (Sun 7 Jan 2024) was observed on Monday 8 January, and that day off was moved to 2 January.
    kg = WorkingCalendar("KG")
    assert date(2024, 1, 8).weekday() == MON
    package = holidays.country_holidays("KG", years=2024, language="en_US")
    assert package[date(2024, 1, 2)] == "Day off (substituted from 01/08/2024)"
    assert kg.is_working_day(date(2024, 1, 8))
    assert not kg.is_working_day(date(2024, 1, 2))
    # Saturdays worked in 2024 by the same decree.
    for saturday in (date(2024, 1, 27), date(2024, 3, 2), date(2024, 5, 11)):
        assert saturday.weekday() == SAT
        assert kg.is_working_day(saturday), saturday


def test_a_saturday_worked_for_a_day_off_in_the_next_year():
    kg = WorkingCalendar("KG")
    package = holidays.country_holidays("KG", years=2018, language="en_US")
    assert package[date(2018, 1, 2)] == "Day off (substituted from 12/30/2017)"
    assert date(2017, 12, 30).weekday() == SAT
    assert kg.day_kind(date(2017, 12, 30)) == (True, "", "Working day (day off moved to 2018-01-02)")
    assert kg.working_days_between(local("KG", 2017, 12, 29, 10), local("KG", 2018, 1, 4, 10)) == 2  # 30 Dec, 4 Jan


# --- Transferred working days in Uzbekistan and Kazakhstan ----------------------------------------------------


def test_uzbek_saturday_4_january_2025_is_worked_for_the_day_off_on_2_january(uz):
    package = holidays.country_holidays("UZ", years=2025, language="en_US")
    # The English name prints the date month first: 01/04/2025 is 4 January, not 1 April.
    assert package[date(2025, 1, 2)] == "Day off (substituted from 01/04/2025)"
    assert date(2025, 1, 4).weekday() == SAT

    assert uz.day_kind(date(2025, 1, 4)) == (True, "", "Working day (day off moved to 2025-01-02)")
    assert not uz.is_working_day(date(2025, 1, 5))  # the Sunday stays off
    assert uz.is_working_day(date(2025, 4, 1))  # an ordinary Tuesday, whatever a DD/MM reading would say

    deadline = uz.add_working_days(local("UZ", 2025, 1, 3, 10, 0), 1)  # Friday -> Saturday
    assert deadline.due == utc(2025, 1, 4, 13, 0)
    assert deadline.skipped == ()
    # New Year's Day, the substituted 2 January, then Friday 3 and the worked Saturday 4.
    from_new_years_eve = uz.add_working_days(local("UZ", 2024, 12, 31, 10, 0), 2)
    assert from_new_years_eve.due == utc(2025, 1, 4, 13, 0)
    assert [skipped.date for skipped in from_new_years_eve.skipped] == [date(2025, 1, 1), date(2025, 1, 2)]


def test_kazakh_sunday_5_january_2025_is_a_working_day():
    kz = WorkingCalendar("KZ")
    package = holidays.country_holidays("KZ", years=2025, language="en_US")
    assert package[date(2025, 1, 3)] == "Day off (substituted from 01/05/2025)"
    assert date(2025, 1, 5).weekday() == SUN
    assert kz.is_working_day(date(2025, 1, 5))
    assert not kz.is_working_day(date(2025, 1, 4))
    assert kz.working_days_between(local("KZ", 2025, 1, 3, 12, 0), local("KZ", 2025, 1, 6, 12, 0)) == 2


@pytest.mark.parametrize("code", sorted(JURISDICTIONS))
def test_every_weekend_day_named_in_a_substitution_is_a_working_day(code):
    """Cross-check against the names: "Day off (substituted from MM/DD/YYYY)" marks a worked day."""
    calendar = WorkingCalendar(code)
    pattern = re.compile(r"substituted from (\d\d)/(\d\d)/(\d{4})")
    worked_weekend_days = []
    for year in range(2015, 2027):
        for day_off, name in holidays.country_holidays(code, years=year, language="en_US").items():
            if match := pattern.search(name):
                worked = date(int(match[3]), int(match[1]), int(match[2]))
                assert not calendar.is_working_day(day_off), (day_off, name)
                assert calendar.is_working_day(worked), (worked, name)
                if worked.weekday() >= SAT:
                    worked_weekend_days.append(worked)
    assert worked_weekend_days  # every country has had some in these years


# --- Overrides ------------------------------------------------------------------------------------------------


def test_an_extra_day_off_moves_the_deadline_and_is_explained():
    calendar = WorkingCalendar("UZ", [DayOverride(date(2025, 12, 9), "day_off", "Regional day of mourning")])

    deadline = calendar.add_working_days(local("UZ", 2025, 12, 1, 10, 0), 5)

    assert deadline.due == utc(2025, 12, 10, 13, 0)
    assert deadline.skipped[-1] == SkippedDay(date(2025, 12, 9), "day_off", "Regional day of mourning")
    assert calendar.holiday_name(date(2025, 12, 9), "ru") == "Regional day of mourning"


def test_a_saturday_made_working_counts(uz):
    assert date(2025, 12, 13).weekday() == SAT
    calendar = WorkingCalendar("UZ", [DayOverride(date(2025, 12, 13), "working_day", "Worked for 31 December")])

    assert calendar.day_kind(date(2025, 12, 13)) == (True, "", "Worked for 31 December")
    assert calendar.add_working_days(local("UZ", 2025, 12, 12, 10, 0), 1).due == utc(2025, 12, 13, 13, 0)
    assert uz.add_working_days(local("UZ", 2025, 12, 12, 10, 0), 1).due == utc(2025, 12, 15, 13, 0)


def test_overrides_beat_public_holidays():
    working_on_constitution_day = WorkingCalendar("UZ", [DayOverride(date(2025, 12, 8), "working_day")])
    deadline = working_on_constitution_day.add_working_days(local("UZ", 2025, 12, 1, 10, 0), 5)
    assert deadline.due == utc(2025, 12, 8, 13, 0)
    assert deadline.skipped == (weekend(date(2025, 12, 6)), weekend(date(2025, 12, 7)))

    renamed = WorkingCalendar("UZ", [DayOverride(date(2025, 12, 8), "day_off", "Local name")])
    assert renamed.day_kind(date(2025, 12, 8)) == (False, "day_off", "Local name")


def test_overrides_are_validated():
    with pytest.raises(ValueError):
        DayOverride(date(2025, 12, 8), "holiday")
    with pytest.raises(TypeError):
        DayOverride(datetime(2025, 12, 8, 0, 0), "day_off")


def test_unknown_jurisdiction_is_refused():
    with pytest.raises(ValueError):
        WorkingCalendar("RU")
    assert WorkingCalendar("uz").code == "UZ"


# --- Time zones -----------------------------------------------------------------------------------------------


def test_zones_come_from_the_tzdata_package():
    for code, key in JURISDICTIONS.items():
        zone = WorkingCalendar.zone(code)
        assert zone.key == key
        assert WorkingCalendar(code).tz is zone  # loaded once


def test_kazakhstan_moved_to_utc_plus_5_on_1_march_2024():
    kz = WorkingCalendar("KZ")
    assert kz.end_of_day(date(2024, 2, 29)) == utc(2024, 2, 29, 12, 0)  # UTC+6
    assert kz.end_of_day(date(2024, 3, 2)) == utc(2024, 3, 2, 13, 0)  # UTC+5
    # Local midnight moved with it: 18:30 UTC was already the next day in February, but not in March.
    assert kz.local_date(utc(2024, 2, 28, 18, 30)) == date(2024, 2, 29)
    assert kz.local_date(utc(2024, 3, 2, 18, 30)) == date(2024, 3, 2)
    assert kz.local_date(utc(2024, 3, 2, 19, 0)) == date(2024, 3, 3)
    # On the night of the change midnight +06 became 23:00 +05: 18:30 UTC was 23:30 on 29 February again.
    assert kz.local_date(utc(2024, 2, 29, 17, 59)) == date(2024, 2, 29)
    assert kz.local_date(utc(2024, 2, 29, 18, 30)) == date(2024, 2, 29)
    assert kz.local_date(utc(2024, 2, 29, 19, 0)) == date(2024, 3, 1)
    # The clocks went back an hour at midnight, so 29 February 2024 lasted 25 hours in Almaty.
    zone = kz.tz
    day_length = datetime(2024, 3, 1, tzinfo=zone).astimezone(UTC) - datetime(2024, 2, 29, tzinfo=zone).astimezone(UTC)
    assert day_length == timedelta(hours=25)
    # Uzbekistan did not change.
    assert WorkingCalendar("UZ").end_of_day(date(2024, 2, 29)) == utc(2024, 2, 29, 13, 0)


@pytest.mark.parametrize("code", sorted(JURISDICTIONS))
def test_no_daylight_saving_time_in_2025(code):
    zone = WorkingCalendar.zone(code)
    day = date(2025, 1, 1)
    while day.year == 2025:
        midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        assert next_midnight - midnight == timedelta(hours=24), day
        day += timedelta(days=1)
    assert datetime(2025, 3, 31, tzinfo=zone).utcoffset() == datetime(2025, 10, 27, tzinfo=zone).utcoffset()


def test_naive_datetimes_are_refused(uz):
    naive = datetime(2025, 12, 1, 10, 0)
    aware = utc(2025, 12, 1, 5, 0)
    for call in (
        lambda: uz.local_date(naive),
        lambda: uz.add_working_days(naive, 1),
        lambda: uz.add_working_hours(naive, 1),
        lambda: uz.add_working_seconds(naive, 1),
        lambda: uz.add_calendar_days(naive, 1),
        lambda: uz.working_days_between(naive, aware),
        lambda: uz.working_days_between(aware, naive),
        lambda: uz.working_seconds_between(naive, aware),
        lambda: uz.working_seconds_between(aware, naive),
    ):
        with pytest.raises(ValueError):
            call()


def test_aware_instants_in_another_zone_come_back_in_utc(uz):
    start = datetime(2025, 12, 1, 10, 0, tzinfo=uz.tz)
    deadline = uz.add_working_days(start, 5)
    assert deadline.start.utcoffset() == timedelta(0) and deadline.start == utc(2025, 12, 1, 5, 0)
    assert deadline.due.tzinfo is UTC


# --- Month ends, leap day, calendar days ------------------------------------------------------------------------


def test_working_days_across_the_end_of_january(uz):
    assert date(2025, 1, 31).weekday() == FRI and date(2025, 2, 7).weekday() == FRI
    assert not [d for d in holidays.country_holidays("UZ", years=2025) if d.month == 2]

    assert uz.add_working_days(local("UZ", 2025, 1, 31, 10, 0), 1).due == utc(2025, 2, 3, 13, 0)
    assert uz.add_working_days(local("UZ", 2025, 1, 31, 10, 0), 5).due == utc(2025, 2, 7, 13, 0)
    assert uz.add_working_days(local("UZ", 2025, 1, 30, 10, 0), 1).due == utc(2025, 1, 31, 13, 0)


def test_working_days_across_29_february_2028():
    kz = WorkingCalendar("KZ")  # no KZ holiday near it (UZ has an estimated Eid al-Fitr on 26-28 Feb 2028)
    assert not [d for d in holidays.country_holidays("KZ", years=2028) if d.month == 2]
    assert date(2028, 2, 29).weekday() == TUE and date(2028, 2, 25).weekday() == FRI

    assert kz.add_working_days(local("KZ", 2028, 2, 25, 10, 0), 2).due == local("KZ", 2028, 2, 29, 18, 0)
    assert kz.add_working_days(local("KZ", 2028, 2, 28, 10, 0), 2).due == local("KZ", 2028, 3, 1, 18, 0)
    assert kz.working_days_between(local("KZ", 2028, 2, 28, 10), local("KZ", 2028, 3, 1, 10)) == 2


def test_calendar_days_landing_on_29_february_2028():
    kz = WorkingCalendar("KZ")
    assert date(2028, 1, 29).weekday() == SAT

    deadline = kz.add_calendar_days(local("KZ", 2028, 1, 29, 12, 0), 31)
    assert deadline.due == local("KZ", 2028, 2, 29, 18, 0) == utc(2028, 2, 29, 13, 0)
    assert deadline.rolled_from is None and deadline.skipped == ()

    # Landing on Saturday 26 February with Monday 28 declared off rolls over three days onto the leap day.
    closed_monday = WorkingCalendar("KZ", [DayOverride(date(2028, 2, 28), "day_off", "Flooding")])
    rolled = closed_monday.add_calendar_days(local("KZ", 2028, 1, 29, 12, 0), 28)
    assert rolled.due == utc(2028, 2, 29, 13, 0)
    assert rolled.rolled_from == date(2028, 2, 26)
    assert rolled.skipped == (
        weekend(date(2028, 2, 26)),
        weekend(date(2028, 2, 27)),
        SkippedDay(date(2028, 2, 28), "day_off", "Flooding"),
    )


def test_calendar_days_roll_off_a_weekend_and_list_only_what_was_rolled_over(uz):
    deadline = uz.add_calendar_days(local("UZ", 2025, 12, 1, 10, 0), 5)  # Saturday 6 December
    assert deadline.due == utc(2025, 12, 9, 13, 0)
    assert deadline.rolled_from == date(2025, 12, 6)
    assert deadline.skipped == (
        weekend(date(2025, 12, 6)),
        weekend(date(2025, 12, 7)),
        holiday(date(2025, 12, 8), "Constitution Day"),
    )

    # 30 days from Monday 1 December is Wednesday 31 December, itself a day off by decree in 2025.
    new_years_eve = uz.add_calendar_days(local("UZ", 2025, 12, 1, 10, 0), 30)
    assert new_years_eve.rolled_from == date(2025, 12, 31)
    assert new_years_eve.due == utc(2026, 1, 5, 13, 0)
    assert [skipped.reason for skipped in new_years_eve.skipped] == ["holiday", "holiday", "holiday", "weekend", "weekend"]

    # A working landing date is not rolled and lists no weekends in between.
    plain = uz.add_calendar_days(local("UZ", 2025, 12, 1, 10, 0), 14)
    assert plain == Deadline(utc(2025, 12, 1, 5, 0), utc(2025, 12, 15, 13, 0), ())


# --- Working hours ------------------------------------------------------------------------------------------------


def test_office_hours_are_nine_to_six():
    assert (WORKDAY_START, WORKDAY_END) == (time(9, 0), time(18, 0))


def test_two_working_hours_from_five_pm_end_at_ten_next_morning(uz):
    deadline = uz.add_working_hours(local("UZ", 2025, 12, 2, 17, 0), 2)  # Tuesday
    assert deadline.due == local("UZ", 2025, 12, 3, 10, 0)
    assert deadline.skipped == ()

    over_the_weekend = uz.add_working_hours(local("UZ", 2025, 12, 5, 17, 0), 2)  # Friday, Monday a holiday
    assert over_the_weekend.due == local("UZ", 2025, 12, 9, 10, 0)
    assert [skipped.date for skipped in over_the_weekend.skipped] == [
        date(2025, 12, 6), date(2025, 12, 7), date(2025, 12, 8)
    ]


def test_working_hours_started_outside_office_hours_begin_at_the_next_opening(uz):
    assert uz.add_working_hours(local("UZ", 2025, 12, 6, 11, 0), 1).due == local("UZ", 2025, 12, 9, 10, 0)  # Sat
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 7, 30), 1).due == local("UZ", 2025, 12, 2, 10, 0)
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 20, 0), 1).due == local("UZ", 2025, 12, 3, 10, 0)
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 18, 0), 0.5).due == local("UZ", 2025, 12, 3, 9, 30)


def test_working_hours_ending_exactly_at_closing_time_stay_there(uz):
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 9, 0), 9).due == local("UZ", 2025, 12, 2, 18, 0)
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 17, 0), 1).due == local("UZ", 2025, 12, 2, 18, 0)
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 20, 0), 9).due == local("UZ", 2025, 12, 3, 18, 0)
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 9, 0), 27).due == local("UZ", 2025, 12, 4, 18, 0)


def test_24_working_hours_are_not_a_calendar_day(uz):
    # Tuesday 10:00 + 24 working hours: 8 on Tuesday, 9 on Wednesday, 7 on Thursday.
    assert uz.add_working_hours(local("UZ", 2025, 12, 2, 10, 0), 24).due == local("UZ", 2025, 12, 4, 16, 0)


def test_no_working_time_leaves_the_start_unchanged(uz):
    start = local("UZ", 2025, 12, 6, 11, 0)
    assert uz.add_working_seconds(start, 0) == Deadline(start, start, ())
    assert uz.add_working_seconds(start, -5) == Deadline(start, start, ())
    assert uz.add_working_hours(start, 0).due == start
    with pytest.raises(ValueError):
        uz.add_working_seconds(start, float("inf"))


def test_working_seconds(uz):
    start = local("UZ", 2025, 12, 2, 17, 59, 30)
    assert uz.add_working_seconds(start, 30).due == local("UZ", 2025, 12, 2, 18, 0)
    assert uz.add_working_seconds(start, 31).due == local("UZ", 2025, 12, 3, 9, 0, 1)
    assert uz.add_working_seconds(start, 1.5).due == local("UZ", 2025, 12, 2, 17, 59, 31, 500000)


# --- Measuring ------------------------------------------------------------------------------------------------------


def test_working_days_between(uz):
    due = local("UZ", 2025, 12, 9, 18, 0)  # Tuesday
    assert uz.working_days_between(due, local("UZ", 2025, 12, 10, 10, 0)) == 1
    assert uz.working_days_between(local("UZ", 2025, 12, 10, 10, 0), due) == -1
    assert uz.working_days_between(due, local("UZ", 2025, 12, 9, 23, 59)) == 0
    assert uz.working_days_between(local("UZ", 2025, 12, 9, 0, 1), due) == 0
    # Friday to Tuesday: Saturday, Sunday and Constitution Day do not count.
    assert uz.working_days_between(local("UZ", 2025, 12, 5, 10), local("UZ", 2025, 12, 9, 10)) == 1
    assert uz.working_days_between(local("UZ", 2025, 12, 9, 10), local("UZ", 2025, 12, 5, 10)) == -1
    # Local dates, not UTC dates: 20:00 UTC on 1 December is already 2 December in Tashkent.
    assert uz.working_days_between(utc(2025, 12, 1, 12, 0), utc(2025, 12, 1, 20, 0)) == 1


def test_working_days_between_counts_back_what_add_working_days_added(uz):
    start = local("UZ", 2025, 12, 1, 10, 0)
    for n in range(0, 30):
        assert uz.working_days_between(start, uz.add_working_days(start, n).due) == n


def test_working_seconds_between(uz):
    hour = 3600.0
    assert uz.working_seconds_between(local("UZ", 2025, 12, 1, 10), local("UZ", 2025, 12, 2, 10)) == 9 * hour
    assert uz.working_seconds_between(local("UZ", 2025, 12, 5, 17), local("UZ", 2025, 12, 9, 10)) == 2 * hour
    assert uz.working_seconds_between(local("UZ", 2025, 12, 6, 10), local("UZ", 2025, 12, 8, 17)) == 0.0
    assert uz.working_seconds_between(local("UZ", 2025, 12, 2, 10), local("UZ", 2025, 12, 1, 10)) == 0.0
    same = local("UZ", 2025, 12, 2, 10)
    assert uz.working_seconds_between(same, same) == 0.0
    assert uz.working_seconds_between(local("UZ", 2025, 12, 2, 7), local("UZ", 2025, 12, 2, 9, 30)) == 1800.0


def test_working_seconds_between_inverts_add_working_seconds(uz):
    start = local("UZ", 2025, 12, 5, 16, 45)
    for seconds in (1, 900, 4 * 3600, 9 * 3600, 40 * 3600 + 17):
        due = uz.add_working_seconds(start, seconds).due
        assert uz.working_seconds_between(start, due) == seconds


# --- Holiday names in our languages -------------------------------------------------------------------------------


def test_holiday_names_in_uzbek():
    uz = WorkingCalendar("UZ")
    nowruz = date(2025, 3, 21)
    assert uz.holiday_name(nowruz, "en") == "Nowruz"
    assert uz.holiday_name(nowruz, "uz") == "Navroʻz bayrami"
    assert uz.holiday_name(nowruz, "uz-Cyrl") == "Navroʻz bayrami"  # the package has no Cyrillic Uzbek
    assert uz.holiday_name(date(2025, 12, 8), "uz") == "Oʻzbekiston Respublikasi Konstitutsiyasi kuni"
    assert uz.holiday_name(nowruz, "ru") == "Nowruz"  # no Russian for Uzbekistan in the package
    assert uz.holiday_name(nowruz, "de") == "Nowruz"
    assert uz.holiday_name(date(2025, 12, 9), "uz") is None


def test_holiday_names_in_kazakh():
    kz = WorkingCalendar("KZ")
    nauryz = date(2025, 3, 21)
    assert kz.holiday_name(nauryz, "en") == "Nowruz Holiday"
    assert kz.holiday_name(nauryz, "kk") == "Наурыз мейрамы"
    assert kz.holiday_name(date(2025, 12, 16), "kk") == "Тәуелсіздік күні"
    assert kz.holiday_name(nauryz, "ru") == "Nowruz Holiday"  # no Russian for Kazakhstan in the package


def test_holiday_names_in_kyrgyz_and_russian():
    kg = WorkingCalendar("KG")
    nooruz = date(2025, 3, 21)
    assert kg.holiday_name(nooruz, "en") == "Nooruz Holiday"
    assert kg.holiday_name(nooruz, "ky") == "Элдик Нооруз майрамы"
    assert kg.holiday_name(nooruz, "ru") == "Народный праздник Нооруз"
    assert kg.holiday_name(date(2025, 5, 2), "ru") == "Майские каникулы"
    assert kg.holiday_name(date(2025, 5, 2), "ky") == "Май каникулдары"
    assert kg.holiday_name(date(2025, 5, 2), "en") == "May Holidays"


# --- Speed ----------------------------------------------------------------------------------------------------------


def test_four_hundred_working_days_are_quick_and_count_back(uz):
    start = local("UZ", 2026, 1, 5, 10, 0)
    began = stopwatch.perf_counter()
    deadline = uz.add_working_days(start, 400)
    elapsed = stopwatch.perf_counter() - began

    assert elapsed < 1.0
    due_day = uz.local_date(deadline.due)
    assert due_day.year == 2027 and uz.is_working_day(due_day)
    assert uz.working_days_between(start, deadline.due) == 400
    # Every calendar day after the start is either one of the 400 or listed as skipped.
    assert 400 + len(deadline.skipped) == (due_day - date(2026, 1, 5)).days
    assert all(not uz.is_working_day(skipped.date) for skipped in deadline.skipped)
    assert uz.working_seconds_between(start, uz.add_working_hours(start, 400 * 9).due) == 400 * 9 * 3600


def test_holiday_tables_are_cached_across_instances(monkeypatch):
    start = local("UZ", 2025, 12, 1, 10, 0)
    WorkingCalendar("UZ").add_working_days(start, 5)  # warm the cache for 2025

    def refuse(*args, **kwargs):
        raise AssertionError("holiday table rebuilt")

    monkeypatch.setattr(holidays, "country_holidays", refuse)
    began = stopwatch.perf_counter()
    for _ in range(500):
        assert WorkingCalendar("UZ").add_working_days(start, 5).due == utc(2025, 12, 9, 13, 0)
    assert stopwatch.perf_counter() - began < 1.0
