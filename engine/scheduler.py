"""The ticker: APScheduler 3 wakes the engine every ``tick_seconds``; the engine's timer table says what is due.

There is one APScheduler job (the tick) and it lives in memory: no per-deadline jobs and no shared job store,
so any number of processes (``yordam serve`` with the embedded ticker, ``yordam scheduler`` on other machines)
can tick over one database and each timer still fires once (see ``engine.services.scheduler``).
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .services import scheduler as timers

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, engine, *, blocking: bool = False, interval: float | None = None):
        self.engine = engine
        self.worker = timers.worker_name()
        self.interval = interval or engine.settings.tick_seconds
        kind = BlockingScheduler if blocking else BackgroundScheduler
        self._scheduler = kind(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                             "misfire_grace_time": None})
        self._scheduler.add_job(self.tick, "interval", seconds=self.interval, id="yordam-tick")
        # Retention once a night, in the quiet hours of the region (UTC+5).
        self._scheduler.add_job(self.nightly, "cron", hour=21, minute=30, id="yordam-retention")

    def nightly(self) -> dict | None:
        """Anonymise the closed cases past their retention date (``services/retention.py``); forget expired
        idempotency keys and the answers kept with them (``services/idempotency.py``)."""
        from .services import idempotency, retention
        try:
            idempotency.purge_expired(self.engine)
        except Exception:  # noqa: BLE001 - tried again the next night
            log.exception("purging idempotency keys failed")
        try:
            report = retention.run(self.engine)
            log.info("retention: %s", report)
            return report
        except Exception:  # noqa: BLE001 - tried again the next night; the log says why
            log.exception("retention failed")
            return None

    def tick(self) -> timers.TickReport | None:
        """Look (a cheap indexed read) and only then claim and fire: an idle system writes nothing."""
        try:
            due = timers.next_due(self.engine)
            if due is None or due > self.engine.now():
                return None
            report = timers.tick(self.engine, self.worker)
            if report.fired or report.failed:
                log.info("tick: fired %s, failed %s", report.fired, report.failed,
                         extra={"worker": self.worker, **report.as_dict()})
            return report
        except Exception:  # noqa: BLE001 - the ticker must outlive a database hiccup; the next tick retries
            log.exception("tick failed")
            return None

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
