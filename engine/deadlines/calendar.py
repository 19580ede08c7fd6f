"""Working-day calendars for Uzbekistan (UZ), Kazakhstan (KZ) and Kyrgyzstan (KG).

Pure Python: no database, no Flask, no SpiffWorkflow.  The engine turns "5 working days" into a due instant
here, and keeps the explanation (which days were skipped and why) next to it.

Instants and local dates
========================
* Every instant going in or out is an aware datetime in UTC.  Naive datetimes raise ValueError (we cannot know
  which zone they meant); aware ones in another zone are accepted and converted to UTC.
* Local dates are taken in the jurisdiction's zone: Asia/Tashkent (UZ, UTC+5), Asia/Almaty (KZ: UTC+6 until
  29 February 2024, UTC+5 for the whole country from 1 March 2024), Asia/Bishkek (KG, UTC+6).  The zones are
  read from the ``tzdata`` *package*, never the operating system's database, so every server agrees.  None of
  these zones has had daylight saving time for twenty years; historical transitions never fall inside office
  hours, and all arithmetic is done on UTC instants anyway.
* Office hours are WORKDAY_START-WORKDAY_END (09:00-18:00) local time, so a working day holds 9 working hours.

Which days are working days
===========================
In order of precedence:

1. Administrator overrides (``DayOverride``): "day_off" makes any date non-working (reason "day_off"),
   "working_day" makes any date working.  Used for extra days off, transfers the package does not know yet,
   and regional differences.
2. Public holidays from the ``holidays`` package (category "public"), including its observed days (a holiday
   on a weekend moved to Monday) and substituted days off (reason "holiday", English name from the package).
   A Saturday that is also a holiday (8 March 2025) is reported as a holiday: the name explains more.
3. Transferred working days: a Saturday or Sunday whose day off was moved to another date by decree
   ("Day off (substituted from 01/04/2025)" on 2 January 2025 makes Saturday 4 January 2025 a working day).
   They are taken from the package's ``weekend_workdays``, the dates it derives from its own substitution
   table, rather than by parsing the names: the English names print the date as MM/DD/YYYY, the Uzbek ones
   as DD/MM YYYY, the Kazakh and Kyrgyz ones as DD.MM.YYYY.
   The package's "workday" category for KG is *not* a list of transferred working days: it holds
   commemorative days that stopped being days off under the 2025 Labour Code (23 February, 7 April, 7-8
   November).  They are working days when they fall on a weekday and stay days off when they fall on a
   weekend, exactly as if the category did not exist, so it is not consulted.
4. The weekly pattern: Saturday and Sunday off (reason "weekend", no name).

Deadline arithmetic
===================
``add_working_days(start, n)``
    The start's local date never counts.  The due date is the n-th working day after it, due at the close
    of business (18:00 local) of that day.  n = 0 means "by the end of today": the end of the start's local
    date if it is a working day, else of the next working day (which can be earlier than ``start`` when a
    case opens after 18:00).
``add_working_hours(start, h)`` / ``add_working_seconds(start, s)``
    Working time is consumed inside office hours on working days.  A start outside office hours (evening,
    weekend, holiday) begins counting at the next opening.  A result that lands exactly on a closing time
    stays at that closing time (Monday 18:00, not Tuesday 09:00).  h <= 0 or s <= 0 returns ``start``
    unchanged, without skipped days.
``add_calendar_days(start, n)``
    The start's local date plus n days.  If that date is not a working day the deadline rolls forward to the
    next working day and ``rolled_from`` records the original date; due at 18:00 local of the resulting date.
    ``skipped`` lists only the non-working days rolled over, not every weekend in between.
``working_days_between(a, b)``
    The number of working days d with local(a) < d <= local(b): due Tuesday 18:00 and now Wednesday 10:00
    gives 1 (one working day late).  If local(b) is before local(a) the answer is minus the count the other
    way round; the same local date gives 0.
``working_seconds_between(a, b)``
    The working time between two instants, in seconds; 0 when b <= a.

Negative n for ``add_working_days`` and ``add_calendar_days`` raises ValueError: a deadline never lies before
the day it was set.

``Deadline.skipped`` lists, in order, every non-working day strictly after the start's local date up to and
including the due's local date, with its reason and English name (except ``add_calendar_days``, see above).

Holiday tables are built once per (country, year, language) and cached for the life of the process, so
``WorkingCalendar`` instances are cheap enough to build for every request.
"""
from __future__ import annotations

