"""Reliability: races, stalls, schedulers and the Idempotency-Key, on SQLite and on a real PostgreSQL.

Races are made deterministic with the engine's fault points (``engine/faults.py``): a hook stops one thread at a
named point (before its commit, say) until the test lets it go, so "A and B at once" is always the same
interleaving. Waits are bounded; the only timed waits are assertions that a thread is *still* blocked.
Crashes (a process dying at each point) are in ``tests/test_crash.py``.

Scenarios of ``research/reliability-security.md`` §1.6 and the tests that cover them (all on both databases
unless marked):

==== ============================================= ===============================================================
S1   crash between completion and commit           test_crash: test_a_crash_at_any_point_of_a_completion_…,
                                                   test_a_crash_while_holding_a_case_keeps_mail_and_audit_…
S2   two users complete one task at once           test_two_completions_paused_before_commit_one_wins,
                                                   test_two_branches_of_a_parallel_join_completed_at_once,
                                                   test_api: test_two_completions_of_one_task_one_wins
S3   one timer claimed by two schedulers           test_two_schedulers_claim_the_same_due_timers_one_fires,
                                                   test_a_scheduler_stalled_past_its_lease_cannot_fire,
                                                   test_scheduler_race (10 000 timers, 2 processes; PostgreSQL)
S4   scheduler down 3 days, then restarted         test_three_days_down_then_two_schedulers_fire_each_timer_once,
                                                   test_deadlines: test_three_days_of_scheduler_downtime_…,
                                                   test_missed_monitoring_reminders_coalesce_into_one
S5   definition updated while cases run           test_versions_and_scripts: test_cases_stay_on_the_version_…;
                                                   test_golden (states saved by past releases load and go on)
S6   lock holder dies / stalls                     test_crash: test_a_killed_lock_holder_frees_the_case,
                                                   test_a_crashed_scheduler_s_claims_are_taken_after_the_lease;
                                                   test_a_stalled_holder_that_lost_its_lock_cannot_commit (PG)
S7   effect sent twice                             test_crash: test_a_mail_sent_before_a_crash_is_resent_with_…
S8   step that never reaches a wait state          test_a_loop_without_wait_state_is_refused_and_the_server_…,
                                                   test_versions_and_scripts: test_endless_loop_hits_the_budget_…
R1   0 lost, 0 duplicated completions              the S2 tests (deterministic pairs, not the 1 000 × 8 load)
R2   crash injection: 0 lost, 0 duplicate effects  test_crash (5 kinds of points × both databases)
R3   downtime: each timer once, with 2 schedulers  S4 tests above
R5   stale-lock recovery                           test_a_killed_lock_holder_frees_the_case (prints the time),
                                                   test_a_crashed_scheduler_s_claims_… (lease, on a fake clock)
==== ============================================= ===============================================================

Idempotency-Key (the client's half of S1): test_idempotency_* below and the crash tests' retries.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from flask import has_request_context, request
from sqlalchemy import func, select, text

from engine import faults
from engine.db.models import AuditEvent, Case, IdempotencyKey, Task, Timer
from engine.process.definitions import read_definition_files
from engine.services import definitions, tasks
from engine.services.scheduler import LEASE, tick
from engine.settings import Settings
from tests.helpers import actor, case_row, complete_step, open_case, open_tasks
from tests.sample_answers import answers, referral

WAIT = 30  # seconds: the bound of every wait for another thread; a healthy run needs a fraction of it


# --- helpers ----------------------------------------------------------------------------------------------------

class Pause:
    """A fault hook that stops the first thread passing its point (among those ``wanted``) until released."""

    def __init__(self, wanted=lambda **context: True):
        self.wanted, self.reached, self.release = wanted, threading.Event(), threading.Event()
        self._lock, self._taken, self.context = threading.Lock(), False, None

    def __call__(self, name, **context):
        if not self.wanted(**context):
            return
        with self._lock:
            if self._taken:
                return
            self._taken = True
        self.context = context
        self.reached.set()
        assert self.release.wait(WAIT), f"the paused thread at {name} was never released"


class Run(threading.Thread):
    """A thread running ``fn``, keeping its result or its exception."""

    def __init__(self, name, fn):
        super().__init__(name=name, daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            self.error = err

    def finish(self):
        self.join(WAIT)
        assert not self.is_alive(), f"{self.name} did not finish within {WAIT} s"
        return self

    def still_blocked(self, seconds=0.5) -> bool:
        """An assertion helper, not a synchronisation: True if the thread has not finished after ``seconds``."""
        self.join(seconds)
        return self.is_alive()


def in_thread(name):
    return lambda **context: threading.current_thread().name == name


def wait_for_lock_waiter(engine):
    """PostgreSQL: until another session of the test database waits for a lock (bounded)."""
    deadline = time.monotonic() + WAIT
    with engine.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while time.monotonic() < deadline:
            if conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock'")):
                return
            time.sleep(0.01)  # polling a condition the database reports
    raise AssertionError("no session ever waited for the lock")


def is_postgres(engine) -> bool:
    return engine.db.engine.dialect.name == "postgresql"


def audit_rows(engine, case_id, action, **details):
    with engine.db.read() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action == action)
                               .order_by(AuditEvent.id)).all()
    return [r for r in rows if all(r.details.get(k) == v for k, v in details.items())]


def http(base_url, method, path, body=None, token=None, key=None):
    """One API call → (status, body, headers)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base_url + "/api/v1" + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if key is not None:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None, dict(response.headers)
    except urllib.error.HTTPError as err:
        payload = err.read()
        err.close()
        return err.code, json.loads(payload) if payload else None, dict(err.headers)


