"""The `yordam` command as a new user runs it, and the migrations against the models."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select

from engine.db.migrate import upgrade
from engine.db.models import Base, Case, DefinitionVersion, Task, Timer, User

ROOT = Path(__file__).resolve().parent.parent
YORDAM = [sys.executable, "-m", "webui.cli"]


def run(args, env=None, check=True):
    result = subprocess.run(YORDAM + args, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_the_models(backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    else:
        url = request.getfixturevalue("pg_server").create_database("migration_check")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_db_upgrade_demo_load_and_refusal_in_production(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}"}
    run(["db", "upgrade"], env)
    out = run(["demo", "load"], env).stdout
    for username in ("worker1", "worker2", "worker3", "supervisor1", "supervisor2", "head1", "specialist1",
                     "methodologist1", "admin1"):
        assert username in out
    assert "demo1234" in out
    assert "already loaded" in run(["demo", "load"], env).stdout
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count(Case.id))) == 20
        stages = set(conn.scalars(select(Case.stage)))
        assert stages == {"identification", "assessment", "planning", "delivery", "monitoring", "closure"}
        assert set(conn.scalars(select(Case.status))) == {"open", "closed"}
        assert conn.scalar(select(func.count(DefinitionVersion.id))) == 1
        assert conn.scalar(select(func.count(Task.id)).where(Task.state == "open")) >= 18
        # Some demo work has fallen behind: overdue tasks and escalations waiting for supervisors.
        assert conn.scalar(select(func.count(Task.id)).where(Task.kind == "escalation", Task.state == "open")) >= 3
        assert conn.scalar(select(func.count(Timer.id)).where(Timer.status == "fired")) >= 3
        roles = set(conn.scalars(select(User.role)))
    engine.dispose()
    assert roles == {"social_worker", "supervisor", "center_head", "specialist", "methodologist", "admin"}
    refused = run(["demo", "load"], {**env, "YORDAM_MODE": "production"}, check=False)
    assert refused.returncode == 2 and "production" in refused.stderr


def test_users_create_and_workflows_publish(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'u.sqlite'}", "YORDAM_PASSWORD": "long-enough-1"}
    run(["db", "upgrade"], env)
    out = run(["users", "create", "--username", "admin2", "--full-name", "Aziz Admin", "--role", "admin"], env)
    assert "created user admin2" in out.stdout
    again = run(["users", "create", "--username", "admin2", "--full-name", "X", "--role", "admin"], env, check=False)
    assert again.returncode == 2 and "taken" in again.stderr
    bad_role = run(["users", "create", "--username", "x1", "--full-name", "X", "--role", "king"], env, check=False)
    assert bad_role.returncode == 2 and "role" in bad_role.stderr
    assert "published case_management version 1" in run(["workflows", "publish"], env).stdout
    assert "unchanged: case_management version 1" in run(["workflows", "publish"], env).stdout


def test_workflows_lint(tmp_path):
    assert "no problems" in run(["workflows", "lint"]).stdout
    bpmn = (ROOT / "workflows" / "case_management.bpmn").read_text(encoding="utf-8")
    broken = tmp_path / "case_management.bpmn"
    broken.write_text(bpmn.replace('"P90D"', "P90D"), encoding="utf-8")
    dmn = [str(p) for p in (ROOT / "workflows").glob("*.dmn")]
    result = run(["workflows", "lint", str(broken), *dmn], check=False)
    assert result.returncode == 1
    assert "the timer expression P90D is not quoted" in result.stdout
    assert 'write it as a string: "P90D"' in result.stdout


def test_time_travel_needs_its_switch(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 't.sqlite'}", "YORDAM_NOW": "2026-12-01T09:00:00+05:00"}
    refused = run(["workflows", "publish"], env, check=False)
    assert refused.returncode == 2 and "YORDAM_ALLOW_TIME_TRAVEL" in refused.stderr


def test_tick_runs_one_pass_and_time_travels_only_with_its_switch(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'tick.sqlite'}"}
    run(["db", "upgrade"], env)
    run(["demo", "load"], env)
    assert "fired 0 timer(s)" in run(["tick"], env).stdout  # demo load already fired what was due
    refused = run(["tick", "--at", "2030-01-01T09:00:00Z"], env, check=False)
    assert refused.returncode == 2 and "YORDAM_ALLOW_TIME_TRAVEL" in refused.stderr
    bad = run(["tick", "--at", "next week"], {**env, "YORDAM_ALLOW_TIME_TRAVEL": "1"}, check=False)
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr
    out = run(["tick", "--at", "2030-01-01T09:00:00Z"], {**env, "YORDAM_ALLOW_TIME_TRAVEL": "1"}).stdout
    fired = int(out.split("fired ")[1].split(" ")[0])
    assert out.startswith("as of 2030-01-01T09:00:00+00:00") and fired > 0
    again = run(["tick", "--at", "2030-01-01T09:00:00Z"], {**env, "YORDAM_ALLOW_TIME_TRAVEL": "1"}).stdout
    assert "fired 0 timer(s)" in again
