"""Write golden case states with a SpiffWorkflow release that Yordam's engine cannot import (run by make_golden.py).

Runs inside a throw-away virtualenv holding only that SpiffWorkflow release, so it imports nothing from Yordam. It
repeats what Yordam's engine does with the library (engine/process/serialization.py and runtime.py): the spiff
serializer configuration with ``DeepWorkflow`` stored by ``BpmnWorkflowConverter``, the spec stored once per
definition version (``spec_json``) and a ``SpecRef`` in its place in every case state, the engine clock read by the
timers, start data put on the start task, a form's answers set on the task's data, then engine steps, due timers,
engine steps again.

Reads a plan (JSON) on stdin: ``{"files", "process_id", "key", "start", "start_data", "steps"}`` where each step is
``{"complete": <bpmn id>, "data": {...}}``, ``{"advance_days": n}`` (the clock moves and due timers fire) or
``{"checkpoint": <name>}``; writes ``{"spiff_version", "serializer_version", "spec_json", "checkpoints"}`` on stdout.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from importlib.metadata import version

from lxml import etree
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG


class DeepWorkflow(BpmnWorkflow):
    """Same class name as Yordam's, so the state's ``typename`` is the one Yordam writes."""


class SpecRef:
    pass


NOW = [datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)]
AHEAD = [False]  # Yordam checks due timers with the clock one tick ahead; due instants come from the true clock


class ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        now = NOW[0] + timedelta(microseconds=1 if AHEAD[0] else 0)
        return now.astimezone(tz) if tz else now.replace(tzinfo=None)


spiff_timer.datetime = ClockedDatetime


def serializer():
    config = dict(SPIFF_CONFIG)
    config[DeepWorkflow] = BpmnWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(SpecRef, lambda v: {}, lambda d: None, typename="SpecRef")
    return BpmnWorkflowSerializer(registry)


def compile_spec(files, process_id, registry):
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn"):
            parser.add_bpmn_xml(etree.fromstring(text.encode()), filename=name)
        elif name.endswith(".dmn"):
            parser.add_dmn_xml(etree.fromstring(text.encode()), filename=name)
    spec, subprocess_specs = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    spec_json = json.dumps({"spec": registry.convert(spec),
                            "subprocess_specs": {n: registry.convert(s) for n, s in subprocess_specs.items()}},
                           separators=(",", ":"))
    return spec, subprocess_specs, spec_json


def refresh(workflow):
    AHEAD[0] = True
    try:
        (getattr(workflow, "refresh_timers", None) or workflow.refresh_waiting_tasks)()
    finally:
        AHEAD[0] = False


def advance(workflow):
    workflow.do_engine_steps()
    refresh(workflow)
    workflow.do_engine_steps()


def dump_state(ser, workflow, key):
    registry = ser.registry
    fast = hasattr(registry, "_encoder_mode")
    if fast:
        registry._encoder_mode = True
    try:
        dct = ser.to_dict(workflow)
        dct["spec"] = {"typename": "SpecRef", "key": key}
        dct["subprocess_specs"] = {n: {"typename": "SpecRef", "key": key, "name": n} for n in workflow.subprocess_specs}
        dct[ser.VERSION_KEY] = ser.VERSION
        encoder = getattr(ser, "_encoder_cls", None) or getattr(ser, "json_encoder_cls", None)
        return json.dumps(dct, cls=encoder, separators=(",", ":"))
    finally:
        if fast:
            registry._encoder_mode = False


def next_timer(workflow):
    dues = []
    for task in workflow.get_tasks(state=TaskState.WAITING, spec_class=CatchingEvent):
        definition = task.task_spec.event_definition
        if isinstance(definition, TimerEventDefinition):
            value = definition.details(task).value
            dues.append(value.get("next") if isinstance(value, dict) else value)
    return min(dues, default=None)


def main():
    plan = json.load(sys.stdin)
    NOW[0] = datetime.fromisoformat(plan["start"])
    ser = serializer()
    spec, subprocess_specs, spec_json = compile_spec(plan["files"], plan["process_id"], ser.registry)
    workflow = DeepWorkflow(spec, subprocess_specs, script_engine=PythonScriptEngine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(plan["start_data"])
    advance(workflow)
    checkpoints = {}
    for step in plan["steps"]:
        if "complete" in step:
            ready = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual
                     and t.task_spec.bpmn_id == step["complete"]]
            if not ready:
                raise SystemExit(f"no open task {step['complete']} at this point")
            ready[0].set_data(**step["data"])
            ready[0].run()
            advance(workflow)
        elif "advance_days" in step:
            NOW[0] += timedelta(days=step["advance_days"])
            refresh(workflow)
            advance(workflow)
        else:
            open_tasks = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)
                          if t.task_spec.manual]
            checkpoints[step["checkpoint"]] = {"state": dump_state(ser, workflow, plan["key"]),
                                               "open_tasks": open_tasks, "completed": workflow.is_completed(),
                                               "next_timer_at": next_timer(workflow), "saved_at": NOW[0].isoformat()}
    json.dump({"spiff_version": version("SpiffWorkflow"), "serializer_version": ser.VERSION,
               "spec_json": spec_json, "checkpoints": checkpoints}, sys.stdout)


if __name__ == "__main__":
    main()