def new_person_case(client):
    return {"subject": {"kind": "person", "full_name": "Karim Yoqubov"},
            "mahalla_id": client.get("/mahallas")[1]["items"][0]["id"], "channel": "self", "summary": "Needs help."}


# --- S2: two completions at once ----------------------------------------------------------------------------------

def test_two_completions_paused_before_commit_one_wins(engine, anon):
    worker = anon.login("worker1")
    status, case = worker.post("/cases", new_person_case(worker))
    assert status == 201, case
    task_id = case["open_tasks"][0]["id"]
    pause = Pause(lambda **_: has_request_context() and request.path.endswith("/complete"))
    complete = lambda: worker.call("POST", f"/tasks/{task_id}/complete", {"data": referral()})  # noqa: E731

    with faults.installed("before_commit", pause):
        first = Run("A", complete)
        first.start()
        assert pause.reached.wait(WAIT)  # A did the whole step and holds the case, uncommitted
        second = Run("B", complete)
        second.start()
        if is_postgres(engine):
            wait_for_lock_waiter(engine)  # B waits for A's row lock (on SQLite, for the write lock)
        assert second.still_blocked(), "B finished while A held the case"
        pause.release.set()
        first.finish(), second.finish()

    assert first.error is None and second.error is None
    assert first.result[0] == 200, first.result
    status, loser = second.result
    assert status == 409 and loser["error"] == "conflict"
    assert loser["message"] == f"This task was already completed by {actor(engine, 'worker1').full_name}."
    assert [t.bpmn_id for t in open_tasks(engine, case["id"])] == ["home_visit_assessment"]
    assert len(audit_rows(engine, case["id"], "task.completed")) == 1
    assert len(audit_rows(engine, case["id"], "task.opened", bpmn_id="home_visit_assessment")) == 1


