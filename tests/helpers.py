"""Small helpers for driving cases in tests through the real services."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.db.models import AuditEvent, Case, Task
from engine.process.serialization import dump_state, load_state
from engine.services import cases
from engine.services.demo import actor, complete_step

__all__ = ["actor", "complete_step", "open_case", "open_tasks", "case_row", "audit_count", "roundtrip_state"]


def open_case(engine, username="worker1", name="Oʻgʻiloy Toʻxtayeva", mahalla=None, **extra) -> dict:
    who = actor(engine, username)
    payload = {"subject": {"kind": "person", "full_name": name, "birth_date": "1950-03-15", "sex": "female"},
               "mahalla_id": mahalla or min(who.mahalla_ids), "channel": "mahalla",
               "summary": "Lives alone; no heating."}
    payload.update(extra)
    return cases.open_case(engine, who, payload)


def open_tasks(engine, case_id) -> list[Task]:
    with engine.db.read() as session:
        return session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open")
                               .order_by(Task.created_at, Task.id)).all()


def case_row(engine, case_id) -> Case:
    with engine.db.read() as session:
        return session.get(Case, case_id)


def audit_count(engine, case_id=None) -> int:
    with engine.db.read() as session:
        query = select(func.count(AuditEvent.id))
        if case_id is not None:
            query = query.where(AuditEvent.case_id == case_id)
        return session.scalar(query)


def roundtrip_state(engine, case_id) -> None:
    """Restore the stored state and store it again: it must come back identical (Spiff's save_restore check)."""
    case = case_row(engine, case_id)
    with engine.db.read() as session:
        version = session.get(Case, case_id).definition_version
        engine.runtime.ensure_spec(version.key, engine.spec_loader(version))
    restored = load_state(case.state, engine.runtime._resolve)
    assert dump_state(restored, version.key) == case.state
