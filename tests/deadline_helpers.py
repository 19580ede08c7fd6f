"""Helpers shared by the deadline tests: a case waiting at its assessment, its timers, escalations, notes."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from sqlalchemy import select

from engine.db.models import Notification, Task, Timer, User
from engine.deadlines.calendar import WorkingCalendar
from tests.helpers import actor, complete_step, open_case, open_tasks
from tests.sample_answers import referral

UZ = WorkingCalendar("UZ")


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def english(engine, username):
    return dataclasses.replace(actor(engine, username), language="en")


def task_by_form(engine, case_id, form_key) -> Task:
    [task] = [t for t in open_tasks(engine, case_id) if t.form_key == form_key]
    return task


def timers_of(engine, task_id) -> list[Timer]:
    with engine.db.read() as session:
        return session.scalars(select(Timer).where(Timer.task_id == task_id).order_by(Timer.due_at, Timer.id)).all()


def timer(engine, timer_id) -> Timer:
    with engine.db.read() as session:
        return session.get(Timer, timer_id)


def escalations(engine, case_id, state="open") -> list[Task]:
    with engine.db.read() as session:
        return session.scalars(select(Task).where(Task.case_id == case_id, Task.kind == "escalation",
                                                  Task.state == state).order_by(Task.rung)).all()


def notes(engine, username) -> list[Notification]:
    with engine.db.read() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        return session.scalars(select(Notification).where(Notification.user_id == user_id)
                               .order_by(Notification.id)).all()


def case_at_assessment(engine) -> tuple[int, Task]:
    cid = open_case(engine)["id"]
    complete_step(engine, cid, "register_referral", referral())
    return cid, task_by_form(engine, cid, "needs_assessment")