@pytest.mark.parametrize("first_branch", ["urgent_response", "urgent_supervisor_review"])
def test_two_branches_of_a_parallel_join_completed_at_once(engine, first_branch):
    """The urgent referral splits into the worker's response and the supervisor's review; the join after them
    must fire once, whichever commits first (Camunda's CompetingJoinTest)."""
    cid = open_case(engine)["id"]
    complete_step(engine, cid, "register_referral", referral(urgent=True))
    branches = {t.bpmn_id: t for t in open_tasks(engine, cid)}
    assert set(branches) == {"urgent_response", "urgent_supervisor_review"}
    users = {"urgent_response": "worker1", "urgent_supervisor_review": "supervisor1"}
    second_branch = next(b for b in branches if b != first_branch)

    def completing(bpmn_id):
        who = actor(engine, users[bpmn_id])
        return lambda: tasks.complete_task(engine, who, branches[bpmn_id].id, {"data": answers(bpmn_id)})

    pause = Pause(in_thread("first"))
    with faults.installed("before_commit", pause):
        first = Run("first", completing(first_branch))
        first.start()
        assert pause.reached.wait(WAIT)
        second = Run("second", completing(second_branch))
        second.start()
        if is_postgres(engine):
            wait_for_lock_waiter(engine)
        assert second.still_blocked()
        pause.release.set()
        first.finish(), second.finish()

    assert first.error is None and second.error is None, (first.error, second.error)
    assert [t["name"] for t in first.result["next_tasks"]] == [second_branch]  # the join still waited
    assert [t["name"] for t in second.result["next_tasks"]] == ["home_visit_assessment"]
    assert [t.bpmn_id for t in open_tasks(engine, cid)] == ["home_visit_assessment"]
    assert len(audit_rows(engine, cid, "task.opened", bpmn_id="home_visit_assessment")) == 1
    assert sorted(r.details["bpmn_id"] for r in audit_rows(engine, cid, "task.completed")) == [
        "register_referral", "urgent_response", "urgent_supervisor_review"]


# --- S6: a holder that stalled and lost its lock ------------------------------------------------------------------

def test_a_stalled_holder_that_lost_its_lock_cannot_commit(pg_engine):
    """PostgreSQL drops a stalled transaction's session (``idle_in_transaction_session_timeout``, a network
    cut, an administrator), which frees the case; when the holder wakes up, its commit fails and nothing of its
    step remains. (SQLite's lock cannot be taken from a live process: there the other waits, as in S2.)"""
    engine = pg_engine
    cid = open_case(engine)["id"]
    task = open_tasks(engine, cid)[0]
    worker = actor(engine, "worker1")
    complete = lambda: tasks.complete_task(engine, worker, task.id, {"data": referral()})  # noqa: E731
    pause = Pause(in_thread("stalled"))
    with faults.installed("after_serialise", pause):
        stalled = Run("stalled", complete)
        stalled.start()
        assert pause.reached.wait(WAIT)  # its step is flushed, the case row locked, nothing committed
        with engine.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            ended = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                                     "datname = current_database() AND state = 'idle in transaction'"))
        assert ended == 1
        started = time.monotonic()
        result = complete()  # another node takes over at once
        took = time.monotonic() - started
        pause.release.set()
        stalled.finish()
    assert took < 5, took
    assert [t["name"] for t in result["next_tasks"]] == ["home_visit_assessment"]
    assert stalled.error is not None and stalled.result is None  # its commit was refused
    assert [t.bpmn_id for t in open_tasks(engine, cid)] == ["home_visit_assessment"]
    assert len(audit_rows(engine, cid, "task.completed")) == 1
    assert len(audit_rows(engine, cid, "task.opened", bpmn_id="home_visit_assessment")) == 1


# --- S3 and S4: schedulers ----------------------------------------------------------------------------------------

def overdue_cases(engine, clock, count):
    """``count`` cases at the needs assessment, the clock past every first rung of their deadlines."""
    ids = []
    for _ in range(count):
        cid = open_case(engine)["id"]
        complete_step(engine, cid, "register_referral", referral())
        ids.append(cid)
    with engine.db.read() as session:
        first_rungs = session.scalars(select(Timer.due_at).where(Timer.kind == "escalation", Timer.rung == 1,
                                                                Timer.status == "pending")).all()
    assert len(first_rungs) == count
    return ids, max(first_rungs)


