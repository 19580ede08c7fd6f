"""Write the golden case states of a release: ``python -m tests.golden.make_golden`` (from the repository root).

Walks one case of the shipped default process (``workflows/`` and ``forms/``) along ``PLAN`` and saves the case's
state at every checkpoint: at each stage, in a parallel branch, after a return, with a timer pending, closed.

* Without options it writes ``yordam-<version>_spiff-<version>/`` for the Yordam version of ``setup.cfg`` and the
  SpiffWorkflow installed here, through the real engine services on a throw-away SQLite database: every state is
  the ``cases.state`` document exactly as Yordam saved it.
* ``--spiff 3.0.0 3.1.2 ...`` writes ``legacy_spiff-<version>/`` for older SpiffWorkflow releases, each installed
  with pip into a throw-away virtualenv where ``legacy_writer.py`` runs the same plan with the same serializer
  configuration (Yordam itself cannot import them).

A directory that exists is left alone (golden files of a released version never change) unless ``--force``.
Each directory holds ``release.json`` (versions, the definition version as stored — files, content hash, spec
JSON — and the plan with the cleaned answers) and one ``<checkpoint>.json`` per checkpoint: a manifest (versions,
open tasks expected, the plan step it continues at) and the state document.
"""
from __future__ import annotations

import argparse
import configparser
import json
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib.metadata import version as installed_version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROCESS_ID = "case_management"
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday, as in tests/conftest.py
TIMER_WAIT_DAYS = 91  # the follow-up timer waits "P90D"


def plan() -> list[dict]:
    """The walk: checkpoints between steps. A step completes the open task ``complete`` (a BPMN id) of form
    ``form_key`` with the demo's sample answers, or moves the clock ``advance_days`` so that due timers fire."""
    from engine.services.demo_answers import answers, approval, assessment, closure, monitoring, referral

    def step(bpmn_id, form_key, data):
        return {"complete": bpmn_id, "form_key": form_key, "data": data}

    return [
        {"checkpoint": "01_identification"},
        step("register_referral", "register_referral", referral(urgent=True)),
        {"checkpoint": "02_identification_urgent_parallel"},
        step("urgent_response", "urgent_response", answers("urgent_response")),
        {"checkpoint": "03_identification_parallel_half_joined"},
        step("urgent_supervisor_review", "urgent_supervisor_review", answers("urgent_supervisor_review")),
        {"checkpoint": "04_assessment"},
        step("home_visit_assessment", "needs_assessment", assessment()),
        {"checkpoint": "05_assessment_recognition"},
        step("recognition_of_need", "recognition_of_need", approval("returned")),
        {"checkpoint": "06_assessment_returned"},
        step("home_visit_assessment", "needs_assessment", assessment()),
        step("recognition_of_need", "recognition_of_need", approval("approved")),
        {"checkpoint": "07_planning"},
        step("draft_service_plan", "service_plan", answers("service_plan")),
        {"checkpoint": "08_planning_approval"},
        step("approve_service_plan", "plan_approval", approval("returned")),
        {"checkpoint": "09_planning_returned"},
        step("draft_service_plan", "service_plan", answers("service_plan")),
        step("approve_service_plan", "plan_approval", approval("approved")),
        {"checkpoint": "10_delivery"},
        step("record_service_delivery", "service_delivery", answers("service_delivery")),
        {"checkpoint": "11_monitoring"},
        step("monitoring_visit", "monitoring_visit", monitoring("continue")),
        {"checkpoint": "12_monitoring_next_visit"},
        step("monitoring_visit", "monitoring_visit", monitoring("close")),
        {"checkpoint": "13_closure"},
        step("propose_closure", "closure_proposal", closure(follow_up=True)),
        {"checkpoint": "14_closure_approval"},
        step("approve_closure", "closure_approval", approval("approved")),
        {"checkpoint": "15_closure_high_risk_confirmation"},
        step("confirm_closure_high_risk", "closure_confirmation", approval("approved")),
        {"checkpoint": "16_closure_follow_up_timer_pending"},
        {"advance_days": TIMER_WAIT_DAYS},
        {"checkpoint": "17_closure_follow_up_visit"},
        step("follow_up_visit", "follow_up_visit", answers("follow_up_visit")),
        {"checkpoint": "18_closed"},
    ]


def cleaned_plan(files: dict[str, str]) -> list[dict]:
    """The plan with each step's answers as the form's validation passes them to the process."""
    from forms import FormDefinition
    steps = plan()
    for item in steps:
        if "complete" in item:
            form = FormDefinition.from_json(files[item["form_key"] + ".form.json"], key=item["form_key"])
            item["data"] = form.validate(item["data"])
    return steps


def yordam_version() -> str:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config["metadata"]["version"]


def shipped_files() -> dict[str, str]:
    from engine.process.definitions import read_definition_files
    return read_definition_files(ROOT / "workflows", ROOT / "forms")


# --- the current release, through the real services -----------------------------------------------------------

