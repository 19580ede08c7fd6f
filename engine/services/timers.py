"""BPMN timers of a case as durable timer rows: SpiffWorkflow says when the case next needs waking; the
``timers`` table keeps that instant so that any scheduler process can fire it exactly once."""
from __future__ import annotations

from sqlalchemy import select

from ..db.models import Case, Timer


def sync_bpmn_timer(session, case: Case, now) -> None:
    """Keep exactly one live row for the case's next BPMN timer (the instant SpiffWorkflow reports)."""
    live = session.scalars(select(Timer).where(Timer.case_id == case.id, Timer.kind == "bpmn",
                                               Timer.status == "pending")).all()
    wanted = case.next_timer_at if case.status == "open" else None
    key = f"case:{case.id}:bpmn:{wanted.isoformat()}" if wanted else None
    for timer in live:
        if timer.key != key:
            timer.status, timer.outcome = "cancelled", "the process no longer waits for this instant"
    if key and not any(t.key == key for t in live):
        if session.scalar(select(Timer.id).where(Timer.key == key)) is None:
            session.add(Timer(key=key, kind="bpmn", case_id=case.id, due_at=wanted, status="pending",
                              created_at=now))
