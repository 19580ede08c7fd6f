"""Plain dictionaries of what users read: the same shapes serve the API and the HTML pages."""
from __future__ import annotations


def iso(dt):
    return dt.isoformat() if dt else None


def user_ref(user):
    return {"id": user.id, "username": user.username, "full_name": user.full_name} if user else None


def case_summary(case) -> dict:
    return {
        "id": case.id,
        "subject_name": case.subject_name,
        "subject_kind": case.subject_kind,
        "mahalla": {"id": case.mahalla.id, "name": case.mahalla.name},
        "owner": user_ref(case.owner),
        "stage": case.stage,
        "status": case.status,
        "risk_level": case.risk_level,
        "categories": list(case.categories or []),
        "opened_at": iso(case.opened_at),
        "closed_at": iso(case.closed_at),
    }


def task_view(task, now) -> dict:
    return {
        "id": task.id,
        "case_id": task.case_id,
        "name": task.bpmn_id,
        "title": task.title,
        "role": task.role,
        "lane": task.lane,
        "assignee": user_ref(task.assignee),
        "stage": task.stage,
        "form_key": task.form_key,
        "state": task.state,
        "created_at": iso(task.created_at),
        "due_at": iso(task.due_at),
        "overdue": bool(task.state == "open" and task.due_at and task.due_at < now),
        "completed_at": iso(task.completed_at),
        "completed_by": user_ref(task.completed_by),
    }


def timeline_entry(event) -> dict:
    return {"at": iso(event.at), "action": event.action, "actor": user_ref(event.actor),
            "task_id": event.task_id, "details": dict(event.details or {})}
