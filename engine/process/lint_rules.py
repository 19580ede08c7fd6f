"""Lint rules on the shape of a definition set (workflows/README.md §5 and §6):

- ``unreachable``: a flow node that no path from a start event reaches;
- ``loop``: a cycle of sequence flows that never waits (no user task, receive task, catch event ...);
- ``dmn_gap`` / ``dmn_overlap``: a UNIQUE decision table that leaves inputs unmatched, or two rules that match
  the same inputs;
- ``unset_field``: a name that a gateway condition or a called decision's input reads and that no form, script,
  decision or start datum sets.

Every rule is sound rather than complete: when it cannot decide (an expression it does not understand, a form,
decision or called process missing from the set), it says nothing, so it never stops a correct set from being
published. All graph walks are iterative (definitions may be deep or large, see tests/test_attacks.py).
"""
from __future__ import annotations

import ast
import difflib
import math
import re
from collections import deque
from dataclasses import dataclass

from ..i18n import N_
from .definitions import NS, Problem, _human_tasks, _properties
from .restricted import restricted_globals
from .scripting import ScriptCompileError, compile_expression, compile_script

_BPMN = "{%s}" % NS["bpmn"]
_SPIFF = "{%s}" % NS["spiffworkflow"]

_ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
               "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_FLOW_NODES = _ACTIVITIES | _EVENTS | _GATEWAYS
_EMBEDDED = ("subProcess", "transaction", "adHocSubProcess")
#: Nodes where a case stops until a person or an event moves it on. A plain ``bpmn:task`` is one too: SpiffWorkflow
#: marks it manual, so the engine waits for someone to complete it (it never runs it by itself).
_WAITS = {"userTask", "manualTask", "receiveTask", "task", "intermediateCatchEvent", "eventBasedGateway"}
#: Gateways whose outgoing flows are chosen by their conditions.
_DECIDING = {"exclusiveGateway", "inclusiveGateway", "complexGateway"}

#: What the engine seeds a case's process with (engine/services/cases.py ``open_case``, workflows/README.md §9).
START_DATA = ("case_id", "channel", "summary", "subject_kind", "mahalla_id", "district_id")

#: Messages and hints are catalogue templates (``N_``), told in the reader's language by ``problem_text``.
UNREACHABLE_MESSAGE = N_("the element is never reached: no path from a start event leads to it")
UNREACHABLE_HINT = N_("connect it with a sequence flow or remove it")
LOOP_MESSAGE = N_("the loop %(cycle)s never waits (no user task, receive task, catch event or event-based gateway "
                  "in it): once entered, it can run without end")
LOOP_HINT = N_("put a user task or a catch event (timer, message) in the loop, or let a script or decision in the "
               "loop set what the way out's condition reads (a counter)")
GAP_MESSAGE = N_("the decision table leaves gaps: no rule matches %(inputs)s")
GAP_HINT = N_("add a rule for these inputs, or leave the cell of an input empty (-) in the rule that should cover "
              "them")
OVERLAP_MESSAGE = N_("rules %(first)s and %(second)s both match the same inputs, which UNIQUE does not allow")
OVERLAP_HINT = N_("change a cell so that no input matches both rules, or use hit policy COLLECT")
UNSET_MESSAGES = {"condition": N_("the condition uses '%(name)s', which no form, script or decision sets"),
                  "input expression": N_("the input expression uses '%(name)s', which no form, script or "
                                         "decision sets")}
UNSET_HINT = N_("set it in a form of a user task, a script task or a decision before it is read")
CLOSE_HINT = N_("check the spelling; fields set here: %(close)s")


