"""The audit trail: every use case writes its events in the same transaction as its change."""
from __future__ import annotations

from ..db.models import AuditEvent


def record(session, at, action: str, *, actor_id=None, case_id=None, task_id=None, **details):
    session.add(AuditEvent(at=at, actor_id=actor_id, action=action, case_id=case_id, task_id=task_id,
                           details=details))
