"""Methodologists' Python (scripts, gateway conditions, DMN cells, timer expressions) under RestrictedPython.

SpiffWorkflow evaluates every expression with plain ``eval``/``exec``; its documented ``safe_globals`` recipe is
escapable (research/spiffworkflow.md §1.7). Here every text is compiled with ``compile_restricted_*`` (names
starting with ``_`` refused at compile time, attribute access guarded), compiled code is cached per text, and
each run has a budget of executed lines and of wall time so a loop without end cannot hold a case lock forever.
"""
from __future__ import annotations

import ast
import builtins
import copy
import operator
import sys
import time
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_globals
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

#: A script may execute this many lines (loop iterations count) ...
LINE_BUDGET = 200_000
#: ... and run this long, before it is stopped.
TIME_BUDGET_SECONDS = 2.0

_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand}
_EXTRA_BUILTINS = ("dict", "list", "set", "tuple", "min", "max", "sum", "any", "all", "enumerate", "map",
                   "filter", "sorted", "reversed", "zip", "len", "round", "abs")


class ScriptBudgetExceeded(RuntimeError):
    pass


class ScriptCompileError(SyntaxError):
    pass


@lru_cache(maxsize=4096)
def compile_script(source: str):
    """Compile a script task's text; raise ``ScriptCompileError`` naming the rule it breaks."""
    result = compile_restricted_exec(source, filename="<string>")
    if result.errors:
        raise ScriptCompileError("; ".join(result.errors))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ScriptCompileError(f"Line {node.lineno}: imports are not allowed in scripts")
    return result.code


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    """Compile a condition or expression; raise ``ScriptCompileError`` naming the rule it breaks."""
    result = compile_restricted_eval(source.strip(), filename="<string>")
    if result.errors:
        raise ScriptCompileError("; ".join(result.errors))
    return result.code


def _restricted_globals() -> dict:
    g = dict(safe_globals)
    g["__builtins__"] = dict(safe_globals["__builtins__"])  # a copy: never mutate the library's dict
    for name in _EXTRA_BUILTINS:
        g["__builtins__"][name] = getattr(builtins, name)
    g.update({
        "_getattr_": safer_getattr, "_getitem_": default_guarded_getitem, "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard, "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
    })
    return g


class _Budget:
    """A trace function that stops a script after too many lines or too much time."""

    def __init__(self):
        self.lines = 0
        self.deadline = time.monotonic() + TIME_BUDGET_SECONDS

    def __call__(self, frame, event, arg):
        if event == "line":
            self.lines += 1
            if self.lines > LINE_BUDGET or (self.lines % 1000 == 0 and time.monotonic() > self.deadline):
                raise ScriptBudgetExceeded(
                    f"the script ran too long (more than {LINE_BUDGET} steps or {TIME_BUDGET_SECONDS:g} s)")
        return self

    def run(self, fn, *args):
        previous = sys.gettrace()
        sys.settrace(self)
        try:
            return fn(*args)
        finally:
            sys.settrace(previous)


class RestrictedEnvironment(TaskDataEnvironment):
    def __init__(self, helpers: dict | None = None):
        g = _restricted_globals()
        g.update(helpers or {})
        super().__init__(g)

    def evaluate(self, expression, context, external_context=None):
        g = copy.copy(self.globals)
        g.update(external_context or {})
        g.update(context)
        return _Budget().run(eval, compile_expression(expression), g)

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        context.update(copy.copy(self.globals))
        context.update(external_context or {})
        try:
            _Budget().run(exec, compile_script(script), context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


class YordamScriptEngine(PythonScriptEngine):
    """Script engine with the restricted environment; service-task errors keep their real cause
    (the library's own ``call_service`` replaces them with a NameError, brief §1.8)."""

    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    def call_service(self, task, **kwargs):
        raise WorkflowTaskException("Service tasks are not enabled in Yordam yet", task=task)


def evaluate_expression(source: str, data: dict):
    """Evaluate a methodologist's expression (such as a deadline's amount) over case data, restricted and
    budgeted like every other expression."""
    g = _restricted_globals()
    g.update(copy.deepcopy(data))
    return _Budget().run(eval, compile_expression(source), g)
