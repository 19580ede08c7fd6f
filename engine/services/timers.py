"""Waking cases whose BPMN timers are due. The database says what is due (``cases.next_timer_at``)."""
from __future__ import annotations

from sqlalchemy import select

from ..db.models import Case
from .audit import record
from .progress import apply_outcome, lock_case


def wake_case(engine, case_id: int) -> bool:
    """Fire the case's due timers in its own transaction; returns False when nothing was due any more
    (another scheduler got there first, or the timer was cancelled)."""
    with engine.db.write() as session:
        case = lock_case(session, case_id)
        now = engine.now()
        if case.status != "open" or case.next_timer_at is None or case.next_timer_at > now:
            return False
        due = case.next_timer_at
        version = case.definition_version
        outcome = engine.runtime.wake(version.key, engine.spec_loader(version), case.state)
        record(session, now, "timer.fired", case_id=case.id, due_at=due.isoformat(),
               late_seconds=round((now - due).total_seconds(), 3))
        apply_outcome(engine, session, case, outcome)
        return True


def due_cases(engine, limit: int = 500) -> list[int]:
    with engine.db.read() as session:
        return list(session.scalars(select(Case.id).where(Case.status == "open", Case.next_timer_at <= engine.now())
                                    .order_by(Case.next_timer_at).limit(limit)))


def tick(engine) -> int:
    """One scheduler pass: wake every case whose timer is due. Returns how many fired."""
    return sum(wake_case(engine, case_id) for case_id in due_cases(engine))
