"""The restricted core of methodologists' Python: compiling under RestrictedPython and running with a budget.

It imports nothing of SpiffWorkflow or the database, so the sandbox worker process (``sandbox.py``) starts fast
and holds nothing worth stealing. ``scripting.py`` adapts it to SpiffWorkflow's script engine.
"""
from __future__ import annotations

import ast
import builtins
import operator
import sys
import time
import traceback
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_globals
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr)

#: A script may execute this many lines (loop iterations count) ...
LINE_BUDGET = 200_000
#: ... and run this long, before it is stopped.
TIME_BUDGET_SECONDS = 1.5

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


def restricted_globals() -> dict:
    return _restricted_globals()


def evaluate(source: str, names: dict):
    """Evaluate an expression over ``names`` (case data and helpers), within the budget."""
    g = _restricted_globals()
    g.update(names)
    return _Budget().run(eval, compile_expression(source), g)


def execute(source: str, context: dict, external: dict) -> dict:
    """Run a script over the case data ``context``; return the data it leaves (no functions, no globals)."""
    g = _restricted_globals()
    namespace = dict(context)
    namespace.update(g)
    namespace.update(external)
    _Budget().run(exec, compile_script(source), namespace)
    return {k: v for k, v in namespace.items()
            if k != "__builtins__" and k not in g and k not in external and not callable(v)}


def script_line(err: BaseException) -> int | None:
    """The line of the methodologist's text where ``err`` was raised (its code is compiled as ``<string>``)."""
    if isinstance(err, SyntaxError):
        return err.lineno
    lines = [f.lineno for f in traceback.extract_tb(err.__traceback__) if f.filename == "<string>"]
    return lines[-1] if lines else None
