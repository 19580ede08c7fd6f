"""Engine floor: what SpiffWorkflow alone costs per task completion, against Yordam's full task completion through
its services, on Yordam's default process and on the reference process ``bench/peer/peer_case.bpmn``.

    .venv/bin/python bench/floor.py                  # SQLite
    .venv/bin/python bench/floor.py --postgres       # a throw-away PostgreSQL
    .venv/bin/python bench/floor.py --quick          # a few cases, for development

Floor (in memory, no database): the process is parsed once; each completion loads the case's state document,
completes one user task with the demo's sample answers, runs the engine to the next wait state and serialises
the state again (``engine.process.runtime.ProcessRuntime.complete_task``, which is what the services call).
Beside it, the library with nothing of Yordam's around it: the workflow object kept in memory (no load, no
save), and the library's own JSON serializer saving and loading the whole workflow with its spec.

Full completion: ``engine.services.tasks.complete_task`` — lock the case, load and check the task, validate
the answers against the form, complete the task in the runtime, project the open tasks, deadlines and timers,
write the audit events, commit. Every case walks the plain path of the default process (register referral …
closure approved, 9 completions, the case closes), each completion by the user who would make it
(``demo.answerer_id``). The reference process is published as its own definition set (process id
``peer_case``) and walked through its ten tasks; opening a case there is timed as "start → first task".

Asserts only correctness: every completion succeeds and every case ends closed with no open task left.
"""
from __future__ import annotations

import gc
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (ROOT, START, Databases, Run, actor, base_parser, line, make_engine, profiled,  # noqa: E402
                          summary)

from sqlalchemy import func, select  # noqa: E402

from engine.clock import FakeClock  # noqa: E402
from engine.db.models import Case, Task, User  # noqa: E402
from engine.process.definitions import compile_definition, read_definition_files  # noqa: E402
from engine.process.runtime import ProcessRuntime  # noqa: E402
from engine.services import cases, definitions, tasks  # noqa: E402
from engine.services.actors import Actor  # noqa: E402
from engine.services.demo import PLAIN, answerer_id  # noqa: E402

PEER_DIR = ROOT / "bench" / "peer"
PEER_PROCESS = "peer_case"
PEER_STEPS = [f"task_{n:02d}" for n in range(1, 11)]


def peer_answers(form_key: str) -> dict:
    prefix = "t" + form_key[len("task_"):]
    return {f"{prefix}_note": f"Notes for {form_key}: visited, talked to the family.", f"{prefix}_score": 7,
            f"{prefix}_ok": True}


# (form key, answers) in the order a case walks them
DEFAULT_WALK = [(key, make()) for key, make in PLAIN]
PEER_WALK = [(key, peer_answers(key)) for key in PEER_STEPS]


def open_payload(mahalla_id: int, n: int) -> dict:
    return {"subject": {"kind": "person", "full_name": f"Bench Mijoz {n}", "birth_date": "1950-03-15",
                        "sex": "female"},
            "mahalla_id": mahalla_id, "channel": "mahalla", "summary": "Referred for help with living conditions."}


@contextmanager
def starting(process_id: str):
    """``open_case`` starts the latest version of the default process; for the reference process it is pointed
    at the ``peer_case`` set instead (the only change to the service path in this benchmark)."""
    original = definitions.latest
    definitions.latest = lambda session, pid=process_id: original(session, pid)
    try:
        yield
    finally:
        definitions.latest = original


# --- the floor -----------------------------------------------------------------------------------------------

def compiled(process_id: str):
    if process_id == PEER_PROCESS:
        files = read_definition_files(PEER_DIR)
    else:
        files = read_definition_files(ROOT / "workflows", ROOT / "forms")
    return compile_definition(files, process_id)


