"""The engine's clock. Nothing in the engine reads ``datetime.now()`` directly: the clock is injected.

Time travel (``YORDAM_NOW``) is for demos and acceptance tests only; see ``Settings``.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC instant; naive values are taken to be UTC already (SQLite drops the zone)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class OffsetClock:
    """Real time shifted so that it read ``start`` when created: the app's clock under ``YORDAM_NOW``."""

    def __init__(self, start: datetime):
        self._offset = utc(start) - datetime.now(timezone.utc)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset


class FakeClock:
    """A clock that moves only when told to. For tests and ``yordam tick --at``."""

    def __init__(self, start: datetime | None = None):
        self._now = utc(start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = utc(instant)

    def advance(self, delta: timedelta | None = None, **kwargs) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now
