"""The process runtime: start a case's workflow, complete one of its tasks, wake its timers.

Every call takes the state document and returns an ``Outcome`` (new state, open human tasks, next timer, data).
Nothing here touches the database: services decide when to commit; on any exception they roll back and the
half-run workflow object is simply dropped (brief §1.3).
"""
from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.specs.event_definitions import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, _EndJoin
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException

from ..errors import Conflict, NotFound, ScriptFailed
from .scripting import ScriptBudgetExceeded, YordamScriptEngine
from .serialization import DeepWorkflow, dump_state, load_state, spec_from_json

#: A step that runs more automatic tasks than this without reaching a wait state is stopped (scenario S8).
ENGINE_STEP_BUDGET = 2_000

# --- the engine's clock reaches SpiffWorkflow's timers ----------------------------------------------------
_clock = contextvars.ContextVar("yordam_clock", default=None)
#: datetime's resolution. Spiff fires a timer when ``due < now``; the scheduler wakes a case when ``due <= now``.
#: Due timers are checked with the clock one tick ahead, so a timer due at exactly the wake instant fires then
#: (else a wake at the due instant would do nothing, and a fire-once scheduler row would never come again).
#: Due instants themselves are always computed from the true clock.
_TICK = timedelta(microseconds=1)
_tick_ahead = contextvars.ContextVar("yordam_tick_ahead", default=False)


class _ClockedDatetime(datetime):
    """Spiff's timer module reads ``datetime.now(timezone.utc)``; under this class it reads the engine clock."""

    @classmethod
    def now(cls, tz=None):
        clock = _clock.get()
        now = clock.now() if clock is not None else datetime.now(timezone.utc)
        if _tick_ahead.get():
            now += _TICK
        return now.astimezone(tz) if tz else now.replace(tzinfo=None)


spiff_timer.datetime = _ClockedDatetime


@contextmanager
def _ticked(ahead: bool = True):
    token = _tick_ahead.set(ahead)
    try:
        yield
    finally:
        _tick_ahead.reset(token)


def _refresh_timers(workflow) -> None:
    """``refresh_timers`` with ``due <= now`` as the test (waiting timers only: their due instants are fixed)."""
    with _ticked():
        workflow.refresh_timers()


# --- cycle timers coalesce ----------------------------------------------------------------------------------
# Spiff fires one cycle per timer refresh while the cycle's next occurrence is in the past, so after downtime
# every missed occurrence is replayed (a daily reminder down for 3 days opens 3 tasks; brief §0.8, §2.4). Inside
# a runtime operation a due cycle fires once: the missed occurrences before the last due one are skipped (they
# count against R<n>, so the timer still ends when its n-th occurrence is past) and the next occurrence is the
# first one after now. ``Outcome.coalesced`` says how many were skipped.
_coalesced = contextvars.ContextVar("yordam_coalesced", default=None)
_library_cycle_complete = getattr(CycleTimerEventDefinition.cycle_complete, "library_original",
                                  CycleTimerEventDefinition.cycle_complete)


def _coalescing_cycle_complete(self, my_task):
    tally = _coalesced.get()
    if tally is not None:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:  # first visit: evaluate the expression as the library would
            with _ticked(False):
                expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
                cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(expression)
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
            my_task._set_internal_data(event_value=event_value)
        with _ticked():  # an occurrence at exactly now is due (see _TICK)
            tally[0] += skip_missed_cycles(event_value, spiff_timer.datetime.now(timezone.utc))
            return _library_cycle_complete(self, my_task)
    return _library_cycle_complete(self, my_task)


_coalescing_cycle_complete.library_original = _library_cycle_complete
CycleTimerEventDefinition.cycle_complete = _coalescing_cycle_complete


def _keeping_cycle_branches(self, my_task):
    """A non-interrupting cycle timer on an activity stops when the activity ends, but the branches it already
    started go on (BPMN). Spiff cancels the waiting timer, and cancelling a task removes its unfinished children
    from the tree: the open escalation tasks would silently disappear. Instead the timer is finished in place."""
    finished, cancel = _library_boundary_check(self, my_task)
    if finished and _clock.get() is not None:
        keep = [t for t in cancel if t.children and t.state == TaskState.WAITING
                and isinstance(getattr(t.task_spec, "event_definition", None), CycleTimerEventDefinition)]
        for timer in keep:
            _finish_cycle(timer)
        cancel = [t for t in cancel if t not in keep]
    return finished, cancel