import importlib.resources
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays

WORKDAY_START = time(9, 0)
WORKDAY_END = time(18, 0)

JURISDICTIONS: Mapping[str, str] = MappingProxyType(
    {"UZ": "Asia/Tashkent", "KZ": "Asia/Almaty", "KG": "Asia/Bishkek"}
)

# Override kinds.
DAY_OFF = "day_off"
WORKING_DAY = "working_day"
OVERRIDE_KINDS = (DAY_OFF, WORKING_DAY)

# Reasons a day is not a working day (SkippedDay.reason, DayKind.reason).
WEEKEND = "weekend"
HOLIDAY = "holiday"

ENGLISH = "en_US"

# Our UI locales -> the holidays package's languages to try, best first.  A country gets the first one it
# supports, else English.  The package has no Cyrillic Uzbek and no Russian for UZ or KZ.
_LOCALE_CANDIDATES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "uz": ("uz",),
    "uz-cyrl": ("uz",),
    "ru": ("ru", "ru_KG"),
    "kk": ("kk",),
    "ky": ("ky",),
    "en": (ENGLISH,),
})

_ONE_DAY = timedelta(days=1)
UTC = timezone.utc


@dataclass(frozen=True)
class DayOverride:
    """An administrator's change to one date; it beats the weekly pattern and the public holidays."""

    date: date
    kind: str  # DAY_OFF (an extra day off) | WORKING_DAY (e.g. a Saturday worked in place of a bridge day)
    name: str = ""  # shown in explanations, e.g. "Day off moved from 4 January"

    def __post_init__(self) -> None:
        # A datetime is a date too, but would never equal the dates we look up.
        if isinstance(self.date, datetime) or not isinstance(self.date, date):
            raise TypeError(f"DayOverride.date must be a date, not {type(self.date).__name__}")
        if self.kind not in OVERRIDE_KINDS:
            raise ValueError(f"DayOverride.kind must be one of {OVERRIDE_KINDS}, not {self.kind!r}")


@dataclass(frozen=True)
class SkippedDay:
    date: date
    reason: str  # WEEKEND | HOLIDAY | DAY_OFF (administrator override)
    name: str = ""  # English holiday name, or the override's name; "" for an ordinary weekend


@dataclass(frozen=True)
class Deadline:
    start: datetime  # aware UTC
    due: datetime  # aware UTC
    skipped: tuple[SkippedDay, ...]  # non-working days after start's local date up to due's local date
    rolled_from: date | None = None  # add_calendar_days only: the date that fell on a non-working day


class DayKind(NamedTuple):
    """What kind of day a date is; a plain ``(is_working, reason, name)`` tuple for callers who unpack it."""

    is_working: bool
    reason: str  # "" for working days, else WEEKEND | HOLIDAY | DAY_OFF
    name: str  # holiday or override name; for a transferred working day, which day off it paid for


# --- The holidays package, cached -------------------------------------------------------------------------


@dataclass(frozen=True)
class _PackageYear:
    """One country's holidays for one year in one language, as the package computes them."""

    names: Mapping[date, str]
    weekend_workdays: frozenset[date]  # may include dates of neighbouring years (decrees cross New Year)
    substitution_label: str  # e.g. "Day off (substituted from %s)", to find which day off a workday paid for
    substitution_date_format: str  # e.g. "%m/%d/%Y"


@lru_cache(maxsize=None)
def _package_year(code: str, year: int, language: str) -> _PackageYear:
    # expand=False: a cached table must never grow when someone looks up another year (threads share it).
    table = holidays.country_holidays(
        code, years=year, language=language, categories=(holidays.PUBLIC,), expand=False
    )
    return _PackageYear(
        names=MappingProxyType(dict(table)),
        weekend_workdays=frozenset(table.weekend_workdays),
        substitution_label=_translated_attribute(table, "substituted_label"),
        substitution_date_format=_translated_attribute(table, "substituted_date_format"),
    )


@lru_cache(maxsize=None)
def _supported_languages(code: str) -> frozenset[str]:
    return frozenset(holidays.list_localized_countries().get(code, (ENGLISH,)))


def _translated_attribute(table: holidays.HolidayBase, attribute: str) -> str:
    value = getattr(table, attribute, None)
    return table.tr(value) if value else ""


@dataclass(frozen=True)
class _YearCalendar:
    """What a country's calendar says about one year, before administrator overrides."""

    holidays: Mapping[date, str]  # non-working dates -> English name
    transferred_working_days: Mapping[date, str]  # weekend dates worked by decree -> explanation


