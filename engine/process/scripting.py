"""Methodologists' Python (scripts, gateway conditions, DMN cells, timer expressions) under RestrictedPython,
run in the sandbox's worker processes.

SpiffWorkflow evaluates every expression with plain ``eval``/``exec``; its documented ``safe_globals`` recipe is
escapable (research/spiffworkflow.md §1.7). Here every text is compiled with ``compile_restricted_*`` (names
starting with ``_`` refused at compile time, attribute access guarded; ``restricted.py``) and runs in a worker
process with memory and CPU limits (``sandbox.py``), so neither an escape nor a bomb reaches the engine's process.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from . import sandbox
from .serialization import unstorable
from .restricted import (LINE_BUDGET, TIME_BUDGET_SECONDS, ScriptBudgetExceeded, ScriptCompileError,
                         compile_expression, compile_script)

__all__ = ["LINE_BUDGET", "TIME_BUDGET_SECONDS", "ScriptBudgetExceeded", "ScriptCompileError", "compile_expression",
           "compile_script", "RestrictedEnvironment", "YordamScriptEngine", "evaluate_expression"]


class RestrictedEnvironment(TaskDataEnvironment):
    """Task data goes to a sandbox worker and comes back as plain data; nothing runs in this process."""

    def __init__(self):
        super().__init__({})

    def evaluate(self, expression, context, external_context=None):
        names = dict(external_context or {})
        names.update(context)
        value = sandbox.evaluate(expression, names)
        problem = unstorable(value)  # a decision's output goes into the case data
        if problem:
            raise TypeError(f"the expression gave a value that cannot be stored in the case: {problem}")
        return value

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        left = sandbox.execute(script, dict(context), dict(external_context or {}))
        for name, value in left.items():  # refused here, the step fails and the case stays as it was
            problem = unstorable(value)
            if problem:
                raise TypeError(f"the script left a value in '{name}' that cannot be stored in the case: {problem}")
        context.clear()  # the library expects the task's own data dict to change in place
        context.update(left)
        return True


class YordamScriptEngine(PythonScriptEngine):
    """Script engine with the restricted environment; service-task errors keep their real cause
    (the library's own ``call_service`` replaces them with a NameError, brief §1.8)."""

    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    def call_service(self, task, **kwargs):
        raise WorkflowTaskException("Service tasks are not enabled in Yordam yet", task=task)

    def get_error_line_number_and_content(self, script, err):
        """The line comes from the worker (``script_line``): this process never saw the script's frames."""
        line = getattr(err, "script_line", None)
        if not line:
            return super().get_error_line_number_and_content(script, err)
        lines = script.splitlines()
        return line, lines[line - 1] if 0 < line <= len(lines) else ""


def evaluate_expression(source: str, data: dict):
    """Evaluate a methodologist's expression (such as a deadline's amount) over case data, restricted and
    budgeted like every other expression."""
    return sandbox.evaluate(source, data)