_library_boundary_check = getattr(BoundaryEventJoin._check_threshold_structured, "library_original",
                                  BoundaryEventJoin._check_threshold_structured)
_keeping_cycle_branches.library_original = _library_boundary_check
BoundaryEventJoin._check_threshold_structured = _keeping_cycle_branches


def _finish_cycle(timer) -> None:
    """End a waiting cycle timer without cancelling it: no further occurrences; it completes at its next update
    and the branches it started stay as they are."""
    timer.internal_data.pop("event_value", None)
    timer.internal_data["event_fired"] = True


def skip_missed_cycles(event_value: dict, now: datetime) -> int:
    """Move a cycle timer's ``next`` to its last occurrence before ``now`` so that it fires once, and return how
    many earlier occurrences were skipped. ``event_value`` is Spiff's ``{'cycles', 'next', 'duration'}``;
    ``cycles`` is -1 for an unbounded ``R/`` cycle."""
    cycles = event_value["cycles"]
    period = timedelta(seconds=event_value["duration"])
    if cycles == 0 or period <= timedelta(0):
        return 0
    next_due = datetime.fromisoformat(event_value["next"])
    if not next_due < now:  # the library's own test: an occurrence is due once it is strictly past
        return 0
    due = -(-(now - next_due) // period)  # occurrences next, next+period, ... strictly before now
    if cycles > 0:
        due = min(due, cycles)
    skipped = due - 1
    if skipped:
        event_value["next"] = (next_due + skipped * period).isoformat()
        if cycles > 0:
            event_value["cycles"] = cycles - skipped
    return skipped


@dataclass(frozen=True)
class OpenTask:
    """A human task waiting for someone, as the rest of the engine sees it."""

    id: str
    bpmn_id: str
    title: str
    lane: str | None
    properties: dict
    documentation: str | None

    @property
    def form_key(self):
        return self.properties.get("formKey")

    @property
    def stage(self):
        return self.properties.get("stage")


@dataclass
class Outcome:
    state: str
    open_tasks: list[OpenTask]
    completed: bool
    data: dict
    next_timer_at: datetime | None
    executed: list[str]  # BPMN ids of the tasks run during this step, in order (for the timeline)
    coalesced: int = 0  # missed occurrences of cycle timers skipped because a later one fired instead


class _StepBudget:
    def __init__(self):
        self.executed = []

    def __call__(self, task):
        self.executed.append(task.task_spec.bpmn_id or task.task_spec.name)
        if len(self.executed) > ENGINE_STEP_BUDGET:
            raise ScriptBudgetExceeded(f"the process ran more than {ENGINE_STEP_BUDGET} automatic steps without "
                                       "reaching a user task or a timer (a loop with no wait state?)")


class ProcessRuntime:
    def __init__(self, clock):
        self.clock = clock
        self.script_engine = YordamScriptEngine()
        self._specs: dict[str, tuple] = {}
        self._lock = threading.Lock()

    # -- specs -------------------------------------------------------------------------------------------
    def ensure_spec(self, key: str, spec_json_loader):
        """Restore and cache the spec of a version once per process; ``spec_json_loader()`` gives its JSON."""
        if key not in self._specs:
            spec = spec_from_json(spec_json_loader())
            with self._lock:
                self._specs.setdefault(key, spec)
        return self._specs[key]

    def _resolve(self, key, name):
        spec, subprocess_specs = self._specs[key]
        return spec if name is None else subprocess_specs[name]

    # -- operations --------------------------------------------------------------------------------------
    def start(self, key: str, spec_json_loader, data: dict) -> Outcome:
        spec, subprocess_specs = self.ensure_spec(key, spec_json_loader)
        with self._clocked():
            workflow = DeepWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
            workflow.get_next_task(state=TaskState.READY).data.update(data)
            return self._advance(workflow, key)

    def complete_task(self, key, spec_json_loader, state: str, task_id: str, form_data: dict) -> Outcome:
        workflow = self._load(key, spec_json_loader, state)
        task = self._ready_human_task(workflow, task_id)
        with self._clocked():
            try:
                _set_answers(task, form_data)
                task.run()
            except (SpiffWorkflowException, ScriptBudgetExceeded) as err:
                raise _script_failure(err, task) from None
            return self._advance(workflow, key)

    def wake(self, key, spec_json_loader, state: str) -> Outcome:
        """Fire the timers that are due by the engine clock and run what follows. A cycle timer that missed
        several occurrences (the scheduler was down) fires once; ``Outcome.coalesced`` counts the skipped ones."""
        workflow = self._load(key, spec_json_loader, state)
        with self._clocked():
            _refresh_timers(workflow)
            return self._advance(workflow, key)

    def inspect(self, key, spec_json_loader, state: str) -> Outcome:
        """Read a case's open tasks and data without changing anything."""
        workflow = self._load(key, spec_json_loader, state)
        return self._outcome(workflow, state, [])

    def answers_by_form(self, key, spec_json_loader, state: str) -> dict[str, dict]:
        """The data as it stood when each form was last completed: form key → that task's data. Case data is one
        flat dictionary, so two forms asking ``visit_date`` overwrite each other there; a completed task keeps
        its own copy, which is what a document quoting the assessment (not the last monitoring visit) needs."""
        workflow = self._load(key, spec_json_loader, state)
        latest: dict[str, tuple] = {}
        for task in workflow.get_tasks(state=TaskState.COMPLETED, manual=True):
            form_key = task.task_spec.extensions.get("properties", {}).get("formKey")
            if form_key and (form_key not in latest or task.last_state_change >= latest[form_key][0]):
                latest[form_key] = (task.last_state_change, task.data)
        return {form_key: dict(data) for form_key, (_at, data) in latest.items()}

    def task_data(self, key, spec_json_loader, state: str, task_id: str) -> dict:
        workflow = self._load(key, spec_json_loader, state)
        return dict(self._ready_human_task(workflow, task_id).data)

    def completed_task_data(self, key, spec_json_loader, state: str, task_ids) -> dict[str, dict]:
        """The data each of ``task_ids`` held when it was completed, by task id: the state keeps every completed
        task with its data, so a case's earlier answers (a plan before its revision) are still there. A task the
        state does not hold as completed is left out."""
        workflow = self._load(key, spec_json_loader, state)
        found = {}
        for task_id in task_ids:
            try:
                task = workflow.get_task_from_id(UUID(str(task_id)))
            except (ValueError, TaskNotFoundException):
                continue
            if task.state == TaskState.COMPLETED:
                found[str(task_id)] = dict(task.data)
        return found

    # -- internals ---------------------------------------------------------------------------------------
    def _load(self, key, spec_json_loader, state):
        self.ensure_spec(key, spec_json_loader)
        workflow = load_state(state, self._resolve)
        workflow.script_engine = self.script_engine
        return workflow

    def _clocked(self):
        clock = self.clock

        class _Scope:
            def __enter__(self_inner):
                self_inner.tokens = _clock.set(clock), _coalesced.set([0])

            def __exit__(self_inner, *exc):
                _coalesced.reset(self_inner.tokens[1])
                _clock.reset(self_inner.tokens[0])

        return _Scope()

    @staticmethod
    def _ready_human_task(workflow, task_id: str):
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TaskNotFoundException):
            raise NotFound(f"The case has no task {task_id}.") from None
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict("This task is no longer open: it was completed or cancelled meanwhile.")
        return task

    def _advance(self, workflow, key) -> Outcome:
        budget = _StepBudget()
        try:
            workflow.do_engine_steps(will_complete_task=budget)
            _refresh_timers(workflow)
            workflow.do_engine_steps(will_complete_task=budget)
            while _stop_event_subprocess_timers(workflow):
                workflow.do_engine_steps(will_complete_task=budget)
        except (SpiffWorkflowException, ScriptBudgetExceeded) as err:
            raise _script_failure(err, getattr(err, "task", None)) from None
        tally = _coalesced.get()
        return self._outcome(workflow, dump_state(workflow, key), budget.executed, tally[0] if tally else 0)

    def _outcome(self, workflow, state, executed, coalesced=0) -> Outcome:
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        completed = workflow.is_completed()
        if completed:
            data = dict(workflow.data)
        elif ready:
            data = dict(ready[-1].data)
        else:
            data = dict(workflow.last_task.data) if workflow.last_task else {}
        return Outcome(state=state, open_tasks=[_open_task(t) for t in ready], completed=completed,
                       data=data, next_timer_at=next_timer_due(workflow), executed=executed, coalesced=coalesced)


