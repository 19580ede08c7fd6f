"""What changed between two definition sets: process elements, decision tables, forms, translations and files.

Pure functions over two ``{file name: text}`` sets (a published version, a draft). The answer is plain data for
the workbench and the API: every change names its field with the value ``before`` and ``after`` (``None`` when
the thing did not exist or had no value), in a deterministic order. Diagram layout (BPMN DI shapes) is not
compared: a file whose only difference is layout or formatting is listed as ``formatting_only``.

* Process elements (tasks, events, gateways, sequence flows, sub-processes) are matched by process id and element
  id, so a renamed file is not a changed process. Compared: name, type, lane (the role), every Spiff property
  (``formKey``, ``stage``, ``deadline``, ``deadlineSource``, ``reminder``, ``escalation``, consent ...),
  documentation, scripts, the called decision, timer and other event definitions, boundary attachment, flow
  source, target, condition and whether a flow is its gateway's default.
* Decisions are matched by decision id; their rules by rule id, each with its cells before and after.
* Forms are matched by form key (``<key>.form.json``); their fields by data path (``key``, ``list.key``), other
  components (text) by ``#id``.
* Translation files (``*.i18n.json``): per language, keys added, removed or translated differently.

A file that cannot be read on either side (not XML, not JSON) is listed in ``unreadable`` and its contents are not
compared, so a draft that is broken mid-edit does not show its whole process as removed.
"""
from __future__ import annotations

import json

from lxml import etree

from .xml import UnsafeXML, parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM_SUFFIX = ".form.json"
TEXTS_SUFFIX = ".i18n.json"
DOCUMENT_SUFFIX = ".document.html"

#: Spiff properties that make a deadline (shown together on the workbench).
DEADLINE_FIELDS = ("deadline", "deadlineSource", "reminder", "escalation")
#: The order in which an element's fields are listed; Spiff properties not named here follow, sorted.
ELEMENT_FIELDS = ("name", "type", "lane", "inside", "formKey", "stage", *DEADLINE_FIELDS, "requires_consent",
                  "consent_agency_field", "documentation", "script", "preScript", "postScript", "calledDecisionId",
                  "calledElement", "timer", "event", "attachedTo", "cancelActivity", "isInterrupting",
                  "triggeredByEvent", "loop", "source", "target", "condition", "default")
DECISION_FIELDS = ("name", "hitPolicy", "aggregation", "inputs", "outputs", "expression", "description")
FORM_FIELDS = ("type", "label", "dateLabel", "timeLabel", "description", "required", "validation", "options", "text",
               "subtype", "decimalDigits", "defaultValue", "properties", "conditional")
#: Groups of the workbench's readable list, in order.
GROUPS = ("tasks", "flows", "deadlines", "decisions", "forms", "translations", "files")

_FLOW_NODE_KINDS = {"task", "subProcess", "callActivity", "transaction", "adHocSubProcess"}
_CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}


class _Unreadable(Exception):
    pass


# --- the whole set ----------------------------------------------------------------------------------------------

def compare(old_files: dict[str, str], new_files: dict[str, str]) -> dict:
    """Everything that differs between two definition sets, as plain data (see the module's description)."""
    old_files, new_files = dict(old_files or {}), dict(new_files or {})
    names = sorted(set(old_files) | set(new_files))
    files = {"added": [n for n in names if n not in old_files],
             "removed": [n for n in names if n not in new_files],
             "changed": [n for n in names if n in old_files and n in new_files and old_files[n] != new_files[n]],
             "formatting_only": []}
    unreadable: list[dict] = []
    old, new = _read_all(old_files, "old", unreadable), _read_all(new_files, "new", unreadable)
    broken = {u["file"] for u in unreadable}
    for side in (old, new):  # a file unreadable on one side is not compared on the other either
        for kind in side.values():
            for name in broken:
                kind.pop(name, None)

    elements = _compare_elements(old["bpmn"], new["bpmn"])
    decisions = _compare_decisions(old["dmn"], new["dmn"])
    forms = _compare_forms(old["form"], new["form"])
    translations = _compare_translations(old["texts"], new["texts"])
    touched = ({e["file"] for e in elements} | {d["file"] for d in decisions} | {f["file"] for f in forms}
               | {t["file"] for t in translations} | broken)
    # A document template is text, compared as a whole: any change of it is a change, never "formatting only".
    files["formatting_only"] = [n for n in files["changed"] if n not in touched and not n.endswith(DOCUMENT_SUFFIX)]
    return {"same": not (files["added"] or files["removed"] or files["changed"]),
            "files": files, "unreadable": unreadable, "elements": elements, "decisions": decisions,
            "forms": forms, "translations": translations}