def timer_outcomes(engine):
    with engine.db.read() as session:
        fired = session.execute(select(Timer.key, Timer.claimed_by).where(Timer.status == "fired")).all()
        escalations = session.execute(select(Task.escalates_task_id, Task.rung).where(Task.kind == "escalation")).all()
    return dict(fired), escalations


def test_two_schedulers_claim_the_same_due_timers_one_fires(engine, clock):
    _, due = overdue_cases(engine, clock, 2)
    clock.set(due + timedelta(minutes=1))
    with engine.db.read() as session:
        due_keys = set(session.scalars(select(Timer.key).where(Timer.due_at <= clock.now(),
                                                               Timer.status == "pending")))
    assert len(due_keys) == 4  # per case the reminder and the first rung
    pause = Pause(in_thread("scheduler-a"))
    with faults.installed("before_commit", pause):  # A holds its claim of every due timer, uncommitted
        a = Run("scheduler-a", lambda: tick(engine, "scheduler-a"))
        a.start()
        assert pause.reached.wait(WAIT)
        b = Run("scheduler-b", lambda: tick(engine, "scheduler-b"))
        b.start()
        if is_postgres(engine):  # SKIP LOCKED: B passes over A's rows and is done at once, with nothing
            b.finish()
            assert b.error is None and (b.result.fired, b.result.skipped, b.result.failed) == (0, 0, 0)
        else:  # SQLite: B waits for the write lock, then finds every timer claimed
            assert b.still_blocked()
        pause.release.set()
        a.finish(), b.finish()
    assert a.error is None and b.error is None, (a.error, b.error)
    assert (a.result.fired, b.result.fired) == (4, 0)
    fired, escalations = timer_outcomes(engine)
    assert set(fired) == due_keys and set(fired.values()) == {"scheduler-a"}
    assert len(escalations) == len(set(escalations)) == 2


def test_a_scheduler_stalled_past_its_lease_cannot_fire(engine, clock):
    """A claims, then stalls longer than its lease: B takes the claims and fires them; when A wakes up, its
    claims are no longer its own (the fencing check in the firing transaction) and it fires nothing."""
    _, due = overdue_cases(engine, clock, 2)
    clock.set(due + timedelta(minutes=1))
    pause = Pause(in_thread("scheduler-a"))
    with faults.installed("timers_claimed", pause):
        a = Run("scheduler-a", lambda: tick(engine, "scheduler-a"))
        a.start()
        assert pause.reached.wait(WAIT)
        assert len(pause.context["timer_ids"]) == 4
        assert tick(engine, "scheduler-b").fired == 0  # A's claims are leased
        clock.advance(seconds=LEASE.total_seconds() + 1)
        b = tick(engine, "scheduler-b")
        pause.release.set()
        a.finish()
    assert a.error is None
    assert b.fired == 4 and (a.result.fired, a.result.skipped) == (0, 4)
    fired, escalations = timer_outcomes(engine)
    assert len(fired) == 4 and set(fired.values()) == {"scheduler-b"}
    assert len(escalations) == len(set(escalations)) == 2


def test_three_days_down_then_two_schedulers_fire_each_timer_once(engine, clock):
    ids, due = overdue_cases(engine, clock, 6)
    clock.set(due + timedelta(days=3))  # every scheduler was down three days
    with engine.db.read() as session:
        due_keys = set(session.scalars(select(Timer.key).where(Timer.due_at <= clock.now(),
                                                               Timer.status == "pending")))
    start = threading.Barrier(2)

    def scheduler(name):
        def run():
            start.wait(WAIT)
            return tick(engine, name, batch=2)  # small batches: the two interleave claim after claim
        return Run(name, run)

    runs = [scheduler("scheduler-a"), scheduler("scheduler-b")]
    for run in runs:
        run.start()
    for run in runs:
        run.finish()
    assert [r.error for r in runs] == [None, None]
    assert sum(r.result.fired for r in runs) == len(due_keys) and all(r.result.failed == 0 for r in runs)
    fired, escalations = timer_outcomes(engine)
    assert set(fired) == due_keys
    assert len(escalations) == len(set(escalations)) == 2 * len(ids)  # both rungs of each case, once
    with engine.db.read() as session:
        late = session.scalars(select(Timer.late_seconds).where(Timer.status == "fired", Timer.rung == 1)).all()
    assert len(late) == len(ids) and min(late) >= 3 * 86400
    assert tick(engine, "scheduler-a").fired == tick(engine, "scheduler-b").fired == 0


