"""``make demo-postgres``: the whole of Yordam as it runs in a centre with more than one machine, on this one.

A private PostgreSQL cluster in a temporary folder (the machine's own PostgreSQL binaries; as the ``postgres``
system user when run as root), migrated and loaded with the demo data; gunicorn serving the web app and the API
with two workers; two ``yordam scheduler`` processes firing the timers. Ctrl-C stops everything and removes the
cluster. Nothing here is fit for real data: the database lives in a temporary folder and forgets on exit.

    .venv/bin/python deploy/demo_postgres.py [--port 5000] [--workers 2] [--schedulers 2]
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.pg: the same throw-away cluster the test suite starts

from tests.pg import ThrowawayPostgres, find_pg_bin  # noqa: E402

BIN = Path(sys.executable).parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--schedulers", type=int, default=2)
    args = parser.parse_args(argv)
    if find_pg_bin() is None:
        print("PostgreSQL's server programs (initdb, pg_ctl, postgres) are not on this machine: install PostgreSQL "
              "15 or newer (Debian: apt-get install postgresql), then run make demo-postgres again.", file=sys.stderr)
        return 2
    with ThrowawayPostgres() as cluster:
        env = dict(os.environ, DATABASE_URL=cluster.url, YORDAM_SECRET_KEY=secrets.token_hex(32),
                   YORDAM_EMBEDDED_SCHEDULER="0", WEB_CONCURRENCY=str(args.workers),
                   YORDAM_BIND=f"127.0.0.1:{args.port}")
        print(f"PostgreSQL {cluster.port} in a temporary folder: {cluster.url}", flush=True)
        subprocess.run([BIN / "yordam", "db", "upgrade"], env=env, check=True)
        subprocess.run([BIN / "yordam", "demo", "load"], env=env, check=True)
        processes = [subprocess.Popen([BIN / "gunicorn", "-c", ROOT / "deploy" / "gunicorn.conf.py",
                                       "webui.wsgi:app"], env=env, cwd=ROOT)]
        processes += [subprocess.Popen([BIN / "yordam", "scheduler"], env=env) for _ in range(args.schedulers)]
        try:
            _wait_ready(f"http://127.0.0.1:{args.port}/readyz", processes)
            print(f"Yordam on http://127.0.0.1:{args.port}/ : {args.workers} web worker(s), {args.schedulers} "
                  f"scheduler(s), one PostgreSQL. Ctrl-C stops everything.", flush=True)
            _wait_for_stop(processes)
        finally:
            _stop(processes)
    return 0


def _wait_ready(url: str, processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a process of the demo stopped while starting; its log is above")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer ready within {timeout:.0f} s")


def _wait_for_stop(processes) -> None:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    try:
        while not stop and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