def changed_element_ids(result: dict, file: str | None = None) -> list[str]:
    """The ids of the process elements added or changed (in ``file`` if given), e.g. to highlight them."""
    return sorted({e["id"] for e in result["elements"] if e["change"] != "removed"
                   and (file is None or e["file"] == file)})


def grouped(result: dict) -> list[tuple[str, list[dict]]]:
    """The changes as the workbench lists them, by kind (``GROUPS``); empty groups are left out.

    Deadline properties of a task are listed under ``deadlines``, its other fields under ``tasks``; sequence
    flows under ``flows``. Each item is the entry of ``compare`` (elements with their ``changes`` split)."""
    tasks, flows, deadlines = [], [], []
    for element in result["elements"]:
        if element["type"] == "sequenceFlow":
            flows.append(element)
            continue
        own = [c for c in element["changes"] if c["field"] not in DEADLINE_FIELDS]
        timing = [c for c in element["changes"] if c["field"] in DEADLINE_FIELDS]
        if own or not timing:
            tasks.append(dict(element, changes=own))
        if timing:
            deadlines.append(dict(element, changes=timing))
    files = result["files"]
    file_items = ([{"file": n, "change": "added"} for n in files["added"]]
                  + [{"file": n, "change": "removed"} for n in files["removed"]]
                  + [{"file": n, "change": "changed"} for n in files["changed"] if n.endswith(DOCUMENT_SUFFIX)]
                  + [{"file": n, "change": "formatting_only"} for n in files["formatting_only"]]
                  + [{"file": u["file"], "change": "unreadable", "side": u["side"], "error": u["error"]}
                     for u in result["unreadable"]])
    groups = {"tasks": tasks, "flows": flows, "deadlines": deadlines, "decisions": result["decisions"],
              "forms": result["forms"], "translations": result["translations"], "files": file_items}
    return [(name, groups[name]) for name in GROUPS if groups[name]]


def _read_all(files: dict[str, str], side: str, unreadable: list) -> dict:
    read = {"bpmn": {}, "dmn": {}, "form": {}, "texts": {}}
    for name in sorted(files):
        text = files[name]
        try:
            if name.endswith(".bpmn"):
                read["bpmn"][name] = _bpmn_elements(_xml(text))
            elif name.endswith(".dmn"):
                read["dmn"][name] = _dmn_decisions(_xml(text))
            elif name.endswith(FORM_SUFFIX):
                read["form"][name] = _form_fields(_json(text))
            elif name.endswith(TEXTS_SUFFIX):
                read["texts"][name] = _texts(_json(text))
        except _Unreadable as err:
            unreadable.append({"file": name, "side": side, "error": str(err)})
    return read


def _xml(text):
    if not isinstance(text, str):
        raise _Unreadable("the file is not text")
    try:
        return parse_xml(text)
    except UnsafeXML as err:
        raise _Unreadable(str(err)) from None


def _json(text):
    if not isinstance(text, str):
        raise _Unreadable("the file is not text")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise _Unreadable(f"invalid JSON: {getattr(err, 'msg', 'nested too deeply')}") from None


def _field_changes(before: dict | None, after: dict | None, order) -> list[dict]:
    """``[{field, before, after}]`` for each field whose value differs, in ``order`` then the rest sorted."""
    before, after = before or {}, after or {}
    keys = [k for k in order if k in before or k in after]
    keys += sorted((set(before) | set(after)) - set(order))
    return [{"field": k, "before": before.get(k), "after": after.get(k)} for k in keys
            if before.get(k) != after.get(k)]


def _change(before, after) -> str:
    return "added" if before is None else "removed" if after is None else "changed"


# --- BPMN -------------------------------------------------------------------------------------------------------