# --- S8: a loop that never waits ----------------------------------------------------------------------------------

def looping_set() -> dict:
    """The shipped set where a referral that is not urgent loops back to "Evaluate urgency" for ever."""
    files = read_definition_files(Settings().workflows_dir, Settings().forms_dir)
    flow = ('<bpmn:sequenceFlow id="Flow_urgent_no" name="No" sourceRef="Gateway_urgent" '
            'targetRef="Gateway_merge_assessment" />')
    assert files["case_management.bpmn"].count(flow) == 1
    files["case_management.bpmn"] = files["case_management.bpmn"].replace(
        flow, flow.replace("Gateway_merge_assessment", "evaluate_urgency"))
    return files


def test_a_loop_without_wait_state_is_refused_and_the_server_stays_responsive(engine, anon):
    definitions.publish(engine, looping_set())
    worker = anon.login("worker1")
    status, case = worker.post("/cases", new_person_case(worker))
    assert status == 201
    task_id = case["open_tasks"][0]["id"]
    before = case_row(engine, case["id"])
    looping = Run("looping", lambda: worker.call("POST", f"/tasks/{task_id}/complete", {"data": referral()}))
    looping.start()
    answered = []
    for _ in range(3):  # while (or after) the step runs, other requests are answered promptly
        started = time.monotonic()
        status, me = worker.get("/me")
        answered.append((status, time.monotonic() - started))
    looping.finish()
    assert all(status == 200 and took < 3 for status, took in answered), answered
    status, body = looping.result
    assert status == 422 and body["error"] == "script_failed", body
    assert "more than 2000 automatic steps" in body["message"] and "loop with no wait state" in body["message"]
    after = case_row(engine, case["id"])
    assert (after.row_version, after.state) == (before.row_version, before.state)  # rolled back
    assert [t.id for t in open_tasks(engine, case["id"])] == [task_id]
    assert audit_rows(engine, case["id"], "task.completed") == []
    status, _ = worker.post("/cases", new_person_case(worker))
    assert status == 201


# --- Idempotency-Key --------------------------------------------------------------------------------------------

def key_rows(engine):
    with engine.db.read() as session:
        return session.scalars(select(IdempotencyKey)).all()


def case_count(engine):
    with engine.db.read() as session:
        return session.scalar(select(func.count(Case.id)))


