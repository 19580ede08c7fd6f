"""Methodologists' scripts run restricted, in worker processes with memory and CPU limits: escapes fail, bombs
are stopped within 2 s, the worker is replaced, and the case stays at its last wait state."""
from __future__ import annotations

import os
import time

import pytest

from engine.errors import ScriptFailed
from engine.process import sandbox
from engine.process.restricted import ScriptBudgetExceeded
from tests.helpers import complete_step
from tests.sample_answers import assessment
from tests.test_versions_and_scripts import COUNT_SCRIPT, case_at_needs_assessment, snapshot, with_count_script

SECRET = os.path.abspath(__file__)  # a file the scripts try to read

ESCAPES = {
    "subclass walk": "x = ().__class__.__bases__[0].__subclasses__()",
    "getattr of a dunder": "x = getattr((), '__class__')",
    "format string attribute walk": "x = '{0.__class__.__bases__}'.format(())",
    "format_map walk": "x = '{a.__class__}'.format_map({'a': 1})",
    "f-string dunder": "x = f'{().__class__}'",
    "generator frame globals": "g = (i for i in [1])\nx = g.gi_frame.f_globals",
    "generator frame back": "g = (i for i in [1])\nx = [g.gi_frame][0].f_back",
    "traceback frame": "try:\n    1/0\nexcept Exception as e:\n    x = e.__traceback__.tb_frame",
    "exception traceback": "try:\n    1/0\nexcept Exception as e:\n    x = e.with_traceback(None).tb_frame",
    "function code": "f = lambda: 1\nx = f.__code__.co_consts",
    "bound method self": "x = max.__self__",
    "globals()": "x = globals()",
    "vars()": "x = vars()",
    "locals()": "x = locals()",
    "import": "import os",
    "from import": "from os import system",
    "__import__": "x = __import__('os')",
    "builtins": "x = __builtins__['open']",
    "open a file": f"x = open({SECRET!r}).read()",
    "eval": "x = eval('1')",
    "exec": "exec('x = 1')",
    "compile": "x = compile('1', 'f', 'eval')",
    "type() to make a class": "x = type('A', (), {})",
    "class statement": "class A:\n    pass\nx = A",
    "mro walk": "x = type(1).mro()",
    "str.format": "x = 'a{}'.format(1)",
    "print to the answer channel": "print('injected')",
}


@pytest.mark.parametrize("script", list(ESCAPES.values()), ids=list(ESCAPES))
def test_escapes_fail(script):
    with pytest.raises(Exception) as caught:
        left = sandbox.execute(script, {"needs": ["x"]}, {})
        if script.startswith("print"):  # print is allowed but collected, never written anywhere
            assert left == {"needs": ["x"]}
            raise AssertionError("no escape")
    assert not isinstance(caught.value, (SystemExit, KeyboardInterrupt))
    assert sandbox.evaluate("1 + 1", {}) == 2  # the sandbox still works afterwards


BOMBS = {
    "endless loop": ("while True:\n    x = 1", "ran too long"),
    "loop inside C": ("x = sum(range(10 ** 12))", "ran too long"),
    "string repetition": ("x = 'x' * (10 ** 10)", "too much memory"),
    "list repetition": ("x = [0] * (10 ** 9)", "too much memory"),
    "huge format width": ("x = len('%0999999999d' % 1)", "too much memory"),
    "huge power": ("x = 7 ** (10 ** 10)", ""),
    "growing list": ("x = []\nwhile True:\n    x.append('y' * 1000)", ""),
    "deep recursion": ("def f(n):\n    return f(n + 1)\nx = f(0)", ""),
}


@pytest.mark.parametrize("script,reason", list(BOMBS.values()), ids=list(BOMBS))
def test_cpu_and_memory_bombs_are_stopped_within_two_seconds(script, reason):
    started = time.monotonic()
    with pytest.raises((ScriptBudgetExceeded, RecursionError)) as caught:
        sandbox.execute(script, {}, {})
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"stopped after {elapsed:.2f} s"
    assert reason in str(caught.value)
    assert sandbox.evaluate("a * 2", {"a": 21}) == 42  # a fresh worker took over


def test_a_bomb_in_a_case_fails_its_task_with_a_clear_incident_and_the_case_stays(engine, clock):
    case_id = case_at_needs_assessment(engine, with_count_script(f"{COUNT_SCRIPT}\nfiller = 'x' * (10 ** 10)"))
    clock.advance(hours=1)
    before = snapshot(engine, case_id)
    started = time.monotonic()
    with pytest.raises(ScriptFailed) as caught:
        complete_step(engine, case_id, "needs_assessment", assessment())
    assert time.monotonic() - started < 2.0
    assert "line 3: filler = 'x' * (10 ** 10)" in caught.value.message
    assert "too much memory" in caught.value.message
    assert caught.value.details["cause"] == "ScriptBudgetExceeded"
    assert snapshot(engine, case_id) == before


def test_answers_from_a_worker_build_plain_data_only():
    import pickle
    evil = pickle.dumps(("ok", os.system))  # what a subverted worker might send back
    answer = sandbox._loads_plain(evil)
    assert answer[0] == "error" and "cannot be stored" in answer[2]
    from datetime import date
    from decimal import Decimal
    plain = ("ok", {"when": date(2026, 1, 5), "amount": Decimal("1.5"), "tags": {"a"}})
    assert sandbox._loads_plain(pickle.dumps(plain)) == plain


def test_scripts_see_case_data_and_their_results_come_back():
    left = sandbox.execute("total = sum(item['n'] for item in items)\nlabel = 'x' + name", {
        "items": [{"n": 1}, {"n": 2}], "name": "a"}, {})
    assert left == {"items": [{"n": 1}, {"n": 2}], "name": "a", "total": 3, "label": "xa"}
    with pytest.raises(NameError) as caught:
        sandbox.execute("ok = 1\nbad = missing + 1", {}, {})
    assert caught.value.name == "missing" and caught.value.script_line == 2


def test_workers_hold_no_secrets_of_the_engine(monkeypatch):
    """A worker's environment has no database URL or secret key, even if a script ever escaped."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://yordam:secret@db/yordam")
    monkeypatch.setenv("YORDAM_SECRET_KEY", "k" * 48)
    worker = sandbox._Worker()
    try:
        with open(f"/proc/{worker.process.pid}/environ", "rb") as environ:
            names = {item.split(b"=", 1)[0].decode() for item in environ.read().split(b"\0") if item}
    finally:
        worker.kill()
    assert not names & {"DATABASE_URL", "YORDAM_SECRET_KEY", "YORDAM_SMTP_URL"}
    assert "PYTHONPATH" in names
