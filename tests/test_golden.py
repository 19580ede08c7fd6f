"""Golden case states: what every released Yordam (and every SpiffWorkflow release we read) saved still loads and
continues under the current code, so an upgrade never strands a running case (research R6, S5).

``tests/golden/<release>/`` holds the states of one case of the shipped process at each stage, written by
``tests/golden/make_golden.py`` (see tests/golden/README.md). Every state is loaded by the current runtime, must show
the open tasks its manifest names, and must continue along the recorded plan to the next checkpoint; through the
real services on both databases, a state of each release is put into a case of its own and walked on to closed.
"""
from __future__ import annotations

import configparser
import json
from datetime import datetime
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.clock import FakeClock
from engine.db.models import Case, DefinitionVersion, Task
from engine.process.definitions import content_hash
from engine.process.runtime import ProcessRuntime
from engine.process.serialization import _serializer, dump_state, load_state
from engine.services.demo import complete_step
from engine.services.progress import apply_outcome, lock_case
from engine.services.scheduler import tick
from tests.helpers import open_case, roundtrip_state

GOLDEN = Path(__file__).parent / "golden"
RELEASES = sorted(p for p in GOLDEN.iterdir() if (p / "release.json").is_file())
MANIFEST_KEYS = {"yordam_version", "spiffworkflow_version", "serializer_version", "definition_key", "checkpoint",
                 "open_tasks", "completed", "next_timer_at", "saved_at", "continues_at_step"}
_releases: dict[Path, dict] = {}


def release(path: Path) -> dict:
    if path not in _releases:
        _releases[path] = json.loads((path / "release.json").read_text())
    return _releases[path]


def checkpoints(path: Path) -> list[str]:
    return [item["checkpoint"] for item in release(path)["plan"] if "checkpoint" in item]


def golden(path: Path, name: str) -> dict:
    return json.loads((path / f"{name}.json").read_text())


ALL = [(path, name) for path in RELEASES for name in checkpoints(path)]


def test_the_golden_set_covers_this_release_and_older_spiffworkflow():
    config = configparser.ConfigParser()
    config.read(Path(__file__).parent.parent / "setup.cfg")
    current = f"yordam-{config['metadata']['version']}_spiff-{installed_version('SpiffWorkflow')}"
    names = {p.name for p in RELEASES}
    assert current in names, f"no golden states of this release: run python -m tests.golden.make_golden ({current})"
    formats = {release(p)["serializer_version"] for p in RELEASES}
    assert {"1.3", "1.4", _serializer().VERSION} <= formats, formats
    assert len(ALL) >= 3 * 18


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.name)
def test_release_files_are_what_they_say(path):
    info = release(path)
    assert content_hash(info["files"]) == info["content_hash"]
    assert info["key"] == f"{info['process_id']}@{info['content_hash'][:16]}"
    for name in checkpoints(path):
        document = golden(path, name)
        manifest, state = document["manifest"], json.loads(document["state"])
        assert set(manifest) == MANIFEST_KEYS
        assert manifest["checkpoint"] == name and manifest["definition_key"] == info["key"]
        assert manifest["spiffworkflow_version"] == info["spiffworkflow_version"]
        assert manifest["serializer_version"] == state["serializer_version"] == info["serializer_version"]
        assert state["spec"] == {"typename": "SpecRef", "key": info["key"]}  # as Yordam stores it
    manifests = [golden(path, n)["manifest"] for n in checkpoints(path)]
    assert any(len(m["open_tasks"]) == 2 for m in manifests)  # a parallel branch
    assert any(m["next_timer_at"] and not m["open_tasks"] for m in manifests)  # a timer pending
    assert manifests[-1]["completed"] and not manifests[-1]["open_tasks"]
    assert info["stages"] and all(isinstance(stage, str) and stage for stage in info["stages"])


def _runtime(path: Path, at: str) -> tuple[ProcessRuntime, FakeClock]:
    clock = FakeClock(datetime.fromisoformat(at))
    return ProcessRuntime(clock), clock


def _bpmn_ids(outcome) -> list[str]:
    return sorted(t.bpmn_id for t in outcome.open_tasks)


@pytest.mark.parametrize("path, name", ALL, ids=[f"{p.name}/{n}" for p, n in ALL])
def test_golden_state_loads_and_continues(path, name):
    """Load the state, see the tasks its manifest expects, then follow the recorded plan to the next checkpoint."""
    info, document = release(path), golden(path, name)
    manifest, state = document["manifest"], document["state"]
    runtime, clock = _runtime(path, manifest["saved_at"])
    key, loader = info["key"], lambda: info["spec_json"]

    seen = runtime.inspect(key, loader, state)
    assert _bpmn_ids(seen) == sorted(manifest["open_tasks"])
    assert seen.completed is manifest["completed"]
    due = seen.next_timer_at.isoformat() if seen.next_timer_at else None
    assert due == manifest["next_timer_at"]
    if manifest["serializer_version"] == _serializer().VERSION:  # saved by this format: restores to the same text
        assert dump_state(load_state(state, runtime._resolve), key) == state

    plan = info["plan"]
    following = next((item["checkpoint"] for item in plan[manifest["continues_at_step"]:] if "checkpoint" in item),
                     None)
    if following is None:  # closed: nothing left to do, and waking it changes nothing
        woken = runtime.wake(key, loader, state)
        assert woken.completed and not woken.open_tasks
        return
    outcome = seen
    for item in plan[manifest["continues_at_step"]:]:
        if "checkpoint" in item:
            break
        if "complete" in item:
            task = next(t for t in outcome.open_tasks if t.bpmn_id == item["complete"])
            outcome = runtime.complete_task(key, loader, outcome.state, task.id, item["data"])
            assert task.id not in {t.id for t in outcome.open_tasks}
        else:
            clock.advance(days=item["advance_days"])
            outcome = runtime.wake(key, loader, outcome.state)
    expected = golden(path, following)["manifest"]
    assert _bpmn_ids(outcome) == sorted(expected["open_tasks"])
    assert outcome.completed is expected["completed"]
    saved = json.loads(outcome.state)
    assert saved["serializer_version"] == _serializer().VERSION  # saved again in today's format
    assert saved["spec"] == {"typename": "SpecRef", "key": key}
    assert dump_state(load_state(outcome.state, runtime._resolve), key) == outcome.state


