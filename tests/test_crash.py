"""Crash injection (S1, S6, S7; figure R2): a child process dies at a fault point, the parent restarts and checks.

Each test starts a child Python process on the test's database (SQLite file or the suite's PostgreSQL) with
``YORDAM_FAULT=<point>:exit`` (``os._exit(137)`` at the point, like ``kill -9``) or ``<point>:pause`` (it stops
there, holding what it holds, until killed). The parent then opens a new engine on the same database, as a
restarted server would, and checks the invariants:

- the case is there, either exactly at its last wait state (nothing of the step) or advanced exactly once (the
  task completed once, its successor opened once), never in between;
- the audit trail, the notifications and the e-mail outbox agree with the state (rows iff the step committed);
- the client's retry with the same ``Idempotency-Key`` gets the first answer if the step committed, and
  otherwise does the step, once;
- an e-mail the mail server accepted just before the sender died is sent again with the same Message-ID, so the
  receiver sees one message.

Outside a test, ``python -c "from tests.test_crash import child; child()"`` is what the children run.
"""
from __future__ import annotations

import email
import json
import os
import queue
import socketserver
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from engine.db.models import AuditEvent, Case, IdempotencyKey, Notification, OutboxEmail, Task, Timer, User
from engine.services import tasks, users
from engine.services.outbox import send_pending
from engine.services.scheduler import LEASE, next_due, tick
from engine.settings import ROOT
from tests.conftest import make_engine
from tests.helpers import actor, open_case, open_tasks, roundtrip_state
from tests.sample_answers import referral
from tests.test_reliability import overdue_cases, timer_outcomes

WAIT = 60  # seconds: bound of every wait for a child
COMPLETION_POINTS = ["after_engine_steps", "after_serialise", "before_commit", "after_commit"]


# --- the child ----------------------------------------------------------------------------------------------------

def child():
    """Run one job of ``YORDAM_CRASH_JOB`` on ``DATABASE_URL`` (the fault hook comes from ``YORDAM_FAULT``)."""
    from engine.clock import FakeClock
    from engine.core import Engine
    from engine.settings import Settings
    job = json.loads(os.environ["YORDAM_CRASH_JOB"])
    settings = Settings(database_url=os.environ["DATABASE_URL"], secret_key="test",
                        email_outbox=job.get("email_outbox", False), smtp_url=job.get("smtp_url"))
    engine = Engine(settings, clock=FakeClock(datetime.fromisoformat(job["now"])))
    if job["kind"] == "api":
        from webui import create_app
        response = create_app(engine).test_client().post(
            job["path"], json=job["body"],
            headers={"Authorization": f"Bearer {job['token']}", "Idempotency-Key": job["key"]})
        print(json.dumps({"status": response.status_code, "body": response.get_json()}))
    elif job["kind"] == "outbox":
        print(json.dumps(send_pending(engine)))
    elif job["kind"] == "tick":
        print(json.dumps(tick(engine, "crashed-scheduler").as_dict()))