def test_idempotency_a_retry_gets_the_first_answer_and_does_nothing(engine, anon, clock):
    worker = anon.login("worker1")
    payload, key, cases_before = new_person_case(worker), str(uuid.uuid4()), case_count(engine)
    first = http(anon.base_url, "POST", "/cases", payload, worker.token, key)
    again = http(anon.base_url, "POST", "/cases", payload, worker.token, key)
    assert first[0] == again[0] == 201
    assert first[1] == again[1] and "Idempotent-Replayed" not in first[2] and again[2]["Idempotent-Replayed"] == "true"
    assert case_count(engine) == cases_before + 1
    case = first[1]

    reordered = dict(reversed(list(payload.items())))  # the same JSON, spelt differently: the same request
    assert http(anon.base_url, "POST", "/cases", reordered, worker.token, key)[1] == case
    other = http(anon.base_url, "POST", "/cases", {**payload, "summary": "Another referral."}, worker.token, key)
    assert other[0] == 422 and other[1]["message"] == ("This Idempotency-Key was already used for a different "
                                                       "request; send a new key with a new request.")
    elsewhere = http(anon.base_url, "POST", f"/tasks/{case['open_tasks'][0]['id']}/claim", {}, worker.token, key)
    assert elsewhere[0] == 422  # the same key on another path
    assert case_count(engine) == cases_before + 1

    supervisor = anon.login("supervisor1")  # keys are per user: the supervisor's "same" key is another key
    theirs = http(anon.base_url, "POST", "/cases", payload, supervisor.token, key)
    assert theirs[0] == 201 and theirs[1]["id"] != case["id"] and "Idempotent-Replayed" not in theirs[2]

    complete = f"/tasks/{case['open_tasks'][0]['id']}/complete"
    refused = http(anon.base_url, "POST", complete, {"data": {}}, worker.token, "complete-1")
    assert refused[0] == 422  # refused answers are not kept: the key is free for the corrected request
    done = http(anon.base_url, "POST", complete, {"data": referral()}, worker.token, "complete-2")
    assert done[0] == 200 and [t["name"] for t in done[1]["next_tasks"]] == ["home_visit_assessment"]
    again = http(anon.base_url, "POST", complete, {"data": referral()}, worker.token, "complete-2")
    assert again[:2] == done[:2] and again[2]["Idempotent-Replayed"] == "true"
    without_key = http(anon.base_url, "POST", complete, {"data": referral()}, worker.token)
    assert without_key[0] == 409  # without a key a retry is a new request, refused as usual
    assert len(audit_rows(engine, case["id"], "task.completed")) == 1
    assert {r.key for r in key_rows(engine)} == {key, "complete-2"}
    assert {r.status for r in key_rows(engine)} == {201, 200}

    clock.advance(hours=25)  # keys expire after 24 hours: the same key is then a new request
    worker = anon.login("worker1")
    late = http(anon.base_url, "POST", "/cases", payload, worker.token, key)
    assert late[0] == 201 and late[1]["id"] not in (case["id"], theirs[1]["id"])
    assert "Idempotent-Replayed" not in late[2]
    assert case_count(engine) == cases_before + 3
    assert len(key_rows(engine)) == 2  # the worker's expired keys were removed when it used a new one
    from engine.scheduler import Ticker
    Ticker(engine).nightly()  # and the nightly job removes everyone's (the answers hold personal data)
    assert [(r.user_id, r.key) for r in key_rows(engine)] == [(actor(engine, "worker1").id, key)]


@pytest.mark.parametrize("key", ["", "x" * 201, "with space", "ключ"])
def test_idempotency_a_bad_key_is_refused(engine, anon, key):
    worker = anon.login("worker1")
    raw = key.encode("utf-8").decode("latin-1")  # non-ASCII text reaches a header as its UTF-8 bytes
    status, body, _ = http(anon.base_url, "POST", "/cases", new_person_case(worker), worker.token, raw)
    assert status == 422 and body["message"] == ("The Idempotency-Key header must be 1 to 200 visible ASCII "
                                                 "characters, such as a UUID.")
    assert key_rows(engine) == []


def test_idempotency_two_copies_at_once_do_the_work_once(engine, anon):
    """A client that gives up waiting and sends the request again while the first is still being carried out."""
    worker = anon.login("worker1")
    status, case = worker.post("/cases", new_person_case(worker))
    path = f"/tasks/{case['open_tasks'][0]['id']}/complete"
    send = lambda: http(anon.base_url, "POST", path, {"data": referral()}, worker.token, "retry-me")  # noqa: E731
    pause = Pause(lambda **_: has_request_context() and request.path == "/api/v1" + path)
    with faults.installed("before_commit", pause):
        first = Run("first", send)
        first.start()
        assert pause.reached.wait(WAIT)
        copy = Run("copy", send)
        copy.start()
        if is_postgres(engine):
            wait_for_lock_waiter(engine)  # the copy's insert of the key waits for the first transaction
        assert copy.still_blocked()
        pause.release.set()
        first.finish(), copy.finish()
    assert first.result[0] == copy.result[0] == 200, (first.result, copy.result)
    assert first.result[1] == copy.result[1] and copy.result[2]["Idempotent-Replayed"] == "true"
    assert len(audit_rows(engine, case["id"], "task.completed")) == 1