def write_current(force: bool) -> Path:
    from sqlalchemy import select

    from engine.clock import FakeClock
    from engine.core import Engine
    from engine.db.migrate import upgrade
    from engine.db.models import Case, Task
    from engine.process.serialization import _serializer
    from engine.services import cases, definitions
    from engine.services.demo import actor, complete_step, load_org_and_users
    from engine.services.scheduler import tick
    from engine.settings import Settings

    spiff = installed_version("SpiffWorkflow")
    target = HERE / f"yordam-{yordam_version()}_spiff-{spiff}"
    if target.exists() and not force:
        print(f"{target.name} exists; golden files of a release are never rewritten (--force to do it anyway)")
        return target
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/golden.sqlite"
        upgrade(url)
        clock = FakeClock(START)
        engine = Engine(Settings(database_url=url, secret_key="golden"), clock=clock)
        load_org_and_users(engine)
        version, _ = definitions.publish_shipped(engine)
        worker = actor(engine, "worker1")
        case_id = cases.open_case(engine, worker, {
            "subject": {"kind": "person", "full_name": "Oʻgʻiloy Toʻxtayeva", "birth_date": "1950-03-15",
                        "sex": "female"},
            "mahalla_id": min(worker.mahalla_ids), "channel": "mahalla",
            "summary": "Lives alone; no heating."})["id"]
        steps = cleaned_plan(version.files)
        checkpoints = {}
        for item in steps:
            if "complete" in item:
                complete_step(engine, case_id, item["form_key"], item["data"])
            elif "advance_days" in item:
                clock.advance(days=item["advance_days"])
                tick(engine)
            else:
                with engine.db.read() as session:
                    case = session.get(Case, case_id)
                    open_tasks = session.scalars(select(Task.bpmn_id).where(
                        Task.case_id == case_id, Task.state == "open", Task.kind == "process")
                        .order_by(Task.created_at, Task.id)).all()
                    checkpoints[item["checkpoint"]] = {
                        "state": case.state, "open_tasks": list(open_tasks), "completed": case.status == "closed",
                        "next_timer_at": case.next_timer_at.isoformat() if case.next_timer_at else None,
                        "saved_at": clock.now().isoformat()}
        with engine.db.read() as session:
            stored = session.scalar(select(definitions.DefinitionVersion).where(
                definitions.DefinitionVersion.id == version.id))
            release = {"yordam_version": yordam_version(), "spiffworkflow_version": spiff,
                       "serializer_version": _serializer().VERSION,
                       "writer": "Yordam's engine services (cases.state and definition_versions as stored)",
                       "process_id": stored.process_id, "content_hash": stored.content_hash, "key": stored.key,
                       "start": START.isoformat(), "plan": steps, "spec_json": stored.spec_json,
                       "files": dict(stored.files), "stages": list(stored.stages)}
        engine.db.dispose()
    _write(target, release, checkpoints)
    return target


# --- older SpiffWorkflow releases, in throw-away virtualenvs ---------------------------------------------------

def write_legacy(spiff: str, force: bool) -> Path:
    from engine.process.definitions import compile_definition, content_hash
    from engine.services.demo_answers import SAMPLE_START_DATA

    target = HERE / f"legacy_spiff-{spiff}"
    if target.exists() and not force:
        print(f"{target.name} exists; golden files of a release are never rewritten (--force to do it anyway)")
        return target
    files = shipped_files()
    digest = content_hash(files)
    key = f"{PROCESS_ID}@{digest[:16]}"
    steps = cleaned_plan(files)
    start_data = dict(SAMPLE_START_DATA)
    with tempfile.TemporaryDirectory() as venv:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([f"{venv}/bin/pip", "install", "-q", f"SpiffWorkflow=={spiff}"], check=True)
        sent = {"files": files, "process_id": PROCESS_ID, "key": key, "start": START.isoformat(),
                "start_data": start_data, "steps": steps}
        done = subprocess.run([f"{venv}/bin/python", str(HERE / "legacy_writer.py")], input=json.dumps(sent),
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"SpiffWorkflow {spiff}: the writer failed:\n{done.stderr}")
    written = json.loads(done.stdout)
    assert written["spiff_version"] == spiff, written["spiff_version"]
    release = {"yordam_version": yordam_version(), "spiffworkflow_version": spiff,
               "serializer_version": written["serializer_version"],
               "writer": "tests/golden/legacy_writer.py: Yordam's serializer configuration and runtime steps on "
                         "this SpiffWorkflow release (no Yordam release ran on it)",
               "process_id": PROCESS_ID, "content_hash": digest, "key": key, "start": START.isoformat(),
               "start_data": start_data, "plan": steps, "spec_json": written["spec_json"], "files": files,
               "stages": compile_definition(files, PROCESS_ID).stages}
    _write(target, release, written["checkpoints"])
    return target


def _write(target: Path, release: dict, checkpoints: dict) -> None:
    target.mkdir(exist_ok=True)
    names = [item["checkpoint"] for item in release["plan"] if "checkpoint" in item]
    assert list(checkpoints) == names, (list(checkpoints), names)
    (target / "release.json").write_text(json.dumps(release, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    for index, item in enumerate(release["plan"]):
        if "checkpoint" not in item:
            continue
        saved = checkpoints[item["checkpoint"]]
        manifest = {"yordam_version": release["yordam_version"],
                    "spiffworkflow_version": release["spiffworkflow_version"],
                    "serializer_version": json.loads(saved["state"])["serializer_version"],
                    "definition_key": release["key"], "checkpoint": item["checkpoint"],
                    "open_tasks": saved["open_tasks"], "completed": saved["completed"],
                    "next_timer_at": saved["next_timer_at"], "saved_at": saved["saved_at"],
                    "continues_at_step": index + 1}
        assert manifest["serializer_version"] == release["serializer_version"]
        document = {"manifest": manifest, "state": saved["state"]}
        (target / f"{item['checkpoint']}.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(f"{target.name}: {len(checkpoints)} checkpoints")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spiff", nargs="*", default=[], metavar="VERSION",
                        help="also write states of these older SpiffWorkflow releases (pip installs each into a "
                             "throw-away virtualenv)")
    parser.add_argument("--force", action="store_true", help="rewrite directories that exist")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    write_current(args.force)
    for spiff in args.spiff:
        write_legacy(spiff, args.force)


if __name__ == "__main__":
    main()
