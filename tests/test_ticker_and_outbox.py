"""The embedded ticker (APScheduler, real clock) fires a due escalation within seconds; e-mail copies of
notifications go through the outbox only when it is switched on."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from bench.timerload import load_due_timers, open_cases
from engine.clock import SystemClock
from engine.db.models import OutboxEmail, Task, Timer, User
from engine.scheduler import Ticker
from engine.services.outbox import send_pending
from engine.services.scheduler import tick
from tests.conftest import make_engine
from tests.helpers import complete_step, open_case
from tests.sample_answers import referral


def test_the_ticker_fires_a_due_escalation_within_two_seconds(db_url):
    engine = make_engine(db_url, SystemClock())
    [case_id] = open_cases(engine, 1)
    load_due_timers(engine, [case_id], 1, overdue_by=timedelta(0))
    with engine.db.write() as session:
        timer = session.scalar(select(Timer).where(Timer.key.like("task:%:g0:rung:1"), Timer.case_id == case_id)
                               .join(Task, Task.id == Timer.task_id).where(Task.title.like("Load task %")))
        timer.due_at = engine.now() + timedelta(seconds=1.5)
        due = timer.due_at
    ticker = Ticker(engine)
    ticker.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with engine.db.read() as session:
                fired = session.scalar(select(Timer).where(Timer.due_at == due, Timer.status == "fired"))
            if fired:
                break
            time.sleep(0.1)
    finally:
        ticker.stop()
    assert fired is not None, "the ticker did not fire the timer"
    assert 0 <= fired.late_seconds < 2.0
    engine.db.dispose()


def test_outbox_is_off_by_default_and_carries_mail_when_on(engine, clock):
    with engine.db.write() as session:
        session.scalar(select(User).where(User.username == "supervisor1")).email = "nodira@example.uz"
    cid = open_case(engine)["id"]
    complete_step(engine, cid, "register_referral", referral())
    clock.advance(days=8)
    tick(engine)
    with engine.db.read() as session:
        assert session.scalars(select(OutboxEmail)).all() == []  # off by default

    engine.settings.email_outbox = True  # YORDAM_EMAIL_OUTBOX=1; a second case falls behind
    cid = open_case(engine)["id"]
    complete_step(engine, cid, "register_referral", referral())
    clock.advance(days=8)
    tick(engine)
    with engine.db.read() as session:
        mails = session.scalars(select(OutboxEmail)).all()
    assert [m.to_address for m in mails] == ["nodira@example.uz"]
    assert "Oʻgʻiloy" in mails[0].body and mails[0].status == "pending"

    sent = []
    assert send_pending(engine, lambda to, subject, body, key: sent.append((to, subject))) == (1, 0)
    assert sent[0][0] == "nodira@example.uz"

    def refuse(to, subject, body, key):
        raise OSError("mail server down")
    with engine.db.write() as session:
        session.add(OutboxEmail(to_address="x@example.uz", subject="s", body="b", created_at=engine.now()))
    assert send_pending(engine, refuse) == (0, 1)
    with engine.db.read() as session:
        failed = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "x@example.uz"))
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "mail server down")
    assert send_pending(engine) == (0, 0)  # no SMTP configured: the outbox is only kept