# --- through the real services, on SQLite and PostgreSQL -------------------------------------------------------

def _install(engine, info: dict) -> int:
    """The definition version as the release stored it (its files and its spec JSON). The throw-away database
    already holds the shipped set: when the release's files are the same, its row gets the release's spec JSON,
    as if that release had published it."""
    with engine.db.write() as session:
        row = session.scalar(select(DefinitionVersion).where(DefinitionVersion.process_id == info["process_id"],
                                                             DefinitionVersion.content_hash == info["content_hash"]))
        if row is None:
            number = session.scalar(select(func.max(DefinitionVersion.version))
                                    .where(DefinitionVersion.process_id == info["process_id"])) or 0
            row = DefinitionVersion(process_id=info["process_id"], version=number + 1,
                                    content_hash=info["content_hash"], files=info["files"], stages=info["stages"],
                                    spec_json=info["spec_json"], note="golden", published_at=engine.now())
            session.add(row)
        row.spec_json, row.files = info["spec_json"], info["files"]
        session.flush()
        assert row.key == info["key"]
        return row.id


def _case_at(engine, path: Path, name: str) -> int:
    """A case of the test database holding the golden state, its tasks projected as the services would."""
    info, state = release(path), golden(path, name)["state"]
    version_id = _install(engine, info)
    case_id = open_case(engine)["id"]
    with engine.db.write() as session:
        case = lock_case(session, case_id)
        case.definition_version_id = version_id
        version = session.get(DefinitionVersion, version_id)
        apply_outcome(engine, session, case, engine.runtime.inspect(version.key, engine.spec_loader(version), state))
    return case_id


def _open_bpmn_ids(engine, case_id) -> list[str]:
    with engine.db.read() as session:
        return sorted(session.scalars(select(Task.bpmn_id).where(Task.case_id == case_id, Task.state == "open",
                                                                 Task.kind == "process")))


def _walk(engine, clock, path: Path, name: str, case_id: int) -> int:
    """Follow the plan from checkpoint ``name`` to the end through the services; check every checkpoint passed."""
    info = release(path)
    start = golden(path, name)["manifest"]["continues_at_step"]
    checked = 0
    for item in info["plan"][start:]:
        if "complete" in item:
            complete_step(engine, case_id, item["form_key"], item["data"])
        elif "advance_days" in item:
            clock.advance(days=item["advance_days"])
            assert tick(engine).fired >= 1
        else:
            expected = golden(path, item["checkpoint"])["manifest"]
            assert _open_bpmn_ids(engine, case_id) == sorted(expected["open_tasks"]), item["checkpoint"]
            with engine.db.read() as session:
                case = session.get(Case, case_id)
                assert json.loads(case.state)["serializer_version"] == _serializer().VERSION
                assert (case.status == "closed") is expected["completed"]
            roundtrip_state(engine, case_id)
            checked += 1
    return checked


def test_oldest_golden_case_walks_to_closed_through_the_services(engine, clock):
    """The oldest format, caught in a parallel branch, continues through the services to closed: the returns,
    the high-risk confirmation, the follow-up timer fired by the scheduler, the follow-up visit."""
    oldest = min(RELEASES, key=lambda p: tuple(int(n) for n in release(p)["spiffworkflow_version"].split(".")))
    case_id = _case_at(engine, oldest, "02_identification_urgent_parallel")
    assert _open_bpmn_ids(engine, case_id) == ["urgent_response", "urgent_supervisor_review"]
    assert _walk(engine, clock, oldest, "02_identification_urgent_parallel", case_id) == 16
    with engine.db.read() as session:
        case = session.get(Case, case_id)
        assert case.status == "closed" and case.closed_at is not None


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.name)
def test_each_release_continues_through_the_services(engine, clock, path):
    """A case waiting for the high-risk confirmation: confirmed, it waits for the follow-up timer, which the
    scheduler fires 90 days later; the follow-up visit closes it."""
    case_id = _case_at(engine, path, "15_closure_high_risk_confirmation")
    assert _open_bpmn_ids(engine, case_id) == ["confirm_closure_high_risk"]
    assert _walk(engine, clock, path, "15_closure_high_risk_confirmation", case_id) == 3
    with engine.db.read() as session:
        assert session.get(Case, case_id).status == "closed"
