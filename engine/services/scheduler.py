"""Firing due timers exactly once, however many schedulers run and however long they were down.

The database is the truth about what is due (``timers``). A pass claims a batch of due timers atomically —
a conditional ``UPDATE`` on SQLite (whose writers are serialised), ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
two schedulers take disjoint batches — and then fires each one in the case's own transaction, which turns the
timer to ``fired`` only while this scheduler's claim is intact. A scheduler that dies after claiming leaves
its claims to expire (``LEASE``) and be taken again; a task completed meanwhile has cancelled its timers, so a
stale claim can no longer fire. Lateness is recorded on every timer.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from .. import faults
from ..db.models import Case, Timer
from ..errors import EngineError
from .audit import record
from .escalations import fire_reminder, fire_rung
from .progress import apply_outcome, lock_case

log = logging.getLogger(__name__)

#: A claimed timer not fired within this time is taken again by any scheduler.
LEASE = timedelta(minutes=5)
#: After a failure the timer waits this long before it is tried again, at most ``MAX_ATTEMPTS`` times; then it
#: stays ``failed`` (a dead letter an administrator sees) instead of blocking every pass.
RETRY_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BATCH = 200


@dataclass
class TickReport:
    fired: int = 0
    skipped: int = 0  # claimed but no longer to fire (cancelled meanwhile, or claim lost)
    failed: int = 0
    by_kind: Counter = field(default_factory=Counter)
    max_late_seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"fired": self.fired, "skipped": self.skipped, "failed": self.failed,
                "by_kind": dict(self.by_kind), "max_late_seconds": round(self.max_late_seconds, 3)}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def tick(engine, worker: str | None = None, batch: int = BATCH, max_batches: int | None = None) -> TickReport:
    """One scheduler pass: claim and fire every timer due now, batch after batch."""
    worker = worker or worker_name()
    report, batches = TickReport(), 0
    while max_batches is None or batches < max_batches:
        claimed = claim(engine, worker, batch)
        if not claimed:
            break
        batches += 1
        faults.point("timers_claimed", worker=worker, timer_ids=claimed)
        for timer_id in claimed:
            fire(engine, timer_id, worker, report)
    return report


def _due(now):
    return or_(and_(Timer.status == "pending", Timer.due_at <= now),
               and_(Timer.status == "claimed", Timer.lease_until < now))


def claim(engine, worker: str, batch: int = BATCH) -> list[int]:
    """Take up to ``batch`` due timers for this worker. Two index-served queries (due pending timers, then
    claims whose lease ran out) rather than one OR, which would scan the whole table at every batch."""
    now = engine.now()
    postgres = engine.db.engine.dialect.name == "postgresql"
    with engine.db.write() as session:
        pending = (select(Timer.id).where(Timer.status == "pending", Timer.due_at <= now)
                   .order_by(Timer.due_at, Timer.id).limit(batch))
        ids = list(session.scalars(pending.with_for_update(skip_locked=True) if postgres else pending))
        if len(ids) < batch:
            expired = (select(Timer.id).where(Timer.status == "claimed", Timer.lease_until < now)
                       .order_by(Timer.lease_until, Timer.id).limit(batch - len(ids)))
            ids += list(session.scalars(expired.with_for_update(skip_locked=True) if postgres else expired))
        if not ids:
            return []
        session.execute(update(Timer).where(Timer.id.in_(ids), _due(now))
                        .values(status="claimed", claimed_by=worker, lease_until=now + LEASE)
                        .execution_options(synchronize_session=False))
        return list(session.scalars(select(Timer.id).where(Timer.id.in_(ids), Timer.claimed_by == worker,
                                                           Timer.status == "claimed")
                                    .order_by(Timer.due_at, Timer.id)))


def fire(engine, timer_id: int, worker: str, report: TickReport | None = None) -> bool:
    report = report or TickReport()
    try:
        with engine.db.write() as session:
            fired = _fire_in_case_transaction(engine, session, timer_id, worker, report)
    except Exception as err:  # noqa: BLE001 - one bad timer (a script error, a deadlock) must not strand the batch
        if not isinstance(err, EngineError):
            log.exception("timer %s failed", timer_id)
        _record_failure(engine, timer_id, worker, err)
        report.failed += 1
        return False
    if fired:
        report.fired += 1
    else:
        report.skipped += 1
    return fired


def _fire_in_case_transaction(engine, session, timer_id, worker, report) -> bool:
    timer = session.get(Timer, timer_id)
    lock_case(session, timer.case_id)  # same lock order as every other change of the case: case, then its rows
    now = engine.now()
    late = (now - timer.due_at).total_seconds()
    # The claim must still be this scheduler's: a completion may have cancelled the timer, or the lease ran out
    # and another scheduler took it. The row lock this update takes settles any race.
    took = session.execute(update(Timer).where(Timer.id == timer_id, Timer.status == "claimed",
                                               Timer.claimed_by == worker)
                           .values(status="fired", fired_at=now, late_seconds=late, lease_until=None)
                           .execution_options(synchronize_session=False)).rowcount
    if took != 1:
        return False
    timer.outcome = _effect(engine, session, timer, now)[:200]
    report.by_kind[timer.kind] += 1
    report.max_late_seconds = max(report.max_late_seconds, late)
    return True


def _effect(engine, session, timer, now) -> str:
    if timer.kind == "reminder":
        return fire_reminder(engine, session, timer, now)
    if timer.kind == "escalation":
        return fire_rung(engine, session, timer, now)
    return wake_case(engine, session, timer, now)


def wake_case(engine, session, timer, now) -> str:
    """A BPMN timer of the case is due: let SpiffWorkflow fire it (and any other due one) in this transaction."""
    case = session.get(Case, timer.case_id)
    if case.status != "open":
        return "case closed"
    version = case.definition_version
    outcome = engine.runtime.wake(version.key, engine.spec_loader(version), case.state)
    record(session, now, "timer.fired", case_id=case.id, due_at=timer.due_at.isoformat(),
           late_seconds=round((now - timer.due_at).total_seconds(), 3),
           coalesced=getattr(outcome, "coalesced", 0))
    apply_outcome(engine, session, case, outcome)
    return "woke the process" + (f", {outcome.coalesced} missed cycles coalesced"
                                 if getattr(outcome, "coalesced", 0) else "")


def _record_failure(engine, timer_id, worker, err) -> None:
    """The case stays as it was; the timer keeps its claim for a while and is tried again after that, until it
    has failed ``MAX_ATTEMPTS`` times."""
    log.warning("timer %s failed: %s", timer_id, err)
    message = getattr(err, "message", None) or f"{type(err).__name__}: {err}"
    try:
        with engine.db.write() as session:
            timer = session.get(Timer, timer_id)
            if timer is None or timer.status != "claimed" or timer.claimed_by != worker:
                return
            timer.attempts = (timer.attempts or 0) + 1
            timer.outcome = f"failed ({timer.attempts}x): {message}"[:200]
            if timer.attempts >= MAX_ATTEMPTS:
                timer.status, timer.lease_until = "failed", None
            else:
                timer.lease_until = engine.now() + RETRY_AFTER
    except Exception:  # noqa: BLE001 - the lease expires by itself; the next pass retries
        log.exception("could not record the failure of timer %s", timer_id)


def next_due(engine):
    """The earliest instant a pass has something to do (for precise wake-ups), or None: a pending timer's due
    instant, or the end of the lease of a claim a crashed or failing scheduler left behind."""
    with engine.db.read() as session:
        due = session.scalar(select(Timer.due_at).where(Timer.status == "pending").order_by(Timer.due_at).limit(1))
        lease = session.scalar(select(Timer.lease_until).where(Timer.status == "claimed")
                               .order_by(Timer.lease_until).limit(1))
    return min((t for t in (due, lease) if t is not None), default=None)