def floor(process_id: str, walk, cases_count: int) -> dict:
    """Runtime floor and raw-library figures, in memory."""
    from forms import FormDefinition
    definition = compiled(process_id)
    forms = {key: FormDefinition.from_json(definition.files[key + ".form.json"], key=key) for key, _ in walk}
    cleaned = [(key, forms[key].validate(data)) for key, data in walk]
    clock = FakeClock(START)
    runtime = ProcessRuntime(clock)
    key = f"{process_id}@bench"
    loader = lambda: definition.spec_json  # noqa: E731
    seed = {"case_id": 1, "channel": "mahalla", "summary": "Bench", "subject_kind": "person", "mahalla_id": 1,
            "district_id": 1}

    def walk_once(timings, starts, sizes):
        began = time.perf_counter()
        outcome = runtime.start(key, loader, dict(seed))
        starts.append(time.perf_counter() - began)
        for form_key, data in cleaned:
            task = next(t for t in outcome.open_tasks if t.form_key == form_key)
            began = time.perf_counter()
            outcome = runtime.complete_task(key, loader, outcome.state, task.id, data)
            timings.setdefault(form_key, []).append(time.perf_counter() - began)
            sizes.setdefault(form_key, []).append(len(outcome.state))
        assert outcome.completed, f"{process_id}: the walk did not end the process"

    walk_once({}, [], {})  # warm-up: spec cache, script compilation
    timings, starts, sizes = {}, [], {}
    for _ in range(cases_count):
        walk_once(timings, starts, sizes)
    runtime_all = [t for values in timings.values() for t in values]

    # The library alone: the workflow kept in memory, tasks completed and the engine stepped, nothing saved.
    from SpiffWorkflow import TaskState
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from engine.process.serialization import spec_from_json
    spec, subprocess_specs = spec_from_json(definition.spec_json)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    raw, raw_json = [], []

    def raw_walk(save_load: bool, out: list):
        with runtime._clocked():
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=runtime.script_engine)
            workflow.get_next_task(state=TaskState.READY).data.update(seed)
            workflow.do_engine_steps()
            text = serializer.serialize_json(workflow) if save_load else None
            for form_key, data in cleaned:
                began = time.perf_counter()
                if save_load:
                    workflow = serializer.deserialize_json(text)
                    workflow.script_engine = runtime.script_engine
                ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                         if t.task_spec.extensions.get("properties", {}).get("formKey") == form_key]
                ready[0].set_data(**data)
                ready[0].run()
                workflow.do_engine_steps()
                if save_load:
                    text = serializer.serialize_json(workflow)
                out.append(time.perf_counter() - began)
            assert workflow.is_completed()

    raw_walk(False, [])
    raw_walk(True, [])
    for _ in range(cases_count):
        raw_walk(False, raw)
        raw_walk(True, raw_json)
    return {
        "runtime_completion": summary(runtime_all),
        "runtime_start": summary(starts),
        "runtime_per_step": {k: summary(v) for k, v in timings.items()},
        "state_bytes_per_step": {k: round(sum(v) / len(v)) for k, v in sizes.items()},
        "library_in_memory": summary(raw),
        "library_json_save_load": summary(raw_json),
    }


# --- the full path -------------------------------------------------------------------------------------------

