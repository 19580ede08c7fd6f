"""Moving a running case from one published version to another (research/spiffworkflow.md §5).

SpiffWorkflow aligns the old and new specs by BPMN id (``diff_workflow``) and swaps each task's spec
(``migrate_workflow``). Its default then resets READY and WAITING tasks, which gives open tasks new ids, restarts
timers and wipes drafts; Yordam keeps them instead (the reset mask matches no task a stored case has), so an open
task keeps its id, assignee, deadline and draft, and only its spec — form, properties — is the new one.

A case may move only if nothing it has done or is doing disappears: every completed, open or waiting task must
exist in the new version, every subprocess too, and the moved case must read back on the new version with the
same open tasks. Anything else is reported, in words, and the case stays where it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow

from ..i18n import N_, tell
from .serialization import _serializer, dump_state

#: Why a case cannot move: catalogue messages, told in the reader's language (``Reason.text``).
REMOVED = {
    "completed": N_("the completed step '%(task)s' does not exist in version %(version)s"),
    "waiting": N_("the event '%(task)s' the case waits for does not exist in version %(version)s"),
    "open": N_("the open task '%(task)s' does not exist in version %(version)s"),
}
RENAMED = N_("%(reason)s (it became '%(new_id)s')")
NO_SUBPROCESS = N_("the subprocess '%(task)s' the case is in does not exist in version %(version)s")
UNREADABLE = N_("the case cannot be read on version %(version)s: %(error)s")
OPEN_TASKS_CHANGE = N_("the case's open tasks would change on version %(version)s")


@dataclass(frozen=True)
class Reason:
    message: str
    params: dict

    def text(self, language: str) -> str:
        return tell(language, self.message, self.params)

    def quoted(self) -> dict:
        """The reason as a param of another (``tell`` tells it first)."""
        return {"template": self.message, "params": self.params}

#: The tasks a stored case can be in that must survive a move (predicted ones are recomputed by the engine).
_LIVED = TaskState.COMPLETED | TaskState.STARTED | TaskState.READY | TaskState.WAITING | TaskState.ERROR


@dataclass
class MoveCheck:
    safe: bool
    reasons: list[Reason] = field(default_factory=list)
    state: str | None = None  # the case's state on the new version, when safe
    changed_open_tasks: list[str] = field(default_factory=list)  # open tasks whose spec changed (form, deadline)


def move_case(runtime, old_key: str, old_loader, new_key: str, new_loader, state: str, new_number: int) -> MoveCheck:
    """Check whether a case in ``state`` (on ``old_key``) can move to ``new_key``; if so, its new state."""
    workflow = runtime._load(old_key, old_loader, state)
    new_spec, new_deps = runtime.ensure_spec(new_key, new_loader)
    diff, subprocess_diffs = diff_workflow(_serializer().registry, workflow, new_spec, new_deps)
    reasons = []
    for task in diff.removed:
        if task.state & _LIVED:
            reasons.append(_removed(task, new_number))
    for task, new_task_spec in diff.alignment.items():
        # The library also aligns tasks whose id changed, by their place in the flow; the engine's records know
        # tasks by id, so a lived task under another id is not the same task to them.
        if task.state & _LIVED and new_task_spec is not None and new_task_spec.name != task.task_spec.name:
            reasons.append(Reason(RENAMED, {"reason": _removed(task, new_number).quoted(), "new_id": new_task_spec.name}))
    for sp_id, sp_diff in subprocess_diffs.items():
        name = workflow.subprocesses[sp_id].spec.name
        if sp_diff is None:
            reasons.append(Reason(NO_SUBPROCESS, {"task": name, "version": new_number}))
        else:
            reasons += [_removed(t, new_number) for t in sp_diff.removed if t.state & _LIVED]
    if reasons:
        return MoveCheck(False, reasons)
    open_before = _open_tasks(workflow)
    changed = sorted({t.task_spec.name for t in diff.changed if t.state == TaskState.READY and t.task_spec.manual})
    migrate_workflow(diff, workflow, new_spec, reset_mask=TaskState.ERROR)
    for sp_id, sp_diff in subprocess_diffs.items():
        sp = workflow.subprocesses[sp_id]
        migrate_workflow(sp_diff, sp, new_deps[sp.spec.name], reset_mask=TaskState.ERROR)
    workflow.subprocess_specs = new_deps
    try:
        moved = dump_state(workflow, new_key)
        reread = runtime._load(new_key, new_loader, moved)
    except Exception as err:  # noqa: BLE001 - whatever the library trips over, the case stays where it is
        return MoveCheck(False, [Reason(UNREADABLE, {"version": new_number, "error": f"{type(err).__name__}: {err}"})])
    if _open_tasks(reread) != open_before:
        return MoveCheck(False, [Reason(OPEN_TASKS_CHANGE, {"version": new_number})])
    return MoveCheck(True, [], moved, changed)


def _removed(task, number: int) -> Reason:
    spec = task.task_spec
    kind = {TaskState.COMPLETED: "completed", TaskState.WAITING: "waiting"}.get(task.state, "open")
    return Reason(REMOVED[kind], {"task": getattr(spec, "bpmn_name", None) or spec.name, "version": number})


def _open_tasks(workflow) -> list[tuple[str, str]]:
    return sorted((str(t.id), t.task_spec.name) for t in workflow.get_tasks(state=TaskState.READY, manual=True))
