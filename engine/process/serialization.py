"""Serialising process state without the spec in every case (brief §3.5: the spec is stored once per version).

A case's state document carries ``{"typename": "SpecRef", "key": <version key>}`` where the spec would be; on
load the reference is resolved from the per-version cache, so a state stays small and loads fast.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskIterator


class DeepWorkflow(BpmnWorkflow):
    """A workflow whose task iterators look deeper than the library's 1000 levels.

    Without this, a case looping for years (monitoring visits) would have tasks that become invisible and
    ``is_completed()`` would say True for a running case (brief §6, pitfall 7).
    """

    MAX_DEPTH = 10**6

    def get_tasks_iterator(self, first_task=None, **kwargs):
        kwargs.setdefault("max_depth", self.MAX_DEPTH)
        return BpmnTaskIterator(first_task or self.task_tree, **kwargs)

    def is_completed(self):
        if not self.completed:
            pending = TaskIterator(self.task_tree, state=TaskState.NOT_FINISHED_MASK, max_depth=self.MAX_DEPTH)
            if next(pending, None) is None:
                self.completed = True
        return self.completed


class SpecRef:
    """Placeholder type: the serialised form of a spec that lives in the per-version cache."""


#: Types the state document keeps as they are (JSON) or through the registry (``DefaultRegistry``). A set or a
#: tuple comes back as a list, a number key as text, a function is dropped: the library's own behaviour.
_PLAIN = (str, bool, float, type(None))
_REGISTERED = (datetime, timedelta, UUID)
_MAX_INT_BITS = 13_000  # about 3900 digits: Python refuses to write an integer of more than 4300 digits as text


def unstorable(value) -> str | None:
    """Why ``value`` (case data left by a script or a decision) cannot be saved in a case's state and read back,
    or None. Any dictionary with a key ``typename`` is taken for a typed object when the state is read, so a case
    holding one could never be loaded again."""
    stack = [(value, ())]  # with the ids of the containers around each item: a cycle is refused
    while stack:
        item, containers = stack.pop()
        if isinstance(item, _PLAIN) or isinstance(item, _REGISTERED) or callable(item):
            continue
        if isinstance(item, int):
            if item.bit_length() > _MAX_INT_BITS:
                return "a number of more than 3900 digits"
            continue
        if id(item) in containers:
            return "a list or dictionary that contains itself"
        containers += (id(item),)
        if isinstance(item, dict):
            for key, inner in item.items():
                if key == "typename":
                    return "a dictionary with the key 'typename', which the engine reserves"
                if not isinstance(key, (str, int, float, bool, type(None))):
                    return f"a dictionary key of type {type(key).__name__}"
                stack.append((inner, containers))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((inner, containers) for inner in item)
        else:
            return f"a value of type {type(item).__name__}"
    return None


def _config():
    config = dict(SPIFF_CONFIG)
    config[DeepWorkflow] = BpmnWorkflowConverter
    return config


_local = threading.local()


def _serializer(resolve_spec=None) -> BpmnWorkflowSerializer:
    """One serializer per thread: the library's registry keeps an encoder-mode flag that is not thread-safe."""
    serializer = getattr(_local, "serializer", None)
    if serializer is None:
        registry = BpmnWorkflowSerializer.configure(_config())
        registry.register(SpecRef, lambda v: {}, lambda d: _local.resolve(d["key"], d.get("name")),
                          typename="SpecRef")
        serializer = _local.serializer = BpmnWorkflowSerializer(registry)
    _local.resolve = resolve_spec
    return serializer


def spec_to_json(spec, subprocess_specs) -> str:
    registry = _serializer().registry
    return json.dumps({"spec": registry.convert(spec),
                       "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()}},
                      separators=(",", ":"))


def spec_from_json(text: str):
    registry = _serializer().registry
    dct = json.loads(text)
    return registry.restore(dct["spec"]), {n: registry.restore(s) for n, s in dct["subprocess_specs"].items()}


def dump_state(workflow, key: str) -> str:
    serializer = _serializer()
    registry = serializer.registry
    registry._encoder_mode = True  # the library's own fast path (serialize_json does the same)
    try:
        dct = serializer.to_dict(workflow)
        dct["spec"] = {"typename": "SpecRef", "key": key}
        dct["subprocess_specs"] = {name: {"typename": "SpecRef", "key": key, "name": name}
                                   for name in workflow.subprocess_specs}
        dct[serializer.VERSION_KEY] = serializer.VERSION
        return json.dumps(dct, cls=serializer._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load_state(state: str, resolve_spec) -> DeepWorkflow:
    """Restore a workflow; ``resolve_spec(key, subprocess_name_or_None)`` returns the cached spec objects."""
    serializer = _serializer(resolve_spec)
    dct = json.loads(state)
    if dct.get(serializer.VERSION_KEY) != serializer.VERSION:
        _with_specs(dct, serializer.registry, resolve_spec)
    serializer.migrate(dct)
    return serializer.from_dict(dct)


def _with_specs(dct: dict, registry, resolve_spec) -> None:
    """Put the version's spec back in place of the state's ``SpecRef``s before the library migrates an older
    document: its migrations read (and may rewrite) ``spec["task_specs"]``, which a reference has not, and a
    state saved by an older SpiffWorkflow would fail to load (tests/golden). The workflow is then restored with
    the migrated copy of the spec; saved again, it refers to the version's spec like any other."""
    for holder, name in [(dct, "spec")] + [(dct["subprocess_specs"], n) for n in dct.get("subprocess_specs", {})]:
        ref = holder[name]
        if isinstance(ref, dict) and ref.get("typename") == "SpecRef":
            holder[name] = registry.convert(resolve_spec(ref["key"], ref.get("name")))
