"""Named points on the paths that change data, where a test can make the process fail, stall or die.

Production code marks a few places with ``point(name, **context)``; it does nothing unless a hook is installed
for that name. The points, in the order a task completion passes them:

``after_engine_steps``  the process ran to its next wait state in memory; nothing written yet
``after_serialise``     the new state and its projections are flushed to the open transaction, not committed
``before_commit``       any write transaction is about to commit (``Database.write``)
``after_commit``        it committed; the caller has not answered or acted on it yet
``timers_claimed``      a scheduler committed its claim of due timers and has not fired them yet
``outbox_after_send``   the mail server accepted an e-mail; the outbox row is not marked ``sent`` yet

A test in this process installs a hook with ``installed(name, hook)``. A child process is told through its
environment, outside production mode only: ``YORDAM_FAULT=<point>:<action>[,<point>:<action>...]`` where the
action is ``exit`` (``os._exit(137)``, like a killed process), ``pause`` (announce ``yordam-fault <point>`` on
stderr, then wait for a line on stdin or for its end before going on) or ``raise`` (an error, rolled back like
any other). In production mode the variable is ignored.
"""
from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

POINTS = ("after_engine_steps", "after_serialise", "before_commit", "after_commit", "timers_claimed",
          "outbox_after_send")
ENV = "YORDAM_FAULT"

_hooks: dict[str, object] = {}


def point(name: str, **context) -> None:
    """A named place on a changing path: calls the hook installed for ``name``, if any."""
    hook = _hooks.get(name)
    if hook is not None:
        hook(name, **context)


@contextmanager
def installed(name: str, hook):
    """Run ``hook(name, **context)`` whenever the point ``name`` is passed, for the duration of the block."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}; known: {', '.join(POINTS)}")
    previous = _hooks.get(name)
    _hooks[name] = hook
    try:
        yield
    finally:
        if previous is None:
            _hooks.pop(name, None)
        else:
            _hooks[name] = previous


class InjectedFault(RuntimeError):
    """The failure the ``raise`` action injects."""


def _exit(name, **_context):
    sys.stderr.flush()
    os._exit(137)


def _pause(name, **_context):
    sys.stderr.write(f"yordam-fault {name}\n")
    sys.stderr.flush()
    sys.stdin.readline()  # a line (or the parent closing our stdin) lets us go on; a kill ends us here


def _raise(name, **_context):
    raise InjectedFault(f"fault injected at {name}")


ACTIONS = {"exit": _exit, "pause": _pause, "raise": _raise}


def install_from_environment(environ=os.environ) -> None:
    """Honour ``YORDAM_FAULT`` in a child process started by a test; never in production mode."""
    spec = environ.get(ENV, "").strip()
    if not spec:
        return
    if environ.get("YORDAM_MODE", "").strip() == "production":
        logging.getLogger(__name__).warning("%s is ignored in production mode", ENV)
        return
    for item in spec.split(","):
        name, _, action = item.strip().partition(":")
        if name not in POINTS or action not in ACTIONS:
            raise RuntimeError(f"{ENV}={spec!r}: use <point>:<action> with a point of {', '.join(POINTS)} and an "
                               f"action of {', '.join(ACTIONS)}")
        _hooks[name] = ACTIONS[action]


install_from_environment()