def _stop_event_subprocess_timers(workflow) -> bool:
    """Once a (sub)process's main flow has ended, its event sub-processes stop listening for their timers.

    Spiff 3.2 starts an event sub-process with a timer start event as a branch beside the main flow and its end
    waits for that branch, so a repeating reminder (``R/P14D``) would keep a finished case open for ever. BPMN
    says the event sub-process is only triggered while its parent is active: a timer that has not fired yet is
    cancelled with its sub-process; a cycle that has fired stops repeating, and the reminders it already opened
    stay open until done (as BPMN lets running event sub-process instances finish). Returns True if anything
    changed (the caller then runs the engine again)."""
    changed = False
    for scope in [workflow, *workflow.subprocesses.values()]:
        listeners = [t for t in scope.task_tree.children
                     if isinstance(t.task_spec, SubWorkflowTask) and not t.has_state(TaskState.FINISHED_MASK)]
        if not listeners:
            continue
        inside = {task.id for listener in listeners for task in listener}
        main_flow_open = any(t.has_state(TaskState.DEFINITE_MASK) and t.id not in inside
                             and not isinstance(t.task_spec, _EndJoin) and t.task_spec.name != "End"
                             for t in scope.tasks.values())
        if main_flow_open:
            continue
        for listener in listeners:
            subprocess = workflow.subprocesses.get(listener.id)
            for start in list(subprocess.task_tree.children) if subprocess is not None else []:
                definition = getattr(start.task_spec, "event_definition", None)
                if start.state != TaskState.WAITING or not isinstance(definition, TimerEventDefinition):
                    continue
                if isinstance(definition, CycleTimerEventDefinition) and start.children:
                    _finish_cycle(start)
                    start.task_spec._update(start)
                else:
                    listener.cancel()
                changed = True
        if changed:
            scope.update_waiting_tasks()
    return changed