def start_child(db_url, fault, job, **popen):
    env = {k: v for k, v in os.environ.items() if k not in ("YORDAM_MODE", "YORDAM_FAULT")}
    env.update(DATABASE_URL=db_url, YORDAM_FAULT=fault, YORDAM_CRASH_JOB=json.dumps(job))
    return subprocess.Popen([sys.executable, "-c", "from tests.test_crash import child; child()"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def crash(db_url, fault, job):
    """Run the job in a child that must die at the fault point."""
    proc = start_child(db_url, fault, job)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 137, (proc.returncode, out, err)
    assert out == "", out  # it never answered
    return proc


def paused_child(db_url, fault, job):
    """Start a child that stops at the fault point; return it once it says it is there."""
    proc = start_child(db_url, fault, job, stdin=subprocess.PIPE)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    deadline, seen = time.monotonic() + WAIT, []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if line.startswith("yordam-fault "):
            return proc
    proc.kill()
    raise AssertionError(f"the child never reached {fault}: {''.join(seen)}")


# --- what the parent checks ---------------------------------------------------------------------------------------

def snapshot(engine, case_id) -> dict:
    """Everything of a case a step may change, as plain values."""
    with engine.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None, "the case is missing"
        return {
            "case": (case.row_version, case.state, case.stage, case.status, case.held_since, case.updated_at),
            "tasks": session.execute(select(Task.id, Task.bpmn_id, Task.state, Task.completed_by_id, Task.row_version)
                                     .where(Task.case_id == case_id).order_by(Task.created_at, Task.id)).all(),
            "audit": session.execute(select(AuditEvent.action, AuditEvent.task_id)
                                     .where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)).all(),
            "notifications": session.scalar(select(func.count()).select_from(Notification)
                                            .where(Notification.case_id == case_id)),
            "outbox": session.execute(select(OutboxEmail.to_address, OutboxEmail.subject)
                                      .order_by(OutboxEmail.id)).all(),
            "keys": session.execute(select(IdempotencyKey.key, IdempotencyKey.status)).all(),
        }


def assert_completed_once(snap, task_id, by_user_id):
    completed = [t for t in snap["tasks"] if t.id == task_id]
    assert [(t.state, t.completed_by_id) for t in completed] == [("completed", by_user_id)]
    assert [t.bpmn_id for t in snap["tasks"] if t.state == "open"] == ["home_visit_assessment"]
    assert [a for a in snap["audit"] if a.action == "task.completed"] == [("task.completed", task_id)]
    assert sum(a.action == "task.opened" for a in snap["audit"]) == 2  # the referral's task, then its successor


def retry(engine, token, path, body, key):
    """The client sends the request again, to a restarted server, with the same key."""
    from webui import create_app
    response = create_app(engine).test_client().post(
        path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
    return response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed") == "true"


def user_id(engine, username):
    with engine.db.read() as session:
        return session.scalar(select(User.id).where(User.username == username))


# --- S1: a completion dies at each point --------------------------------------------------------------------------

@pytest.mark.parametrize("point", COMPLETION_POINTS)
def test_a_crash_at_any_point_of_a_completion_leaves_the_case_whole(db_url, clock, point):
    engine = make_engine(db_url, clock)
    cid = open_case(engine)["id"]
    task = open_tasks(engine, cid)[0]
    token, worker = users.login(engine, "worker1", "demo1234")
    before = snapshot(engine, cid)
    path, body, key = f"/api/v1/tasks/{task.id}/complete", {"data": referral()}, f"complete-{point}"
    engine.db.dispose()

    crash(db_url, f"{point}:exit", {"kind": "api", "now": clock.now().isoformat(), "token": token, "path": path,
                                    "body": body, "key": key})

    restarted = make_engine(db_url, clock)
    after = snapshot(restarted, cid)
    committed = point == "after_commit"
    if committed:
        assert_completed_once(after, task.id, worker.id)
        assert after["keys"] == [(key, 200)]  # the answer was kept with the step
    else:
        assert after == before  # at its last wait state: nothing of the step, not even the key
    roundtrip_state(restarted, cid)  # the stored process state restores as it was stored

    status, first, replayed = retry(restarted, token, path, body, key)
    assert status == 200 and replayed == committed
    assert [t["name"] for t in first["next_tasks"]] == ["home_visit_assessment"]
    status, again, replayed = retry(restarted, token, path, body, key)
    assert (status, again, replayed) == (200, first, True)
    final = snapshot(restarted, cid)
    assert_completed_once(final, task.id, worker.id)
    if committed:
        assert final == after  # the retries did nothing
    restarted.db.dispose()


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_a_crash_while_holding_a_case_keeps_mail_and_audit_with_the_state(db_url, clock, point):
    """A hold notifies the supervisors and queues their e-mail in its transaction: all of it or none."""
    engine = make_engine(db_url, clock)
    with engine.db.write() as session:
        session.scalar(select(User).where(User.username == "supervisor1")).email = "nodira@example.uz"
    cid = open_case(engine)["id"]
    token, _ = users.login(engine, "worker1", "demo1234")
    before = snapshot(engine, cid)
    path, body, key = f"/api/v1/cases/{cid}/hold", {"waiting_for": "client", "reason": "Away until March."}, "hold"
    engine.db.dispose()

    crash(db_url, f"{point}:exit", {"kind": "api", "now": clock.now().isoformat(), "token": token, "path": path,
                                    "body": body, "key": key, "email_outbox": True})

    restarted = make_engine(db_url, clock)
    restarted.settings.email_outbox = True
    after = snapshot(restarted, cid)
    committed = point == "after_commit"
    if committed:
        assert after["case"][4] is not None and after["keys"] == [(key, 200)]
        assert [a.action for a in after["audit"]].count("case.held") == 1
        assert after["notifications"] == before["notifications"] + 1
        assert [m.to_address for m in after["outbox"]] == ["nodira@example.uz"]
    else:
        assert after == before
    status, first, replayed = retry(restarted, token, path, body, key)
    assert status == 200 and replayed == committed and first["on_hold"]
    final = snapshot(restarted, cid)
    assert [a.action for a in final["audit"]].count("case.held") == 1
    assert final["notifications"] == before["notifications"] + 1
    sent = []
    assert send_pending(restarted, lambda to, subject, body, key: sent.append(to)) == (1, 0)
    assert sent == ["nodira@example.uz"]  # one mail for one hold, whichever side of the commit it died on
    restarted.db.dispose()


# --- S6: the holder of a case dies --------------------------------------------------------------------------------

def case_is_locked(engine, case_id) -> bool:
    """Whether another writer would have to wait for the case now."""
    if engine.db.is_sqlite:
        conn = sqlite3.connect(engine.db.url.split("sqlite:///", 1)[1], timeout=0.05, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as err:
            assert "locked" in str(err)
            return True
        finally:
            conn.close()
    with engine.db.engine.connect() as conn:
        try:
            conn.execute(text("SELECT id FROM cases WHERE id = :id FOR NO KEY UPDATE NOWAIT"), {"id": case_id})
            return False
        except OperationalError as err:
            assert "could not obtain lock" in str(err)
            return True
        finally:
            conn.rollback()


def test_a_killed_lock_holder_frees_the_case(db_url, clock):
    engine = make_engine(db_url, clock)
    cid = open_case(engine)["id"]
    task = open_tasks(engine, cid)[0]
    token, worker = users.login(engine, "worker1", "demo1234")
    before = snapshot(engine, cid)
    assert not case_is_locked(engine, cid)

    holder = paused_child(db_url, "after_serialise:pause", {
        "kind": "api", "now": clock.now().isoformat(), "token": token, "key": "k",
        "path": f"/api/v1/tasks/{task.id}/complete", "body": {"data": referral()}})
    try:
        assert case_is_locked(engine, cid)  # mid-step: the case is its
        holder.kill()  # SIGKILL: no clean-up of any kind
        holder.wait(WAIT)
    finally:
        holder.kill()
        holder.communicate(timeout=WAIT)
    started = time.monotonic()
    result = tasks.complete_task(engine, actor(engine, "worker1"), task.id, {"data": referral()})
    took = time.monotonic() - started
    print(f"{engine.db.engine.dialect.name}: the case was free again {took * 1000:.0f} ms after its holder died")
    assert took < 5
    assert [t["name"] for t in result["next_tasks"]] == ["home_visit_assessment"]
    after = snapshot(engine, cid)
    assert_completed_once(after, task.id, worker.id)
    assert after["keys"] == [] and after["audit"][: len(before["audit"])] == before["audit"]
    engine.db.dispose()


def test_a_crashed_scheduler_s_claims_are_taken_after_the_lease(db_url, clock):
    """R5: a scheduler dies right after claiming; its timers fire once, by another, when the lease ends."""
    engine = make_engine(db_url, clock)
    _, due = overdue_cases(engine, clock, 2)
    clock.set(due + timedelta(minutes=1))
    engine.db.dispose()

    crash(db_url, "timers_claimed:exit", {"kind": "tick", "now": clock.now().isoformat()})

    restarted = make_engine(db_url, clock)
    with restarted.db.read() as session:
        stranded = session.scalars(select(Timer).where(Timer.status == "claimed")).all()
    assert len(stranded) == 4 and {t.claimed_by for t in stranded} == {"crashed-scheduler"}
    assert tick(restarted, "survivor").fired == 0  # still leased to the dead scheduler
    assert next_due(restarted) == clock.now() + LEASE  # when a pass has work again
    clock.advance(seconds=LEASE.total_seconds() + 1)  # the next tick after the lease ran out
    report = tick(restarted, "survivor")
    assert report.fired == 4 and report.max_late_seconds >= LEASE.total_seconds()
    fired, escalations = timer_outcomes(restarted)
    assert len(fired) == 4 and set(fired.values()) == {"survivor"}
    assert len(escalations) == len(set(escalations)) == 2
    restarted.db.dispose()


# --- S7: a mail accepted, then the sender died --------------------------------------------------------------------

class SMTPStub(socketserver.ThreadingTCPServer):
    """Just enough SMTP to accept mail and keep it (a fake of the external mail server)."""

    daemon_threads = allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SMTPSession)
        self.messages: list[email.message.Message] = []
        self.url = f"smtp://127.0.0.1:{self.server_address[1]}?from=yordam@inson.uz"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _SMTPSession(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 stub ESMTP\r\n")
        data = None
        for line in self.rfile:
            if data is not None:
                if line in (b".\r\n", b".\n"):
                    self.server.messages.append(email.message_from_bytes(b"".join(data)))
                    data = None
                    self.wfile.write(b"250 accepted\r\n")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                data = []
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


def test_a_mail_sent_before_a_crash_is_resent_with_the_same_message_id(db_url, clock):
    engine = make_engine(db_url, clock)
    with engine.db.write() as session:
        session.add(OutboxEmail(to_address="nodira@example.uz", subject="Overdue: home visit", body="Please look.",
                                created_at=engine.now()))
    engine.db.dispose()
    with SMTPStub() as smtp:
        crash(db_url, "outbox_after_send:exit", {"kind": "outbox", "now": clock.now().isoformat(),
                                                 "smtp_url": smtp.url})
        assert len(smtp.messages) == 1  # the mail server has it; the outbox does not know

        restarted = make_engine(db_url, clock)
        restarted.settings.smtp_url = smtp.url
        assert send_pending(restarted) == (0, 0)  # claimed by the dead sender: not yet given up on
        clock.advance(minutes=16)
        assert send_pending(restarted) == (1, 0)
        assert send_pending(restarted) == (0, 0)
    assert len(smtp.messages) == 2  # delivered at least once ...
    ids = {m["Message-ID"] for m in smtp.messages}
    assert len(ids) == 1 and next(iter(ids)).endswith("@inson.uz>")  # ... and recognisably the same message
    assert {m["To"] for m in smtp.messages} == {"nodira@example.uz"}
    with restarted.db.read() as session:
        row = session.scalar(select(OutboxEmail))
    assert (row.status, row.attempts) == ("sent", 2)
    restarted.db.dispose()
