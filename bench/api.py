"""Task completions per second through real HTTP: gunicorn with 1 and with 2 workers, concurrent clients.

    .venv/bin/python bench/api.py                    # SQLite
    .venv/bin/python bench/api.py --postgres         # a throw-away PostgreSQL
    .venv/bin/python bench/api.py --quick
    .venv/bin/python bench/api.py --workers 2 --clients 4 --cases 60
    .venv/bin/python bench/api.py --postgres --process reference   # the reference process, as the peer measured it

For each number of gunicorn workers (``gunicorn 'webui.wsgi:app' -w N``, sync workers, configured by
``DATABASE_URL``, ``YORDAM_SECRET_KEY`` and ``YORDAM_EMBEDDED_SCHEDULER=0``) a fresh database is served (migrated,
the demo organisation and users, the shipped process). For each number of concurrent clients (threads of this
process, on the same machine), the clients log in with ``POST /api/v1/auth/login`` as demo users, open their
cases with ``POST /api/v1/cases`` (timed: start → first task), then walk every case through the plain path of the
default process with ``POST /api/v1/tasks/<id>/complete`` and the demo's sample answers — each task completed by
the user who would: the social worker who owns the case, or a supervisor of the district for the approvals.
The next task's id comes from the completion's own answer (``next_tasks``), as a client would read it.

Figures: latency of each completion as the client sees it (p50/p95) and completions per second over the whole
walk (wall clock, all clients). Asserts only correctness: every request succeeds (no 409, no 5xx) and the
database holds exactly the cases closed and the tasks completed that were sent.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Databases, Run, base_parser, line, make_engine, summary  # noqa: E402
from bench.floor import DEFAULT_WALK, PEER_DIR, PEER_WALK  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from engine.db.models import Case, Task  # noqa: E402

SECRET = "bench-secret-key-" + "k" * 32
#: Clients act for a social worker and the supervisor of that worker's district (demo users).
TEAMS = [("worker1", "supervisor1"), ("worker3", "supervisor2"), ("worker2", "supervisor1")]
ANSWERS = dict(DEFAULT_WALK) | dict(PEER_WALK)


class Http:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + "/api/v1" + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                payload = response.read()
                return response.status, json.loads(payload) if payload else None
        except urllib.error.HTTPError as err:
            payload = err.read()
            err.close()
            return err.code, payload.decode(errors="replace")[:500]

    def login(self, username: str) -> tuple[str, dict]:
        status, out = self.call("POST", "/auth/login", {"username": username, "password": "demo1234"})
        assert status == 200, (status, out)
        return out["token"], out["user"]


class Gunicorn:
    def __init__(self, url: str, workers: int):
        self.url, self.workers = url, workers
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def __enter__(self):
        env = dict(os.environ, DATABASE_URL=self.url, YORDAM_SECRET_KEY=SECRET, YORDAM_EMBEDDED_SCHEDULER="0")
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        # the server's log goes to a file (a pipe nobody reads would fill up and stop the server)
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [gunicorn, "webui.wsgi:app", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "120"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"gunicorn exited: {self.log.read()[-3000:]}")
            try:
                status, _ = Http(self.base).call("POST", "/auth/login", {"username": "", "password": ""})
                if status in (200, 400, 401, 422):
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 60 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


class Client(threading.Thread):
    def __init__(self, http: Http, team: tuple[str, str], cases: int, barrier: threading.Barrier, n: int):
        super().__init__(daemon=True)
        self.http, self.team, self.count, self.barrier, self.n = http, team, cases, barrier, n
        self.starts, self.completions, self.errors = [], [], []
        self.case_ids = []

    def run(self):
        try:
            worker_token, worker = self.http.login(self.team[0])
            supervisor_token, _ = self.http.login(self.team[1])
            tokens = {"social_worker": worker_token, "supervisor": supervisor_token}
            mahalla = worker["mahalla_ids"][self.n % len(worker["mahalla_ids"])]
            self.barrier.wait()
            opened = []
            for i in range(self.count):
                payload = {"subject": {"kind": "person", "full_name": f"Mijoz {self.n}-{i}", "sex": "female",
                                       "birth_date": "1950-03-15"},
                           "mahalla_id": mahalla, "channel": "mahalla", "summary": "Referred for help at home."}
                began = time.perf_counter()
                status, out = self.http.call("POST", "/cases", payload, worker_token)
                self.starts.append(time.perf_counter() - began)
                if status != 201:
                    self.errors.append((status, out))
                    continue
                self.case_ids.append(out["id"])
                opened.append(out["open_tasks"][0])
            self.barrier.wait()  # every client opened its cases: the completions start together
            self.walk_began = time.perf_counter()
            for task in opened:
                while task is not None:
                    answers = ANSWERS[task["form_key"]]
                    token = tokens[task["role"]]
                    began = time.perf_counter()
                    status, out = self.http.call("POST", f"/tasks/{task['id']}/complete", {"data": answers}, token)
                    self.completions.append(time.perf_counter() - began)
                    if status != 200:
                        self.errors.append((status, out))
                        break
                    following = [t for t in out["next_tasks"] if t["kind"] == "process"]
                    task = following[0] if following else None
            self.walk_ended = time.perf_counter()
        except Exception as err:  # noqa: BLE001 - reported by the main thread
            self.errors.append(("exception", repr(err)))
            try:
                self.barrier.abort()
            except threading.BrokenBarrierError:
                pass


def publish_reference_process(url: str) -> None:
    """The reference process as the newest version of the default process, so that ``POST /api/v1/cases`` (which
    opens cases on the default process) starts it: the same diagram, its process id renamed."""
    from engine.process.definitions import read_definition_files
    from engine.services import definitions
    files = read_definition_files(PEER_DIR)
    files["peer_case.bpmn"] = files["peer_case.bpmn"].replace('"peer_case"', '"case_management"')
    engine = make_engine(url)
    definitions.publish(engine, files, note="reference process (benchmark)")
    engine.db.dispose()


def run_config(dbs: Databases, workers: int, clients_list: list[int], cases_total: int, process: str) -> dict:
    url = dbs.fresh(f"api_{process}_w{workers}")
    if process == "reference":
        publish_reference_process(url)
    steps = len(PEER_WALK) if process == "reference" else len(DEFAULT_WALK)
    out = {}
    with Gunicorn(url, workers) as server:
        http = Http(server.base)
        # warm-up: every worker process loads its caches (spec, forms, translations) on its first requests
        warm = [Client(http, TEAMS[0], 2, threading.Barrier(1), 99)]
        warm[0].barrier = threading.Barrier(1)
        for c in warm:
            c.run()
        assert not warm[0].errors, warm[0].errors
        for clients in clients_list:
            per_client = max(1, cases_total // clients)
            barrier = threading.Barrier(clients)
            threads = [Client(http, TEAMS[n % len(TEAMS)], per_client, barrier, n) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            errors = [e for t in threads for e in t.errors]
            if errors:
                raise SystemExit(f"{len(errors)} request(s) failed, first: {errors[0]}")
            began = min(t.walk_began for t in threads)
            ended = max(t.walk_ended for t in threads)
            completions = [x for t in threads for x in t.completions]
            starts = [x for t in threads for x in t.starts]
            case_ids = [c for t in threads for c in t.case_ids]
            engine = make_engine(url)
            with engine.db.read() as session:
                closed = session.scalar(select(func.count()).select_from(Case).where(
                    Case.id.in_(case_ids), Case.status == "closed"))
                done = session.scalar(select(func.count()).select_from(Task).where(
                    Task.case_id.in_(case_ids), Task.state == "completed", Task.kind == "process"))
            engine.db.dispose()
            assert closed == len(case_ids) and done == len(completions) == len(case_ids) * steps, \
                (closed, done, len(completions))
            s = summary(completions, ended - began)
            key = f"{workers}w/{clients}c"
            out[key] = {"workers": workers, "clients": clients, "cases": len(case_ids),
                        "completion": s, "start_to_first_task": summary(starts)}
            print(line(f"  {workers} worker(s), {clients} client(s): completion", s), flush=True)
            print(line(f"  {workers} worker(s), {clients} client(s): start → first task", summary(starts)),
                  flush=True)
    return out


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="gunicorn workers")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4], help="concurrent clients")
    parser.add_argument("--cases", type=int, help="cases walked per run (default 60, --quick 6)")
    parser.add_argument("--process", choices=("default", "reference"), default="default",
                        help="walk the default process, or the reference process bench/peer/peer_case.bpmn "
                             "(writes api-<database>-reference.json)")
    args = parser.parse_args()
    kind = "postgresql" if args.postgres else "sqlite"
    cases_total = args.cases or (6 if args.quick else 60)
    run = Run("api", kind, args, quick=args.quick)
    with Databases(postgres=args.postgres) as dbs:
        run.machine(dbs.server.url if dbs.server else None)
        steps = len(PEER_WALK) if args.process == "reference" else len(DEFAULT_WALK)
        for workers in args.workers:
            print(f"## gunicorn -w {workers}, {kind}, {args.process} process, {cases_total} cases × {steps} "
                  "completions per run", flush=True)
            run.results.update(run_config(dbs, workers, args.clients, cases_total, args.process))
    best = {w: max((r for r in run.results.values() if r["workers"] == w),
                   key=lambda r: r["completion"]["per_second"]) for w in args.workers}
    for w, r in best.items():
        run.target(f"throughput_{w}w", f"completions/s with {w} worker(s) ({r['clients']} clients), per process",
                   200.0, round(r["completion"]["per_second"] / w, 1), better="higher")
    one = run.results.get("1w/1c")
    if one:
        run.target("p95_1w1c", "completion p95 through HTTP, 1 worker, 1 client (ms), DESIGN §6", 15.0,
                   one["completion"]["p95_ms"])
    if args.process == "reference" and one:
        run.target("peer_completion_p50", "reference process over HTTP, completion p50 (ms), peer 77", 77.0,
                   one["completion"]["p50_ms"])
        run.target("peer_start_p50", "reference process over HTTP, start → first task p50 (ms), peer ≈ 100", 100.0,
                   one["start_to_first_task"]["p50_ms"])
    run.finish(suffix="-reference" if args.process == "reference" else "")


if __name__ == "__main__":
    main()