@lru_cache(maxsize=None)
def _year_calendar(code: str, year: int) -> _YearCalendar:
    this_year = _package_year(code, year, ENGLISH)
    # A decree for one year can pay for a day off with a Saturday of the year before (KG's 2 January 2018
    # was worked on Saturday 30 December 2017).  The package already lists such Saturdays in every year's
    # weekend_workdays, but the day off they paid for, which names them, is in the neighbouring year.
    neighbours = [_package_year(code, y, ENGLISH) for y in (year - 1, year, year + 1)]
    transferred = {
        workday: _transferred_working_day_name(workday, neighbours)
        for table in neighbours
        for workday in table.weekend_workdays
        if workday.year == year and workday not in this_year.names
    }
    return _YearCalendar(holidays=this_year.names, transferred_working_days=MappingProxyType(transferred))


def _transferred_working_day_name(workday: date, tables: Iterable[_PackageYear]) -> str:
    # The package names the day off after the working day it came from; rebuild that exact name to find it.
    for table in tables:
        if not table.substitution_label:
            continue
        day_off_name = table.substitution_label % workday.strftime(table.substitution_date_format)
        for day_off, name in table.names.items():
            if name == day_off_name:
                return f"Working day (day off moved to {day_off.isoformat()})"
    return "Working day (day off moved by decree)"


# --- Time zones -------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _zone_from_tzdata_package(key: str) -> ZoneInfo:
    # ZoneInfo(key) would prefer the system's /usr/share/zoneinfo, which may predate Kazakhstan's move to
    # UTC+5 (tzdata 2024a).  The tzdata package is pinned with the code, so every machine agrees.
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*key.split("/"))
    with resource.open("rb") as zone_file:
        return ZoneInfo.from_file(zone_file, key=key)


def _jurisdiction(code: str) -> str:
    normalised = code.strip().upper()
    if normalised not in JURISDICTIONS:
        raise ValueError(f"Unknown jurisdiction {code!r}; expected one of {sorted(JURISDICTIONS)}")
    return normalised


def _as_utc(instant: datetime) -> datetime:
    if not isinstance(instant, datetime):
        raise TypeError(f"expected an aware datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: instants must be aware (UTC)")
    return instant.astimezone(UTC)


def _require_non_negative(n: int) -> None:
    if n < 0:
        raise ValueError(f"a deadline cannot lie before its start (n={n})")


# --- The calendar -----------------------------------------------------------------------------------------