def _local(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _is_bpmn(element) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(_BPMN)


# --- facts about the whole set ------------------------------------------------------------------------------------

class SetFacts:
    """What the set's forms, scripts and decisions set, and what its processes call, read once for every rule."""

    def __init__(self, trees: dict, forms: dict):
        self.bpmn = {name: root for name, root in trees.items() if name.endswith(".bpmn")}
        self.decisions = {}  # decision id -> decision element
        for name, root in trees.items():
            if not name.endswith(".bpmn"):
                for decision in root.iter("{*}decision"):
                    if decision.get("id"):
                        self.decisions.setdefault(decision.get("id"), decision)
        self.processes = {}
        for root in self.bpmn.values():
            for process in root.iter(_BPMN + "process"):
                if process.get("id"):
                    self.processes.setdefault(process.get("id"), process)
        self.called_decisions = set()
        # ``decidable`` turns False when something sets data the lint cannot see: the name rule then says nothing.
        self.decidable = True
        self.set_names: set[str] = set(START_DATA)
        for root in self.bpmn.values():
            self._collect(root, forms)
        for decision_id in self.called_decisions:
            decision = self.decisions.get(decision_id)
            if decision is None:
                self.decidable = False
                continue
            self.set_names |= _decision_outputs(decision)
        self._process_waits: dict[str, bool] | None = None
        self._close: dict[str, list[str]] = {}

    def _collect(self, root, forms):
        # A task's answers are its form's fields. A user or manual task without a form is reported by the form
        # rule: what its form will set is not known yet.
        for prop in root.iter(_SPIFF + "property"):
            if prop.get("name") == "formKey" and prop.get("value"):
                form = forms.get(prop.get("value"))
                if form is None:
                    self.decidable = False
                else:
                    self.set_names |= form.field_keys()
        if any(not _properties(task).get("formKey") for task in _human_tasks(root)):
            self.decidable = False
        scripts = [el.text for el in root.iter(_BPMN + "script")]
        scripts += [el.text for el in root.iter(_SPIFF + "preScript", _SPIFF + "postScript")]
        for text in scripts:
            names = _assigned_names(text or "")
            if names is None:
                self.decidable = False
            else:
                self.set_names |= names
        for task in root.iter(_BPMN + "businessRuleTask"):
            called = task.find(f"{_BPMN}extensionElements/{_SPIFF}calledDecisionId")
            if called is None or not (called.text or "").strip():
                self.decidable = False
            else:
                self.called_decisions.add(called.text.strip())
        for call in root.iter(_BPMN + "callActivity"):
            if call.get("calledElement") not in self.processes:
                self.decidable = False
        # Other ways BPMN puts data into a case: data objects and stores, inputs and outputs, multi-instance items,
        # message variables, service task results.
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            local = _local(element)
            if local in ("dataObject", "dataObjectReference", "dataStore", "dataStoreReference", "dataInput",
                         "dataOutput", "inputDataItem", "outputDataItem", "property") and _is_bpmn(element):
                self.set_names |= {v for v in (element.get("id"), element.get("name")) if v}
            elif local in ("messageVariable", "variableName") and element.tag.startswith(_SPIFF):
                self.set_names |= set(re.findall(r"[A-Za-z_]\w*", element.text or ""))
            if element.get("resultVariable"):
                self.set_names.add(element.get("resultVariable"))

    def process_waits(self, process_id) -> bool:
        """Whether the called process (with what it calls in turn) can stop at a wait state; True if unknown."""
        if self._process_waits is None:
            direct, calls = {}, {}
            for pid, process in self.processes.items():
                direct[pid] = any(_local(el) in _WAITS and _is_bpmn(el) for el in process.iter())
                calls[pid] = {el.get("calledElement") for el in process.iter(_BPMN + "callActivity")}
            waits = {pid: direct[pid] or any(c not in self.processes for c in calls[pid]) for pid in direct}
            changed = True
            while changed:  # a fixed point over the call graph, without recursion
                changed = False
                for pid in waits:
                    if not waits[pid] and any(waits.get(c, True) for c in calls[pid]):
                        waits[pid] = changed = True
            self._process_waits = waits
        return self._process_waits.get(process_id, True)

    def element_waits(self, element) -> bool:
        """Whether an embedded sub-process or a call activity can stop at a wait state (True if unknown)."""
        if _local(element) == "callActivity":
            return self.process_waits(element.get("calledElement"))
        for inner in element.iter():
            if not _is_bpmn(inner):
                continue
            if _local(inner) in _WAITS:
                return True
            if _local(inner) == "callActivity" and self.process_waits(inner.get("calledElement")):
                return True
        return False

    def close_matches(self, name) -> list[str]:
        """The set's keys that look like ``name`` (for the first hundred names asked about: a set full of unknown
        names gets the general hint, quickly)."""
        if name not in self._close and len(self._close) < 100:
            self._close[name] = difflib.get_close_matches(name, sorted(self.set_names), n=3, cutoff=0.6)
        return self._close.get(name, [])

    def known_names(self) -> set[str]:
        g = restricted_globals()
        builtins = set(g["__builtins__"]) | set(g)
        return self.set_names | {n for n in builtins if not n.startswith("_")} | {"True", "False", "None"}


def _decision_outputs(decision) -> set[str]:
    return {o.get("name") for o in decision.iter("{*}output") if o.get("name")}


def _assigned_names(text: str) -> set[str] | None:
    """Every name a script may bind (a superset: loop variables and function names too); None if it does not
    compile (the script rule reports it)."""
    if not text.strip():
        return set()
    try:
        compile_script(text)
        tree = ast.parse(text)
    except (ScriptCompileError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def _read_names(text: str) -> list[str] | None:
    """The free names an expression reads, in the order they appear; None if it does not compile (the condition
    rule reports it)."""
    try:
        compile_expression(text)
        tree = ast.parse(text.strip(), mode="eval")
    except (ScriptCompileError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bound, reads = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                reads.append(node)
            else:
                bound.add(node.id)  # comprehension variables and := targets
        elif isinstance(node, ast.arg):
            bound.add(node.arg)  # lambda parameters
    names = []
    for node in sorted(reads, key=lambda n: (n.lineno, n.col_offset)):
        if node.id not in bound and node.id not in names:
            names.append(node.id)
    return names


# --- flows: reachability and loops ----------------------------------------------------------------------------------

@dataclass
class _Scope:
    element: object
    nodes: list  # flow node elements, in document order
    by_id: dict
    succ: dict  # id -> [target ids], in document order of the flows
    flows_out: dict  # id -> [sequenceFlow elements]


def _scopes(root):
    for process in root.iter(_BPMN + "process"):
        yield process
    for tag in _EMBEDDED:
        yield from root.iter(_BPMN + tag)


def _scope(element) -> _Scope:
    nodes = [c for c in element if _is_bpmn(c) and _local(c) in _FLOW_NODES and c.get("id")]
    by_id = {}
    for node in nodes:
        by_id.setdefault(node.get("id"), node)
    succ = {i: [] for i in by_id}
    flows_out = {i: [] for i in by_id}
    for flow in element.iterfind("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in by_id and target in by_id:
            succ[source].append(target)
            flows_out[source].append(flow)
    return _Scope(element, nodes, by_id, succ, flows_out)


def lint_flows(name: str, root, facts: SetFacts) -> list[Problem]:
    problems = []
    scopes = [_scope(element) for element in _scopes(root)]
    scopes.sort(key=lambda s: s.element.sourceline or 0)
    for scope in scopes:
        problems += _unreachable(name, scope)
    for scope in scopes:
        problems += _loops(name, scope, facts)
    return problems


def _has_definition(node, local) -> bool:
    return node.find(f"bpmn:{local}", NS) is not None


def _unreachable(name, scope: _Scope) -> list[Problem]:
    if _local(scope.element) == "adHocSubProcess":
        targets = {t for ts in scope.succ.values() for t in ts}
        starts = [n for n in scope.nodes if n.get("id") not in targets]
    else:
        starts = [n for n in scope.nodes if _local(n) == "startEvent"]
    if not starts:
        return []  # SpiffWorkflow refuses a process without a start event; nothing more to say here
    # Link catch events are not run by SpiffWorkflow 3.2; they are counted as reached rather than guessed at.
    starts += [n for n in scope.nodes if _local(n) == "intermediateCatchEvent"
               and _has_definition(n, "linkEventDefinition")]
    succ = {i: list(ts) for i, ts in scope.succ.items()}
    for node in scope.nodes:
        if _local(node) == "boundaryEvent" and node.get("attachedToRef") in succ:
            succ[node.get("attachedToRef")].append(node.get("id"))
    reached = {n.get("id") for n in starts}
    queue = deque(reached)
    while queue:
        for target in succ.get(queue.popleft(), ()):
            if target not in reached:
                reached.add(target)
                queue.append(target)
    problems = []
    for node in scope.nodes:
        nid, local = node.get("id"), _local(node)
        if nid in reached or local in ("boundaryEvent", "startEvent"):
            continue  # a boundary event is reached through its task; every start event starts
        if local == "subProcess" and node.get("triggeredByEvent") == "true":
            continue  # an event sub-process is started by its event, not by a flow
        if node.get("isForCompensation") == "true":
            continue  # a compensation handler is reached through an association
        problems.append(Problem.of(name, UNREACHABLE_MESSAGE, "unreachable", nid, node.sourceline,
                                   UNREACHABLE_HINT))
    return problems


def _automatic(node, facts) -> bool:
    local = _local(node)
    if local in _WAITS or local == "boundaryEvent":
        return False
    if local == "startEvent":
        return not any(_local(c).endswith("EventDefinition") for c in node)
    if local in _EMBEDDED or local == "callActivity":
        return not facts.element_waits(node)
    return True


def _strongly_connected(ids, succ):
    """Tarjan's strongly connected components, iteratively; components in no particular order."""
    index, low, on_stack, stack, components, counter = {}, {}, set(), [], [], 0
    for root in ids:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _loops(name, scope: _Scope, facts) -> list[Problem]:
    has_in = {t for ts in scope.succ.values() for t in ts}
    automatic = [n.get("id") for n in scope.nodes
                 if scope.succ[n.get("id")] and n.get("id") in has_in and _automatic(n, facts)]
    keep = set(automatic)
    succ = {i: [t for t in scope.succ[i] if t in keep] for i in automatic}
    order = {n.get("id"): position for position, n in enumerate(scope.nodes)}
    problems = []
    components = [c for c in _strongly_connected(automatic, succ)
                  if len(c) > 1 or any(i in succ[i] for i in c)]
    for component in sorted(components, key=lambda c: min(order[i] for i in c)):
        if _may_leave(component, scope, facts):
            continue
        first = min(component, key=order.get)
        cycle = _shortest_cycle(first, component, succ)
        node = scope.by_id[first]
        problems.append(Problem.of(name, LOOP_MESSAGE, "loop", first, node.sourceline, LOOP_HINT,
                                   cycle=" → ".join(cycle)))
    return problems


def _shortest_cycle(first, component, succ) -> list[str]:
    parent, queue = {}, deque([first])
    while queue:
        node = queue.popleft()
        for target in succ[node]:
            if target == first:
                path = [node]
                while path[-1] != first:
                    path.append(parent[path[-1]])
                return [first, *reversed(path[:-1]), first]
            if target in component and target not in parent and target != first:
                parent[target] = node
                queue.append(target)
    return [first, first]  # not reached: every node of a component lies on a cycle through the first


def _may_leave(component, scope: _Scope, facts) -> bool:
    """Whether the loop may end by itself: a way out whose condition reads what the loop itself changes (a
    counter), or a step that may change anything (a call activity, a sub-process, a service task). A loop whose
    ways out read nothing the loop changes takes the same branch at every pass."""
    exits = [(i, flow) for i in component for flow in scope.flows_out[i] if flow.get("targetRef") not in component]
    if not exits:
        return False
    written = set()
    for i in component:
        node = scope.by_id[i]
        local = _local(node)
        if local in _EMBEDDED or local in ("callActivity", "serviceTask"):
            return True
        texts = [node.findtext("bpmn:script", default="", namespaces=NS)] if local == "scriptTask" else []
        texts += [el.text or "" for el in node.iterfind(f"{_BPMN}extensionElements/{_SPIFF}preScript")]
        texts += [el.text or "" for el in node.iterfind(f"{_BPMN}extensionElements/{_SPIFF}postScript")]
        for text in texts:
            names = _assigned_names(text)
            if names is None:
                return True
            written |= names
        if local == "businessRuleTask":
            called = (node.findtext(f"{_BPMN}extensionElements/{_SPIFF}calledDecisionId") or "").strip()
            decision = facts.decisions.get(called)
            if decision is None:
                return True
            written |= _decision_outputs(decision)
    for source, flow in exits:
        node = scope.by_id[source]
        if _local(node) in _DECIDING:
            conditions = [f.find("bpmn:conditionExpression", NS) for f in scope.flows_out[source]]
        elif flow.find("bpmn:conditionExpression", NS) is not None:
            conditions = [flow.find("bpmn:conditionExpression", NS)]
        else:
            continue  # a parallel split: the loop goes on beside the way out
        for condition in conditions:
            if condition is None:
                continue
            names = _read_names(condition.text or "")
            if names is None or set(names) & written:
                return True
    return False


# --- names that conditions and decisions read --------------------------------------------------------------------

def _unset_problems(name, text, element_id, line, what, facts: SetFacts, known) -> list[Problem]:
    names = _read_names(text or "")
    if not names:
        return []
    problems = []
    for read in names:
        if read in known or read.startswith("_"):
            continue
        close = facts.close_matches(read)
        problems.append(Problem.of(name, UNSET_MESSAGES[what], "unset_field", element_id, line,
                                   CLOSE_HINT if close else UNSET_HINT, name=read, close=", ".join(close)))
    return problems


def lint_condition_names(name: str, root, facts: SetFacts) -> list[Problem]:
    if not facts.decidable:
        return []
    known, problems = facts.known_names(), []
    for flow in root.iter(_BPMN + "sequenceFlow"):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None:
            problems += _unset_problems(name, condition.text, flow.get("id"), condition.sourceline, "condition",
                                        facts, known)
    return problems


def lint_decision_names(name: str, root, facts: SetFacts) -> list[Problem]:
    if not facts.decidable:
        return []
    known, problems = facts.known_names(), []
    for decision in root.iter("{*}decision"):
        if decision.get("id") not in facts.called_decisions or facts.decisions.get(decision.get("id")) is not decision:
            continue
        for expression in decision.iter("{*}inputExpression"):
            text = expression.find("{*}text")
            if text is not None and (text.text or "").strip():
                problems += _unset_problems(name, text.text, expression.get("id"), text.sourceline,
                                            "input expression", facts, known)
    return problems


# --- decision tables: gaps and overlaps ----------------------------------------------------------------------------

_INPUT = "dmninputexpr"  # what SpiffWorkflow's DMN engine calls the input value in a cell with "?"
_QUESTION_MARK = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')  # the engine's own pattern
_INTEGER_TYPES = {"integer", "int", "long", "short", "byte"}
_REAL_TYPES = {"number", "double", "float", "decimal"}
#: Larger tables are not checked for gaps and overlaps (the work grows with the square of the rules), and the
#: search for a gap gives up, saying nothing, after so many cell checks.
_MAX_RULES, _MAX_CELLS, _MAX_WORK = 200, 2_000, 1_000_000
_WILD, _BROKEN = "wildcard", "broken"  # an empty cell; a cell that is not even Python (SpiffWorkflow fails on it)
_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}


@dataclass(frozen=True)
class _Span:
    lo: float
    lo_in: bool
    hi: float
    hi_in: bool


_ALL = _Span(-math.inf, False, math.inf, False)


@dataclass(frozen=True)
class _Cond:
    """What one cell accepts: numbers (a union of spans) or values (a set, or everything but a set)."""
    kind: str  # "num", "str" or "bool"
    spans: tuple = ()
    values: frozenset = frozenset()
    negated: bool = False

    def contains(self, value) -> bool:
        if self.kind == "num":
            return any(_in_span(value, s) for s in self.spans)
        return (value in self.values) != self.negated


def _in_span(x, s: _Span) -> bool:
    return (s.lo < x or (s.lo_in and s.lo == x)) and (x < s.hi or (s.hi_in and s.hi == x))


def _span_and(a: _Span, b: _Span) -> _Span:
    lo, lo_in = (a.lo, a.lo_in) if a.lo > b.lo else (b.lo, b.lo_in) if b.lo > a.lo else (a.lo, a.lo_in and b.lo_in)
    hi, hi_in = (a.hi, a.hi_in) if a.hi < b.hi else (b.hi, b.hi_in) if b.hi < a.hi else (a.hi, a.hi_in and b.hi_in)
    return _Span(lo, lo_in, hi, hi_in)


def _merged(spans) -> tuple:
    """The same numbers as disjoint spans in order, empty ones dropped (so that ``and`` and ``or`` of many
    comparisons stay as small as the bounds they name)."""
    spans = sorted((s for s in spans if s.lo < s.hi or (s.lo == s.hi and s.lo_in and s.hi_in)),
                   key=lambda s: (s.lo, not s.lo_in))
    out = []
    for span in spans:
        last = out[-1] if out else None
        if last is not None and (span.lo < last.hi or (span.lo == last.hi and (span.lo_in or last.hi_in))):
            if span.hi > last.hi or (span.hi == last.hi and span.hi_in and not last.hi_in):
                out[-1] = _Span(last.lo, last.lo_in, span.hi, span.hi_in)
        else:
            out.append(span)
    return tuple(out)


def _both(a: _Cond | None, b: _Cond | None) -> _Cond | None:
    if a is None or b is None or a.kind != b.kind:
        return None
    if a.kind == "num":
        return _Cond("num", _merged(_span_and(x, y) for x in a.spans for y in b.spans))
    if not a.negated and not b.negated:
        return _Cond(a.kind, values=a.values & b.values)
    if a.negated and b.negated:
        return _Cond(a.kind, values=a.values | b.values, negated=True)
    positive, negative = (a, b) if not a.negated else (b, a)
    return _Cond(a.kind, values=positive.values - negative.values)


def _either(a: _Cond | None, b: _Cond | None) -> _Cond | None:
    if a is None or b is None or a.kind != b.kind:
        return None
    if a.kind == "num":
        return _Cond("num", _merged(a.spans + b.spans))
    if not a.negated and not b.negated:
        return _Cond(a.kind, values=a.values | b.values)
    if a.negated and b.negated:
        return _Cond(a.kind, values=a.values & b.values, negated=True)
    positive, negative = (a, b) if not a.negated else (b, a)
    return _Cond(a.kind, values=negative.values - positive.values, negated=True)


def _literal(node):
    """A number, string or boolean written as a literal, else raises ValueError."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool, int, float)):
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise ValueError
        return node.value
    raise ValueError


def _kind(value) -> str:
    return "bool" if isinstance(value, bool) else "str" if isinstance(value, str) else "num"


def _points(values) -> tuple:
    return tuple(_Span(v, True, v, True) for v in values)


def _compare(op, value) -> _Cond | None:
    """The input ``op`` a literal (or a container of literals for ``in``)."""
    if isinstance(op, (ast.In, ast.NotIn)):
        kinds = {_kind(v) for v in value}
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        if kind == "num":
            inside = _Cond("num", _points(value))
            if isinstance(op, ast.In):
                return inside
            out = _Cond("num", (_ALL,))
            for v in value:
                out = _both(out, _Cond("num", (_Span(-math.inf, False, v, False), _Span(v, False, math.inf, False))))
            return out
        return _Cond(kind, values=frozenset(value), negated=isinstance(op, ast.NotIn))
    kind = _kind(value)
    if isinstance(op, ast.Eq):
        return _Cond("num", _points([value])) if kind == "num" else _Cond(kind, values=frozenset([value]))
    if isinstance(op, ast.NotEq):
        if kind == "num":
            return _Cond("num", (_Span(-math.inf, False, value, False), _Span(value, False, math.inf, False)))
        return _Cond(kind, values=frozenset([value]), negated=True)
    if kind != "num":
        return None
    return _Cond("num", ({ast.Lt: _Span(-math.inf, False, value, False), ast.LtE: _Span(-math.inf, False, value, True),
                          ast.Gt: _Span(value, False, math.inf, False),
                          ast.GtE: _Span(value, True, math.inf, False)}[type(op)],))


def _is_input(node) -> bool:
    return isinstance(node, ast.Name) and node.id == _INPUT


def _condition(node) -> _Cond | None:
    if isinstance(node, ast.BoolOp):
        parts = [_condition(v) for v in node.values]
        result = parts[0]
        for part in parts[1:]:
            result = (_both if isinstance(node.op, ast.And) else _either)(result, part)
        return result
    if not isinstance(node, ast.Compare):
        return None
    operands = [node.left, *node.comparators]
    result = None
    for left, op, right in zip(operands, node.ops, operands[1:]):
        try:
            if _is_input(left) and isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.Tuple, ast.List, ast.Set)) or not right.elts:
                    return None
                part = _compare(op, [_literal(e) for e in right.elts])
            elif _is_input(left) and type(op) in _FLIP:
                part = _compare(op, _literal(right))
            elif _is_input(right) and type(op) in _FLIP:
                part = _compare(_FLIP[type(op)](), _literal(left))
            else:
                return None
        except ValueError:
            return None
        result = part if result is None else _both(result, part)
        if result is None:
            return None
    return result


def parse_cell(text: str | None):
    """A cell as SpiffWorkflow's DMN engine reads it: ``_WILD`` (empty or ``-``), a ``_Cond``, None when the
    cell is an expression the lint does not understand, or ``_BROKEN`` when it is not an expression at all."""
    if text is None or text == "" or text == "-":
        return _WILD
    if _QUESTION_MARK.search(text):
        expression = _QUESTION_MARK.sub(_INPUT, text)
    else:
        try:
            ast.parse(text)
            expression = f"({_INPUT}) == ({text})"
        except (SyntaxError, ValueError):
            expression = _INPUT + text
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _BROKEN
    return _condition(tree.body)


@dataclass
class _Column:
    label: str
    cells: list  # one per rule: _WILD, a _Cond or None
    texts: list
    kind: str | None
    integer: bool
    declared: list | None  # the values the input may take, when the table says so
    declared_unknown: bool


def _columns(table) -> list[_Column] | None:
    inputs = table.findall("{*}input")
    rules = table.findall("{*}rule")
    if not inputs or len(rules) > _MAX_RULES or len(inputs) * len(rules) > _MAX_CELLS:
        return None
    entries = [rule.findall("{*}inputEntry") for rule in rules]
    if any(len(e) != len(inputs) for e in entries):
        return None  # SpiffWorkflow reports a malformed table itself
    columns = []
    for k, element in enumerate(inputs):
        expression = element.find("{*}inputExpression")
        type_ref = ((expression.get("typeRef") if expression is not None else "") or "").strip().lower()
        texts = [e[k].findtext("{*}text") for e in entries]
        cells = [parse_cell(t) for t in texts]
        kinds = {c.kind for c in cells if isinstance(c, _Cond)}
        wanted = ("num" if type_ref in _INTEGER_TYPES | _REAL_TYPES else "bool" if type_ref == "boolean"
                  else "str" if type_ref == "string" else None if type_ref in ("", "any") else "?")
        if len(kinds) > 1 or (kinds and wanted is not None and kinds != {wanted}):
            cells = [None if isinstance(c, _Cond) else c for c in cells]  # mixed or unexpected kinds: not understood
            kinds = set()
        kind = kinds.pop() if kinds else None
        declared, declared_unknown = None, False
        values = element.find("{*}inputValues")
        if values is not None and (values.findtext("{*}text") or "").strip():
            declared = _declared(values.findtext("{*}text"))
            declared_unknown = declared is None or (kind is not None and {_kind(v) for v in declared} != {kind})
            if declared_unknown:
                declared = None
        elif type_ref == "boolean":
            declared = [True, False]
        label = (element.get("label") or (expression.findtext("{*}text") if expression is not None else None)
                 or element.get("id") or f"input {k + 1}").strip()
        columns.append(_Column(label, cells, texts, kind, type_ref not in _REAL_TYPES, declared, declared_unknown))
    return columns


def _declared(text):
    try:
        tree = ast.parse(f"[{text}]", mode="eval")
        values = [_literal(e) for e in tree.body.elts]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return values if values and len({_kind(v) for v in values}) == 1 else None


def lint_decision_tables(name: str, root) -> list[Problem]:
    problems = []
    for table in root.iter("{*}decisionTable"):
        if table.get("hitPolicy", "UNIQUE") != "UNIQUE":
            continue
        columns = _columns(table)
        if columns is None:
            continue
        rules = table.findall("{*}rule")
        gap = _find_gap(columns, len(rules)) if rules else None
        if gap:
            problems.append(Problem.of(name, GAP_MESSAGE, "dmn_gap", table.get("id"), table.sourceline, GAP_HINT,
                                       inputs=gap))
        for j, first in _overlaps(columns, len(rules)):
            problems.append(Problem.of(name, OVERLAP_MESSAGE, "dmn_overlap", rules[j].get("id"),
                                       rules[j].sourceline, OVERLAP_HINT, first=first + 1, second=j + 1))
    return problems


# Gaps. Each input's values are cut into atoms (the declared values, or the pieces of the number line between
# the bounds the cells name) so that every cell takes an atom whole or not at all; a gap is a choice of atoms,
# one per input, that no rule takes. Cells the lint does not understand are taken to match everything, and
# numbers below the lowest or above the highest bound any cell covers are left out (a count is never negative),
# so a gap reported is one the table really has.

def _atoms(column: _Column):
    """(representative value, description) of each atom of the input, or [] if it is not cut."""
    if column.declared_unknown:
        return []
    if column.declared is not None:
        return [(v, "= " + _show(v)) for v in column.declared]
    conds = [c for c in column.cells if isinstance(c, _Cond)]
    if not conds:
        return []
    if column.kind != "num":
        named = []
        for cond in conds:
            named += [v for v in sorted(cond.values, key=repr) if v not in named]
        return [(v, "= " + _show(v)) for v in named]
    spans = _integer_atoms(conds) if column.integer else _real_atoms(conds)
    signatures = [tuple(c.contains(_representative(s)) for c in conds) for s in spans]
    covered = [i for i, signature in enumerate(signatures) if any(signature)]
    if not covered:
        return []
    merged = []  # neighbours that every cell takes alike are one atom
    for i in range(covered[0], covered[-1] + 1):
        if merged and signatures[i] == merged[-1][1]:
            first = merged[-1][0]
            merged[-1] = (_Span(first.lo, first.lo_in, spans[i].hi, spans[i].hi_in), signatures[i])
        else:
            merged.append((spans[i], signatures[i]))
    return [(_representative(s), _describe(s, column.integer)) for s, _ in merged]


def _integer_span(s: _Span):
    lo = s.lo if s.lo == -math.inf else math.ceil(s.lo) if s.lo_in else math.floor(s.lo) + 1
    hi = s.hi if s.hi == math.inf else math.floor(s.hi) if s.hi_in else math.ceil(s.hi) - 1
    return (lo, hi) if lo <= hi else None


def _integer_atoms(conds) -> list[_Span]:
    """Whole numbers cut at every bound: (-inf, c1 - 1], [c1, c2 - 1], ..., [cn, inf)."""
    cuts = set()
    for cond in conds:
        for span in cond.spans:
            bounds = _integer_span(span)
            if bounds:
                if bounds[0] != -math.inf:
                    cuts.add(bounds[0])
                if bounds[1] != math.inf:
                    cuts.add(bounds[1] + 1)
    cuts = sorted(cuts)
    if not cuts:
        return []
    atoms = [_Span(-math.inf, False, cuts[0] - 1, True)]
    atoms += [_Span(lo, True, hi - 1, True) for lo, hi in zip(cuts, cuts[1:])]
    return atoms + [_Span(cuts[-1], True, math.inf, False)]


def _real_atoms(conds) -> list[_Span]:
    """Numbers cut at every bound: (-inf, p1), [p1], (p1, p2), ..., [pn], (pn, inf)."""
    points = sorted({b for cond in conds for s in cond.spans for b in (s.lo, s.hi) if math.isfinite(b)})
    if not points:
        return []
    atoms = [_Span(-math.inf, False, points[0], False)]
    for i, point in enumerate(points):
        atoms.append(_Span(point, True, point, True))
        atoms.append(_Span(point, False, points[i + 1] if i + 1 < len(points) else math.inf, False))
    return atoms


def _representative(s: _Span):
    if s.lo == s.hi:
        return s.lo
    if s.lo == -math.inf:
        return s.hi if s.hi_in else s.hi - 1
    if s.hi == math.inf:
        return s.lo if s.lo_in else s.lo + 1
    return s.lo if s.lo_in else (s.lo + s.hi) / 2


def _describe(s: _Span, integer: bool) -> str:
    if s.lo == s.hi:
        return "= " + _show(s.lo)
    low = (">= " if s.lo_in else "> ") + _show(s.lo)
    high = ("<= " if s.hi_in else "< ") + _show(s.hi)
    if s.lo == -math.inf:
        return high
    if s.hi == math.inf:
        return low
    return f"from {_show(s.lo)} to {_show(s.hi)}" if integer else f"{low} and {high}"


def _show(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _find_gap(columns, rule_count) -> str | None:
    atoms = [_atoms(c) for c in columns]
    work = 0
    # Depth-first over the inputs without recursion: (input index, rules still matching, chosen atoms).
    stack = [(0, list(range(rule_count)), [])]
    while stack:
        k, rules, chosen = stack.pop()
        if not rules:
            return " and ".join(f"{columns[i].label} {description}" for i, description in chosen)
        if k == len(columns):
            continue
        work += 2 * len(atoms[k]) * len(rules) + 1
        if work > _MAX_WORK:
            return None  # too large to decide here
        column = columns[k]
        cut = [a for a in atoms[k]
               if not all(_takes(column.cells[r], a[0]) for r in rules)] if atoms[k] else []
        if not cut:
            stack.append((k + 1, rules, chosen))
            continue
        for value, description in reversed(atoms[k]):
            stack.append((k + 1, [r for r in rules if _takes(column.cells[r], value)],
                          chosen + [(k, description)]))
    return None


def _takes(cell, value) -> bool:
    return not isinstance(cell, _Cond) or cell.contains(value)


# Overlaps. Two rules overlap when, input by input, some value matches both cells: an empty cell matches all, two
# identical cells match the same values, and cells the lint understands are intersected. Anything else is left
# undecided and not reported.

def _overlaps(columns, rule_count):
    found = []
    for j in range(rule_count):
        for i in range(j):
            if all(_meet(c, i, j) for c in columns):
                found.append((j, i))
                break
    return found


def _meet(column: _Column, i, j) -> bool:
    a, b = column.cells[i], column.cells[j]
    if a is _BROKEN or b is _BROKEN:
        return False
    if a is _WILD and b is _WILD:
        return True
    if a is _WILD or b is _WILD:
        other = b if a is _WILD else a
        return other is None or _satisfiable(column, other)
    if a is None or b is None:
        return (column.texts[i] or "").strip() == (column.texts[j] or "").strip()
    return _satisfiable(column, _both(a, b))


def _satisfiable(column: _Column, cond: _Cond | None) -> bool:
    if cond is None:
        return False
    if column.declared_unknown:
        return False
    if column.declared is not None:
        return any(cond.contains(v) for v in column.declared)
    if cond.kind == "num":
        if column.integer:
            return any(_integer_span(s) for s in cond.spans)
        return any(s.lo < s.hi or (s.lo == s.hi and s.lo_in and s.hi_in) for s in cond.spans)
    if cond.kind == "bool":
        return any(cond.contains(v) for v in (True, False))
    return cond.negated or bool(cond.values)