def test_idempotency_header_is_documented_on_exactly_the_idempotent_routes():
    from tests.conftest import make_engine
    from webui import create_app
    from webui.api.openapi import document
    app = create_app(make_engine("sqlite://"))  # for its routes only
    marked = set()
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "idempotent", False):
            path = rule.rule.removeprefix("/api/v1")
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", "{" + name + "}").replace(f"<{name}>", "{" + name + "}")
            marked |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, operations in document()["paths"].items()
                  for method, operation in operations.items()
                  if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))}
    assert marked == documented
    assert {("/cases", "post"), ("/tasks/{task_id}/complete", "post"), ("/tasks/{task_id}/claim", "post")} <= marked


def hold_case(engine, case_id):
    """Another connection holding the case, as a request in the middle of its step does: on SQLite the write lock
    of the file (taken at BEGIN), on PostgreSQL the case row."""
    holder = engine.db.engine.execution_options(yordam_write=True).connect()
    holder.begin()
    if not engine.db.is_sqlite:
        holder.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})
    return holder


def test_a_case_held_too_long_by_another_gets_busy_try_again_and_nothing_changes(db_url, clock):
    """A request that waits longer than the lock timeout for a case someone else holds answers 503 with
    Retry-After (not a 500, not a hang); when the holder lets go, the same request goes through once."""
    from tests.api_client import Client, LiveServer
    from webui import create_app
    from engine.core import Engine
    engine = Engine(Settings(database_url=db_url, secret_key="test", lock_timeout_seconds=0.5), clock=clock)
    case_id = open_case(engine)["id"]
    task = open_tasks(engine, case_id)[0]
    state_before = case_row(engine, case_id).state
    with LiveServer(create_app(engine)) as live:
        worker = Client(live.url).login("worker1")
        holder = hold_case(engine, case_id)
        try:
            status, body = worker.post(f"/tasks/{task.id}/complete", {"data": referral()})
            assert status == 503, body
            from engine.i18n import translations
            busy = "The database is busy or out of reach; nothing was changed. Try again in a moment."
            assert body["error"] == "unavailable"
            assert body["message"] == translations("uz").gettext(busy) != busy  # in worker1's language
        finally:
            holder.rollback()
            holder.close()
        assert case_row(engine, case_id).state == state_before
        assert [t.id for t in open_tasks(engine, case_id)] == [task.id]
        status, body = worker.post(f"/tasks/{task.id}/complete", {"data": referral()})
        assert status == 200, body
        assert len(audit_rows(engine, case_id, "task.completed")) == 1
    engine.db.dispose()


def test_the_web_app_says_busy_too(db_url, clock):
    from tests.api_client import LiveServer
    from tests.web_client import WebClient
    from webui import create_app
    from engine.core import Engine
    engine = Engine(Settings(database_url=db_url, secret_key="test", lock_timeout_seconds=0.5), clock=clock)
    case_id = open_case(engine)["id"]
    task = open_tasks(engine, case_id)[0]
    with LiveServer(create_app(engine)) as live:
        browser = WebClient(live.url)
        browser.login("worker1", language="en")
        page = browser.get(f"/tasks/{task.id}")
        holder = hold_case(engine, case_id)
        try:
            response = browser.post(f"/tasks/{task.id}/claim", {"csrf_token": page.csrf()})
        finally:
            holder.rollback()
            holder.close()
    assert response.status == 503
    assert "The database is busy or out of reach; nothing was changed." in response.text
    engine.db.dispose()