class WorkingCalendar:
    """One jurisdiction's working days and office hours, plus an administrator's overrides."""

    def __init__(self, code: str, overrides: Iterable[DayOverride] = ()):
        self.code: str = _jurisdiction(code)
        self.tz: ZoneInfo = self.zone(self.code)
        # Later overrides for the same date win, as when an administrator corrects an entry.
        self._overrides: dict[date, DayOverride] = {override.date: override for override in overrides}

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.code!r}, overrides={len(self._overrides)})"

    @staticmethod
    def zone(code: str) -> ZoneInfo:
        return _zone_from_tzdata_package(JURISDICTIONS[_jurisdiction(code)])

    # --- days ---------------------------------------------------------------------------------------------

    def day_kind(self, d: date) -> DayKind:
        override = self._overrides.get(d)
        if override is not None:
            if override.kind == WORKING_DAY:
                return DayKind(True, "", override.name)
            return DayKind(False, DAY_OFF, override.name)
        year = _year_calendar(self.code, d.year)
        if d in year.holidays:
            return DayKind(False, HOLIDAY, year.holidays[d])
        if d in year.transferred_working_days:
            return DayKind(True, "", year.transferred_working_days[d])
        if d.weekday() >= 5:
            return DayKind(False, WEEKEND, "")
        return DayKind(True, "", "")

    def is_working_day(self, d: date) -> bool:
        return self.day_kind(d).is_working

    def holiday_name(self, d: date, language: str) -> str | None:
        """The name of the holiday or override on ``d`` in ``language`` (a UI locale), None if there is none.

        Override names are returned as stored (administrators write them in one language).  Package names
        come in the best language the package has for this country, else in English.
        """
        override = self._overrides.get(d)
        if override is not None and override.name:
            return override.name
        return _package_year(self.code, d.year, self._package_language(language)).names.get(d)

    def _package_language(self, locale: str) -> str:
        supported = _supported_languages(self.code)
        if locale in supported:  # already one of the package's codes, e.g. "ru_KG"
            return locale
        candidates = _LOCALE_CANDIDATES.get(locale.replace("_", "-").lower(), ())
        return next((language for language in candidates if language in supported), ENGLISH)

    def _next_working_day(self, d: date) -> date:
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def _working_day_on_or_after(self, d: date) -> date:
        return d if self.is_working_day(d) else self._next_working_day(d)

    def _skipped_between(self, after: date, through: date) -> tuple[SkippedDay, ...]:
        """The non-working days d with after < d <= through, in order."""
        skipped = []
        d = after + _ONE_DAY
        while d <= through:
            kind = self.day_kind(d)
            if not kind.is_working:
                skipped.append(SkippedDay(d, kind.reason, kind.name))
            d += _ONE_DAY
        return tuple(skipped)

    def _count_working_days(self, after: date, through: date) -> int:
        """The number of working days d with after < d <= through."""
        count = 0
        d = after + _ONE_DAY
        while d <= through:
            count += self.is_working_day(d)
            d += _ONE_DAY
        return count

    # --- instants -----------------------------------------------------------------------------------------

    def local_date(self, instant: datetime) -> date:
        return _as_utc(instant).astimezone(self.tz).date()

    def _local_instant(self, d: date, clock: time) -> datetime:
        return datetime.combine(d, clock, tzinfo=self.tz).astimezone(UTC)

    def start_of_day(self, d: date) -> datetime:
        """WORKDAY_START local on ``d``, as aware UTC."""
        return self._local_instant(d, WORKDAY_START)

    def end_of_day(self, d: date) -> datetime:
        """WORKDAY_END local on ``d``, as aware UTC: the moment a deadline "on d" falls due."""
        return self._local_instant(d, WORKDAY_END)

    # --- deadlines ----------------------------------------------------------------------------------------

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        start = _as_utc(start)
        _require_non_negative(n)
        start_day = self.local_date(start)
        due_day = self._working_day_on_or_after(start_day)
        if n > 0:
            due_day = start_day
            for _ in range(n):
                due_day = self._next_working_day(due_day)
        return Deadline(start, self.end_of_day(due_day), self._skipped_between(start_day, due_day))

    def add_working_hours(self, start: datetime, hours: float) -> Deadline:
        return self.add_working_seconds(start, hours * 3600)

    def add_working_seconds(self, start: datetime, seconds: float) -> Deadline:
        start = _as_utc(start)
        if not math.isfinite(seconds):
            raise ValueError(f"working time must be finite, not {seconds}")
        if seconds <= 0:
            return Deadline(start, start, ())
        remaining = timedelta(seconds=seconds)
        start_day = day = self.local_date(start)
        while True:
            if self.is_working_day(day):
                # max(): only the first day can begin after opening; later days' openings are after start.
                begin, closing = max(start, self.start_of_day(day)), self.end_of_day(day)
                if begin < closing:
                    available = closing - begin
                    # <=: a deadline exactly at closing time stays there rather than moving to next morning.
                    if remaining <= available:
                        due = begin + remaining
                        return Deadline(start, due, self._skipped_between(start_day, day))
                    remaining -= available
            day += _ONE_DAY

    def add_calendar_days(self, start: datetime, n: int) -> Deadline:
        start = _as_utc(start)
        _require_non_negative(n)
        target = self.local_date(start) + timedelta(days=n)
        due_day = self._working_day_on_or_after(target)
        if due_day == target:
            return Deadline(start, self.end_of_day(due_day), ())
        rolled_over = self._skipped_between(target - _ONE_DAY, due_day)
        return Deadline(start, self.end_of_day(due_day), rolled_over, rolled_from=target)

    # --- measuring ----------------------------------------------------------------------------------------

    def working_days_between(self, a: datetime, b: datetime) -> int:
        first, second = self.local_date(a), self.local_date(b)
        if second < first:
            return -self._count_working_days(second, first)
        return self._count_working_days(first, second)

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        a, b = _as_utc(a), _as_utc(b)
        if b <= a:
            return 0.0
        total = timedelta()
        day, last = self.local_date(a), self.local_date(b)
        while day <= last:
            if self.is_working_day(day):
                overlap = min(b, self.end_of_day(day)) - max(a, self.start_of_day(day))
                total += max(overlap, timedelta())
            day += _ONE_DAY
        return total.total_seconds()