def _set_answers(task, form_data: dict) -> None:
    """A form's answers replace the earlier answers to the same keys. (The library's ``add_data_from_form``
    deep-merges, so a revised checklist or plan would keep items the worker removed.)"""
    variable = getattr(task.task_spec, "variable", None)
    if variable:
        task.set_data(**{variable: form_data})
    else:
        task.set_data(**form_data)


def _open_task(task) -> OpenTask:
    spec = task.task_spec
    return OpenTask(id=str(task.id), bpmn_id=spec.bpmn_id, title=spec.bpmn_name or spec.bpmn_id, lane=spec.lane,
                    properties=dict(spec.extensions.get("properties", {})), documentation=spec.documentation)


def next_timer_due(workflow) -> datetime | None:
    """Earliest due instant of all waiting timers (brief §2.3)."""
    dues = []
    for task in workflow.get_tasks(state=TaskState.WAITING, spec_class=CatchingEvent):
        definition = task.task_spec.event_definition
        if isinstance(definition, TimerEventDefinition):
            value = definition.details(task).value
            value = value.get("next") if isinstance(value, dict) else value
        elif isinstance(definition, MultipleEventDefinition):
            value = task.internal_data.get("event_value")
        else:
            continue
        if isinstance(value, str):
            due = datetime.fromisoformat(value)
            dues.append(due if due.tzinfo else due.replace(tzinfo=timezone.utc))
    return min(dues, default=None)


def _script_failure(err, task) -> ScriptFailed:
    """Turn a library error into a message naming the task, the line and the cause, for the methodologist."""
    task = getattr(err, "task", None) or task
    spec = getattr(task, "task_spec", None)
    where = ""  # a failure outside any task (the step budget, say) has no task to name
    if spec is not None:
        where = f" in task '{spec.bpmn_id}'" + (f" ({spec.bpmn_name})" if spec.bpmn_name else "")
    line = getattr(err, "line_number", None)
    error_line = (getattr(err, "error_line", "") or "").strip()
    at = f", line {line}: {error_line}" if line else ""
    text = f"The process failed{where}{at}: {_cause(err)}"
    return ScriptFailed(text, task=spec.bpmn_id if spec is not None else None, line=line or None,
                        cause=getattr(err, "error_type", None) or type(err).__name__)


def _cause(err) -> str:
    """The error's own message plus the Python error behind it, without the library's run-together prefixes."""
    message = str(err.args[0]) if err.args else str(err)
    error_type = getattr(err, "error_type", None)
    if error_type and message.startswith(error_type + ":"):
        rest = message[len(error_type) + 1:]
        message = rest if error_type == ScriptBudgetExceeded.__name__ else f"{error_type}: {rest}"
    inner = err.__cause__ or err.__context__
    while isinstance(inner, SpiffWorkflowException):  # the library may wrap its own wrapper
        inner = inner.__cause__ or inner.__context__
    if inner is not None and str(inner) not in message:
        message += f" ({type(inner).__name__}: {inner})"
    notes = [n.strip() for n in getattr(err, "notes", []) if n.strip().startswith("Did you mean")]
    return " ".join([message] + notes)