def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _text(element) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _bpmn_elements(root) -> dict:
    """``{(process id, element id): {"file"..., "fields": {...}}}`` for the flow elements of every process."""
    if root.tag != f"{{{BPMN}}}definitions":
        raise _Unreadable("the file is not BPMN 2.0")
    found = {}
    for process in root.iterfind(f"{{{BPMN}}}process"):
        pid = process.get("id") or ""
        lanes = {}
        for lane in process.iter(f"{{{BPMN}}}lane"):  # document order: a child lane overrides its parent
            for ref in lane.iterfind(f"{{{BPMN}}}flowNodeRef"):
                if ref.text and ref.text.strip():
                    lanes[ref.text.strip()] = (lane.get("name") or "").strip() or lane.get("id")
        _walk(process, pid, None, lanes, found)
    return found


def _walk(container, pid, inside, lanes, found):
    defaults = {el.get("default") for el in container if isinstance(el.tag, str) and el.get("default")}
    for element in container:
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        kind = _local(element)
        if not (kind in _FLOW_NODE_KINDS or kind == "sequenceFlow" or kind.endswith(("Task", "Event", "Gateway"))):
            continue
        eid = element.get("id")
        fields = _node_fields(element, kind, lanes.get(eid), inside) if kind != "sequenceFlow" \
            else _flow_fields(element, eid in defaults)
        found[(pid, eid)] = {"process": pid, "id": eid, "type": kind, "fields": fields}
        if kind in _CONTAINERS:
            _walk(element, pid, eid, lanes, found)