def full(url: str, process_id: str, walk, cases_count: int, profile: str | None = None) -> dict:
    clock = FakeClock(START)
    engine = make_engine(url, clock)
    if process_id == PEER_PROCESS:
        definitions.publish(engine, read_definition_files(PEER_DIR), process_id=PEER_PROCESS, note="benchmark")
    worker = actor(engine, "worker1")
    mahalla_id = min(worker.mahalla_ids)
    actors: dict[int, Actor] = {}

    def who(session, task) -> Actor:
        user_id = answerer_id(session, task)
        if user_id not in actors:
            actors[user_id] = Actor.of(session.get(User, user_id))
        return actors[user_id]

    def open_cases(count, offset):
        ids, times = [], []
        with starting(process_id):
            for n in range(count):
                clock.advance(seconds=1)
                began = time.perf_counter()
                ids.append(cases.open_case(engine, worker, open_payload(mahalla_id, offset + n))["id"])
                times.append(time.perf_counter() - began)
        return ids, times

    def step(case_ids, form_key, data, timings):
        with engine.db.read() as session:
            todo = []
            for case_id in case_ids:
                task = session.scalar(select(Task).where(Task.case_id == case_id, Task.state == "open",
                                                         Task.form_key == form_key))
                assert task is not None, f"case {case_id} has no open {form_key} task"
                todo.append((task.id, who(session, task)))
        for task_id, by in todo:
            clock.advance(seconds=1)
            began, cpu = time.perf_counter(), time.process_time()
            tasks.complete_task(engine, by, task_id, {"data": data})
            timings.setdefault(form_key, []).append(time.perf_counter() - began)
            cpu_used.append(time.process_time() - cpu)

    cpu_used: list[float] = []  # CPU time of this process: less disturbed than wall time by other work
    warm, _ = open_cases(3, 0)  # warm-up: caches of specs, forms, translations; the connection pool
    for form_key, data in walk:
        step(warm, form_key, data, {})
    cpu_used.clear()
    gc.collect()
    timings: dict[str, list[float]] = {}
    with profiled(bool(profile), profile or ""):
        case_ids, starts = open_cases(cases_count, 1000)
        for form_key, data in walk:
            step(case_ids, form_key, data, timings)
    with engine.db.read() as session:
        closed = session.scalar(select(func.count()).select_from(Case).where(Case.id.in_(case_ids),
                                                                            Case.status == "closed"))
        still_open = session.scalar(select(func.count()).select_from(Task).where(Task.case_id.in_(case_ids),
                                                                                Task.state == "open"))
        completed = session.scalar(select(func.count()).select_from(Task).where(Task.case_id.in_(case_ids),
                                                                               Task.state == "completed"))
    engine.db.dispose()
    expected = cases_count * len(walk)
    assert closed == cases_count and still_open == 0 and completed == expected, (closed, still_open, completed)
    every = [t for values in timings.values() for t in values]
    return {"completion": summary(every), "completion_cpu_ms_mean": round(sum(cpu_used) / len(cpu_used) * 1000, 3),
            "start_to_first_task": summary(starts),
            "per_step": {k: summary(v) for k, v in timings.items()}, "cases": cases_count,
            "completions": len(every)}


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--cases", type=int, help="cases walked per process (default 200, --quick 10)")
    args = parser.parse_args()
    count = args.cases or (10 if args.quick else 200)
    kind = "postgresql" if args.postgres else "sqlite"
    run = Run("floor", kind, args, quick=args.quick)
    with Databases(postgres=args.postgres) as dbs:
        run.machine(dbs.server.url if dbs.server else None)
        for process_id, walk in (("case_management", DEFAULT_WALK), (PEER_PROCESS, PEER_WALK)):
            print(f"## {process_id}: {count} cases × {len(walk)} completions", flush=True)
            low = floor(process_id, walk, count)
            print(line("  floor: runtime load+complete+steps+save", low["runtime_completion"]))
            print(line("  floor: library in memory (no save/load)", low["library_in_memory"]))
            print(line("  floor: library JSON save+load (spec inside)", low["library_json_save_load"]))
            print(line("  floor: runtime start → first task", low["runtime_start"]))
            high = full(dbs.fresh(), process_id, walk, count,
                        profile=f"floor-{kind}-{process_id}" if args.profile else None)
            print(line(f"  full completion ({kind})", high["completion"])
                  + f"; CPU of this process {high['completion_cpu_ms_mean']:.2f} ms per completion")
            print(line(f"  full start → first task ({kind})", high["start_to_first_task"]))
            for form_key, s in high["per_step"].items():
                f = low["runtime_per_step"][form_key]
                print(f"    {form_key:<22} full p50 {s['p50_ms']:6.2f} ms p95 {s['p95_ms']:6.2f} ms | floor p50 "
                      f"{f['p50_ms']:5.2f} ms | state {low['state_bytes_per_step'][form_key]:,} B")
            ratio_p50 = high["completion"]["p50_ms"] / low["runtime_completion"]["p50_ms"]
            ratio_mean = high["completion"]["mean_ms"] / low["runtime_completion"]["mean_ms"]
            print(f"  ratio full / floor: p50 {ratio_p50:.1f}×, mean {ratio_mean:.1f}×")
            run.results[process_id] = {"floor": low, "full": high, "ratio_p50": round(ratio_p50, 2),
                                       "ratio_mean": round(ratio_mean, 2)}
            if process_id == "case_management":
                run.target("ratio", "full completion p50 / floor p50", 4.0, round(ratio_p50, 2))
                run.target("p95", "full completion p95 (ms)", 25.0, high["completion"]["p95_ms"])
                if kind == "sqlite":
                    run.target("throughput", "completions/s, one process", 200.0,
                               high["completion"]["per_second"], better="higher")
            else:
                run.target("peer_completion_p50", "reference process: completion p50 (ms), peer 77", 77.0,
                           high["completion"]["p50_ms"])
                run.target("peer_start_p50", "reference process: start → first task p50 (ms), peer ≈ 100", 100.0,
                           high["start_to_first_task"]["p50_ms"])
    run.finish()


if __name__ == "__main__":
    main()
