"""The deployment of docs/deploy.md: health and readiness, structured logs, and the whole of ``make demo-postgres``
(gunicorn with two workers and two schedulers over one real PostgreSQL) as a newcomer starts it."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, text

from engine import logs
from tests.api_client import Client, LiveServer
from tests.conftest import make_engine
from tests.sample_answers import referral

ROOT = Path(__file__).resolve().parent.parent


def _get(url: str, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), json.loads(err.read())


def test_health_and_readiness_on_a_migrated_database(server):
    assert _get(server.url + "/healthz")[::2] == (200, {"status": "ok"})
    status, headers, body = _get(server.url + "/readyz")
    assert (status, body) == (200, {"status": "ok", "checks": {"database": "ok", "schema": "ok"}})
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"


def test_a_worker_on_an_unmigrated_database_is_alive_but_not_ready(tmp_path):
    from webui import create_app
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with LiveServer(create_app(engine)) as live:
        assert _get(live.url + "/healthz")[0] == 200
        status, _, body = _get(live.url + "/readyz")
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["schema"].startswith("at nothing, the code expects ")
    engine.db.dispose()


def test_a_worker_whose_database_is_gone_is_not_ready(tmp_path):
    from webui import create_app
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")  # nothing listens on port 1
    with LiveServer(create_app(engine)) as live:
        status, _, body = _get(live.url + "/readyz")
    assert status == 503 and body["checks"]["database"] == "unavailable: OperationalError"


def test_every_request_is_one_structured_line_without_its_query(server, capfd):
    logs.configure("json")
    try:
        worker = Client(server.url).login("worker1")
        status, _ = worker.call("GET", "/cases?q=Oʻgʻiloy", headers={"X-Request-ID": "from-the-proxy-1"})
        assert status == 200
        status, headers, _ = _get(server.url + "/healthz", {"X-Request-ID": "not a token\" {}"})
    finally:
        logging.getLogger().removeHandler(next(h for h in logging.getLogger().handlers if h.get_name() == "yordam"))
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    requests = {line["request_id"]: line for line in lines if line["logger"] == "yordam.request"}
    search = requests["from-the-proxy-1"]
    assert (search["method"], search["path"], search["status"], search["level"]) == ("GET", "/api/v1/cases", 200,
                                                                                      "info")
    assert search["user_id"] > 0 and search["ms"] >= 0 and search["pid"] == os.getpid()
    assert "Oʻgʻiloy" not in json.dumps(lines, ensure_ascii=False)  # the searched name is nobody's log line
    made = headers["X-Request-ID"]  # a header that is not a plain token is replaced, not echoed into the log
    assert len(made) == 32 and requests[made]["path"] == "/healthz"


def test_log_settings_are_checked():
    import pytest
    with pytest.raises(ValueError, match="YORDAM_LOG_FORMAT must be text or json"):
        logs.configure("xml")
    with pytest.raises(ValueError, match="YORDAM_LOG_LEVEL must be"):
        logs.configure("json", "LOUD")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def test_make_demo_postgres_two_workers_two_schedulers_one_database(tmp_path):
    """What docs/deploy.md promises a newcomer: two web workers and two schedulers over one PostgreSQL, and a
    case completed through one worker is visible through the other at once."""
    from tests.pg import require_postgres
    require_postgres()
    port, log_path = _free_port(), tmp_path / "demo.log"
    env = dict(os.environ, YORDAM_LOG_FORMAT="json")
    with open(log_path, "wb") as log_file:
        demo = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "demo_postgres.py"), "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: demo.poll() is not None or "Ctrl-C stops everything" in log_path.read_text(), 180,
                  "the demo starting")
        assert demo.poll() is None, log_path.read_text()[-3000:]
        url = f"http://127.0.0.1:{port}"
        database_url = next(line.split(": ", 1)[1] for line in log_path.read_text().splitlines()
                            if line.startswith("PostgreSQL ") and "temporary folder" in line)

        worker = Client(url).login("worker1")
        _, mahallas = worker.get("/mahallas")
        status, case = worker.post("/cases", {"subject": {"kind": "person", "full_name": "Karim Yoqubov"},
                                              "mahalla_id": mahallas["items"][0]["id"], "channel": "self",
                                              "summary": "Needs help."})
        assert status == 201, case
        first = case["open_tasks"][0]
        done_id = "complete-" + uuid.uuid4().hex
        status, body = worker.call("POST", f"/tasks/{first['id']}/complete", {"data": referral()},
                                   headers={"X-Request-ID": done_id})
        assert status == 200, body

        # Every read after the completion, on a fresh connection each, whichever worker takes it, sees it.
        reads = []
        for _ in range(300):
            reads.append("read-" + uuid.uuid4().hex)
            status, seen = worker.call("GET", f"/cases/{case['id']}", headers={"X-Request-ID": reads[-1]})
            assert status == 200 and seen["open_tasks"], seen
            assert first["id"] not in [t["id"] for t in seen["open_tasks"]], "a worker served a stale case"
            if len({_pids_by_request(log_path).get(r) for r in reads} - {None}) >= 2:
                break
        pids = _wait_for(lambda: _logged(log_path, [done_id, *reads]), 10, "the request lines reaching the log")
        readers = Counter(pids[r] for r in reads)
        assert len(readers) == 2, f"all reads went to one worker: {readers}"
        assert any(pid != pids[done_id] for pid in readers)  # read through the worker that did not complete it

        # Two schedulers tick over the same database, and the demo's overdue work is escalated once each.
        schedulers = _wait_for(lambda: _scheduler_pids(log_path) if len(_scheduler_pids(log_path)) == 2 else None,
                               30, "two schedulers starting")
        assert len(schedulers) == 2
        db = create_engine(database_url)
        with db.connect() as conn:
            due = lambda: conn.execute(text("SELECT count(*) FROM timers WHERE status IN ('pending', 'claimed') "  # noqa: E731
                                            "AND due_at <= now()")).scalar() == 0
            _wait_for(lambda: due() or conn.rollback(), 60, "every due timer firing")
            fired_twice = conn.execute(text(
                "SELECT count(*) FROM (SELECT escalates_task_id, rung FROM tasks "
                "WHERE kind = 'escalation' GROUP BY 1, 2 HAVING count(*) > 1) AS doubles")).scalar()
            escalations = conn.execute(text("SELECT count(*) FROM tasks WHERE kind = 'escalation'")).scalar()
        db.dispose()
        assert escalations > 0 and fired_twice == 0
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(60)
    assert demo.returncode == 0, log_path.read_text()[-3000:]
    with socket.socket() as probe:  # every process of the demo is gone with it
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def _json_lines(path: Path):
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def _pids_by_request(path: Path) -> dict[str, int]:
    return {line["request_id"]: line["pid"] for line in _json_lines(path) if line.get("logger") == "yordam.request"}


def _logged(path: Path, request_ids) -> dict[str, int] | None:
    pids = _pids_by_request(path)
    return pids if all(r in pids for r in request_ids) else None


def _scheduler_pids(path: Path) -> set[str]:
    return {line.split()[2] for line in path.read_text(errors="replace").splitlines()
            if line.startswith("Yordam scheduler ")}
