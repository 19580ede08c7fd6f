"""The process runtime: start a case's workflow, complete one of its tasks, wake its timers.

Every call takes the state document and returns an ``Outcome`` (new state, open human tasks, next timer, data).
Nothing here touches the database: services decide when to commit; on any exception they roll back and the
half-run workflow object is simply dropped (brief §1.3).
"""
from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.specs.event_definitions import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException

from ..errors import Conflict, NotFound, ScriptFailed
from .scripting import ScriptBudgetExceeded, YordamScriptEngine
from .serialization import DeepWorkflow, dump_state, load_state, spec_from_json

#: A step that runs more automatic tasks than this without reaching a wait state is stopped (scenario S8).
ENGINE_STEP_BUDGET = 2_000

# --- the engine's clock reaches SpiffWorkflow's timers ----------------------------------------------------
_clock = contextvars.ContextVar("yordam_clock", default=None)


class _ClockedDatetime(datetime):
    """Spiff's timer module reads ``datetime.now(timezone.utc)``; under this class it reads the engine clock."""

    @classmethod
    def now(cls, tz=None):
        clock = _clock.get()
        now = clock.now() if clock is not None else datetime.now(timezone.utc)
        return now.astimezone(tz) if tz else now.replace(tzinfo=None)


spiff_timer.datetime = _ClockedDatetime


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
        """Fire the timers that are due by the engine clock and run what follows."""
        workflow = self._load(key, spec_json_loader, state)
        with self._clocked():
            workflow.refresh_timers()
            return self._advance(workflow, key)

    def inspect(self, key, spec_json_loader, state: str) -> Outcome:
        """Read a case's open tasks and data without changing anything."""
        workflow = self._load(key, spec_json_loader, state)
        return self._outcome(workflow, state, [])

    def task_data(self, key, spec_json_loader, state: str, task_id: str) -> dict:
        workflow = self._load(key, spec_json_loader, state)
        return dict(self._ready_human_task(workflow, task_id).data)

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
                self_inner.token = _clock.set(clock)

            def __exit__(self_inner, *exc):
                _clock.reset(self_inner.token)

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
            workflow.refresh_timers()
            workflow.do_engine_steps(will_complete_task=budget)
        except (SpiffWorkflowException, ScriptBudgetExceeded) as err:
            raise _script_failure(err, getattr(err, "task", None)) from None
        return self._outcome(workflow, dump_state(workflow, key), budget.executed)

    def _outcome(self, workflow, state, executed) -> Outcome:
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        completed = workflow.is_completed()
        if completed:
            data = dict(workflow.data)
        elif ready:
            data = dict(ready[-1].data)
        else:
            data = dict(workflow.last_task.data) if workflow.last_task else {}
        return Outcome(state=state, open_tasks=[_open_task(t) for t in ready], completed=completed,
                       data=data, next_timer_at=next_timer_due(workflow), executed=executed)


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
    where = "the process"
    if spec is not None:
        where = f"task '{spec.bpmn_id}'" + (f" ({spec.bpmn_name})" if spec.bpmn_name else "")
    line = getattr(err, "line_number", None)
    error_line = (getattr(err, "error_line", "") or "").strip()
    at = f", line {line}: {error_line}" if line else ""
    text = f"The process failed in {where}{at}: {_cause(err)}"
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