def _clean(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def _node_fields(element, kind, lane, inside) -> dict:
    fields = {"name": (element.get("name") or "").strip() or None, "type": kind, "lane": lane, "inside": inside}
    for prop in element.iterfind(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}properties/{{{SPIFF}}}property"):
        if prop.get("name"):
            fields[prop.get("name")] = prop.get("value")
    fields["documentation"] = _text(element.find(f"{{{BPMN}}}documentation"))
    fields["script"] = _text(element.find(f"{{{BPMN}}}script"))
    for tag in ("preScript", "postScript", "calledDecisionId"):
        fields[tag] = _text(element.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}{tag}"))
    fields["calledElement"] = element.get("calledElement")
    timers, events = [], []
    for definition in element:
        dkind = _local(definition)
        if not dkind.endswith("EventDefinition"):
            continue
        if dkind == "timerEventDefinition":
            for part in definition:
                if _local(part) in ("timeDuration", "timeDate", "timeCycle"):
                    timers.append(f"{_local(part)} {_text(part) or ''}".strip())
        ref = next((definition.get(a) for a in ("messageRef", "signalRef", "errorRef", "escalationRef")
                    if definition.get(a)), None)
        condition = _text(definition.find(f"{{{BPMN}}}condition"))
        events.append(" ".join(x for x in (dkind[: -len("EventDefinition")], ref, condition) if x))
    fields["timer"] = "; ".join(timers) or None
    fields["event"] = "; ".join(events) or None
    if kind == "boundaryEvent":
        fields["attachedTo"] = element.get("attachedToRef")
        fields["cancelActivity"] = element.get("cancelActivity", "true").strip().lower() != "false"
    if kind == "startEvent" and element.getparent() is not None and _local(element.getparent()) in _CONTAINERS:
        fields["isInterrupting"] = element.get("isInterrupting", "true").strip().lower() != "false"
    if kind in _CONTAINERS:
        fields["triggeredByEvent"] = element.get("triggeredByEvent", "false").strip().lower() == "true" or None
    for loop in element:
        if _local(loop) == "multiInstanceLoopCharacteristics":
            sequential = loop.get("isSequential", "false").strip().lower() == "true"
            fields["loop"] = "multi-instance, sequential" if sequential else "multi-instance, parallel"
        elif _local(loop) == "standardLoopCharacteristics":
            fields["loop"] = "loop"
    return _clean(fields)


def _flow_fields(element, is_default) -> dict:
    return _clean({"name": (element.get("name") or "").strip() or None, "type": "sequenceFlow",
                   "source": element.get("sourceRef"), "target": element.get("targetRef"),
                   "condition": _text(element.find(f"{{{BPMN}}}conditionExpression")),
                   "default": True if is_default else None})


def _compare_elements(old: dict, new: dict) -> list[dict]:
    def index(side):
        out = {}
        for name, elements in sorted(side.items()):
            for key, element in elements.items():
                out.setdefault(key, dict(element, file=name))
        return out
    before, after = index(old), index(new)
    result = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        changes = _field_changes(b and b["fields"], a and a["fields"], ELEMENT_FIELDS)
        if b is not None and a is not None and not changes:
            continue
        current = a or b
        result.append({"process": key[0], "id": key[1], "type": current["type"],
                       "name": current["fields"].get("name") or (b or {}).get("fields", {}).get("name"),
                       "file": current["file"], "change": _change(b, a), "changes": changes})
    return result


# --- DMN --------------------------------------------------------------------------------------------------------

def _dmn_decisions(root) -> dict:
    tag = root.tag if isinstance(root.tag, str) else ""
    if not (tag.endswith("}definitions") and "omg.org/spec/DMN" in tag):
        raise _Unreadable("the file is not DMN")
    found = {}
    for decision in root.iter("{*}decision"):
        did = decision.get("id") or ""
        table = decision.find("{*}decisionTable")
        fields = {"name": (decision.get("name") or "").strip() or None,
                  "description": _text(decision.find("{*}description")),
                  "expression": _text(decision.find("{*}literalExpression"))}
        rules = {}
        if table is not None:
            inputs = [_text(i.find("{*}inputExpression")) or (i.get("label") or "").strip() or i.get("id") or "?"
                      for i in table.iterfind("{*}input")]
            outputs = [(o.get("name") or o.get("label") or o.get("id") or "?").strip()
                       for o in table.iterfind("{*}output")]
            fields.update(hitPolicy=table.get("hitPolicy", "UNIQUE"), aggregation=table.get("aggregation"),
                          inputs=", ".join(inputs) or None, outputs=", ".join(outputs) or None)
            for position, rule in enumerate(table.iterfind("{*}rule"), 1):
                rid = rule.get("id") or f"#{position}"
                cells_in = [_text(e.find("{*}text")) or "" for e in rule.iterfind("{*}inputEntry")]
                cells_out = [_text(e.find("{*}text")) or "" for e in rule.iterfind("{*}outputEntry")]
                rules.setdefault(rid, {
                    "description": _text(rule.find("{*}description")),
                    "when": [[inputs[i] if i < len(inputs) else f"#{i + 1}", cell] for i, cell in enumerate(cells_in)],
                    "then": [[outputs[i] if i < len(outputs) else f"#{i + 1}", cell]
                             for i, cell in enumerate(cells_out)]})
        found.setdefault(did, {"fields": _clean(fields), "rules": rules})
    return found


def _ordered_keys(before: dict, after: dict) -> list:
    """Keys in the new order, then the removed ones in their old order."""
    return list(after) + [k for k in before if k not in after]


def _compare_decisions(old: dict, new: dict) -> list[dict]:
    def index(side):
        out = {}
        for name, decisions in sorted(side.items()):
            for did, decision in decisions.items():
                out.setdefault(did, dict(decision, file=name))
        return out
    before, after = index(old), index(new)
    result = []
    for did in sorted(set(before) | set(after)):
        b, a = before.get(did), after.get(did)
        changes = _field_changes(b and b["fields"], a and a["fields"], DECISION_FIELDS)
        b_rules, a_rules = (b or {}).get("rules", {}), (a or {}).get("rules", {})
        rules = [{"rule": rid, "change": _change(b_rules.get(rid), a_rules.get(rid)),
                  "before": b_rules.get(rid), "after": a_rules.get(rid)}
                 for rid in _ordered_keys(b_rules, a_rules) if b_rules.get(rid) != a_rules.get(rid)]
        if b is not None and a is not None and not changes and not rules:
            continue
        current = a or b
        result.append({"decision": did, "name": current["fields"].get("name"), "file": current["file"],
                       "change": _change(b, a), "changes": changes, "rules": rules})
    return result


# --- forms ------------------------------------------------------------------------------------------------------

def _form_fields(data) -> dict:
    if not isinstance(data, dict):
        raise _Unreadable("the form is not a JSON object")
    found: dict = {}
    _components(data.get("components"), "", found)
    return found


def _components(components, prefix, found):
    if not isinstance(components, list):
        return
    for position, component in enumerate(components, 1):
        if not isinstance(component, dict):
            continue
        key, path, ctype = component.get("key"), component.get("path"), component.get("type")
        name = key if isinstance(key, str) and key else path if isinstance(path, str) and path else None
        ident = prefix + name if name else "#" + str(component.get("id") or f"{prefix}{position}")
        children = component.get("components")
        if ctype == "group" and not name:  # a group without a path only lays its fields out
            _components(children, prefix, found)
            continue
        found.setdefault(ident, _component_fields(component))
        if isinstance(children, list):
            _components(children, prefix + name + "." if name else prefix, found)


def _plain(value):
    """A JSON value as short plain text (for values that are not simple)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _component_fields(component: dict) -> dict:
    validate = component.get("validate") if isinstance(component.get("validate"), dict) else {}
    values = component.get("values")
    options = None
    if isinstance(values, list):
        options = [f"{v.get('value')} ({v.get('label')})" if v.get("label") not in (None, v.get("value"))
                   else str(v.get("value")) for v in values if isinstance(v, dict)]
    elif component.get("valuesKey"):
        options = [f"valuesKey {component.get('valuesKey')}"]
    properties = component.get("properties") if isinstance(component.get("properties"), dict) else {}
    fields = {"type": _plain(component.get("type")), "label": _plain(component.get("label")),
              "dateLabel": _plain(component.get("dateLabel")), "timeLabel": _plain(component.get("timeLabel")),
              "description": _plain(component.get("description")),
              "required": True if validate.get("required") is True else None,
              "validation": ", ".join(f"{k}={_plain(validate[k])}" for k in sorted(validate) if k != "required")
              or None,
              "options": options or None, "text": _plain(component.get("text")),
              "subtype": _plain(component.get("subtype")), "decimalDigits": _plain(component.get("decimalDigits")),
              "defaultValue": _plain(component.get("defaultValue")),
              "properties": ", ".join(f"{k}={_plain(properties[k])}" for k in sorted(properties)) or None,
              "conditional": _plain((component.get("conditional") or {}).get("hide"))
              if isinstance(component.get("conditional"), dict) else None}
    return _clean(fields)


def _compare_forms(old: dict, new: dict) -> list[dict]:
    def index(side):
        return {name[: -len(FORM_SUFFIX)]: (name, fields) for name, fields in side.items()}
    before, after = index(old), index(new)
    result = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        b_fields, a_fields = (b[1] if b else {}), (a[1] if a else {})
        entries = []
        for ident in _ordered_keys(b_fields, a_fields):
            fb, fa = b_fields.get(ident), a_fields.get(ident)
            changes = _field_changes(fb, fa, FORM_FIELDS)
            if changes:
                shown = fa or fb
                entries.append({"field": ident, "label": next((shown[k] for k in ("label", "dateLabel", "text")
                                                               if shown.get(k)), None),
                                "change": _change(fb, fa), "changes": changes})
        if b is not None and a is not None and not entries:
            continue
        result.append({"form": key, "file": (a or b)[0], "change": _change(b, a), "fields": entries})
    return result


# --- translations -----------------------------------------------------------------------------------------------

def _texts(data) -> dict:
    if not isinstance(data, dict):
        raise _Unreadable("the translations are not a JSON object of languages")
    return {str(lang): {str(k): _plain(v) for k, v in table.items()} if isinstance(table, dict) else {}
            for lang, table in data.items()}


def _compare_translations(old: dict, new: dict) -> list[dict]:
    result = []
    for name in sorted(set(old) | set(new)):
        b, a = old.get(name), new.get(name)
        languages = []
        for lang in sorted(set(b or {}) | set(a or {})):
            tb, ta = (b or {}).get(lang, {}), (a or {}).get(lang, {})
            keys = [{"key": k, "change": _change(tb.get(k), ta.get(k)), "before": tb.get(k), "after": ta.get(k)}
                    for k in sorted(set(tb) | set(ta)) if tb.get(k) != ta.get(k)]
            if keys:
                languages.append({"language": lang, "keys": keys})
        if b is not None and a is not None and not languages:
            continue
        result.append({"file": name, "change": _change(b, a), "languages": languages})
    return result
