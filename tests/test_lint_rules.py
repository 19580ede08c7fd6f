"""Lint rules on the shape of a set (workflows/README.md §5 and §6): elements no path reaches, loops that never
wait, UNIQUE decision tables with gaps or overlapping rules, and names that conditions or decisions read but
nothing sets. Each failing set is the shipped set with one small change (or a small hand-written process), and
each test gives the exact problem a methodologist gets for it; the shipped set has none.
"""
from __future__ import annotations

import pytest

from engine.process import lint_rules
from engine.process.definitions import Problem, _load, check_definition
from engine.process.xml import parse_xml
from tests.test_definitions import BPMN_FILE, MINI_FORM, SHIPPED, line_of, mutate, the_problem

RISK_DMN, CADENCE_DMN = "risk_level.dmn", "monitoring_cadence.dmn"

UNREACHABLE = "the element is never reached: no path from a start event leads to it"
UNREACHABLE_HINT = "connect it with a sequence flow or remove it"
LOOP_HINT = ("put a user task or a catch event (timer, message) in the loop, or let a script or decision in the loop "
             "set what the way out's condition reads (a counter)")
GAP_HINT = "add a rule for these inputs, or leave the cell of an input empty (-) in the rule that should cover them"
OVERLAP_HINT = "change a cell so that no input matches both rules, or use hit policy COLLECT"


def loop_message(*elements):
    return (f"the loop {' → '.join(elements)} never waits (no user task, receive task, catch event or event-based "
            "gateway in it): once entered, it can run without end")


def unset_message(what, name):
    return f"the {what} uses '{name}', which no form, script or decision sets"


def rule_block(text, rule_id):
    """The whole ``<rule id=...>`` element of a DMN file, with its indentation and line break."""
    start = text.index(f'      <rule id="{rule_id}">')
    return text[start: text.index("</rule>\n", start) + len("</rule>\n")]


# --- the shipped set ---------------------------------------------------------------------------------------------

def test_shipped_set_has_no_problem_with_the_new_rules():
    assert check_definition(SHIPPED) == []
    problems, trees, forms, _ = _load(SHIPPED)
    assert problems == []
    facts = lint_rules.SetFacts(trees, forms)
    assert facts.decidable  # every form, script and decision of the set is known: the name rule really ran
    assert {"urgent", "decision", "in_need", "outcome", "risk_level", "follow_up_check", "risk_factor_count",
            "needs_count", "monitoring_interval_days", "case_id"} <= facts.set_names
    for name, root in trees.items():
        if name.endswith(".bpmn"):
            assert lint_rules.lint_flows(name, root, facts) == []
            assert lint_rules.lint_condition_names(name, root, facts) == []
        else:
            assert lint_rules.lint_decision_tables(name, root) == []
            assert lint_rules.lint_decision_names(name, root, facts) == []


# --- unreachable elements ----------------------------------------------------------------------------------------

def test_element_that_no_flow_reaches():
    """The follow-up flow was redrawn straight to the visit: the timer is left on the diagram, reached by nothing."""
    files = mutate('sourceRef="Gateway_follow_up" targetRef="Timer_follow_up"',
                   'sourceRef="Gateway_follow_up" targetRef="follow_up_visit"')
    assert the_problem(files) == Problem(
        BPMN_FILE, UNREACHABLE, "unreachable", "Timer_follow_up",
        line_of(files[BPMN_FILE], '<bpmn:intermediateCatchEvent id="Timer_follow_up"'), UNREACHABLE_HINT)


def test_every_element_of_a_cut_off_branch_is_named():
    """Without the 'urgent' flow, the whole urgent branch hangs from nothing: each of its elements is named."""
    bpmn = SHIPPED[BPMN_FILE]
    start = bpmn.index('    <bpmn:sequenceFlow id="Flow_urgent_yes"')
    flow = bpmn[start: bpmn.index("</bpmn:sequenceFlow>\n", start) + len("</bpmn:sequenceFlow>\n")]
    files = mutate(flow, "")
    problems = check_definition(files)
    assert [(p.rule, p.element_id, p.message, p.hint) for p in problems] == [
        ("unreachable", element, UNREACHABLE, UNREACHABLE_HINT)
        for element in ("Gateway_urgent_split", "urgent_response", "urgent_supervisor_review", "Gateway_urgent_join")]
    assert problems[1].line == line_of(files[BPMN_FILE], '<bpmn:userTask id="urgent_response"')


PARTS_FORM_KEY = MINI_FORM[: -len(".form.json")]
PARTS_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_parts" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="case_management" isExecutable="true">
    <bpmn:laneSet id="LaneSet_parts">
      <bpmn:lane id="Lane_worker" name="social_worker">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="{PARTS_FORM_KEY}" />
          <spiffworkflow:property name="stage" value="identification" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Remind" attachedToRef="review" cancelActivity="false">
      <bpmn:outgoing>Flow_remind</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_remind">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P3D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="chase" name="Chase">
      <bpmn:incoming>Flow_remind</bpmn:incoming>
      <bpmn:outgoing>Flow_chased</bpmn:outgoing>
      <bpmn:script>reminded = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end_chase">
      <bpmn:incoming>Flow_chased</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:subProcess id="checks" name="Checks">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:startEvent id="checks_start">
        <bpmn:outgoing>Flow_inner_1</bpmn:outgoing>
      </bpmn:startEvent>
      <bpmn:scriptTask id="check" name="Check">
        <bpmn:incoming>Flow_inner_1</bpmn:incoming>
        <bpmn:outgoing>Flow_inner_2</bpmn:outgoing>
        <bpmn:script>checked = True</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:endEvent id="checks_end">
        <bpmn:incoming>Flow_inner_2</bpmn:incoming>
      </bpmn:endEvent>
      <bpmn:sequenceFlow id="Flow_inner_1" sourceRef="checks_start" targetRef="check" />
      <bpmn:sequenceFlow id="Flow_inner_2" sourceRef="check" targetRef="checks_end" />
    </bpmn:subProcess>
    <bpmn:endEvent id="end">
      <bpmn:incoming>Flow_3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:subProcess id="weekly_note" name="Weekly note" triggeredByEvent="true">
      <bpmn:startEvent id="every_week" isInterrupting="false">
        <bpmn:outgoing>Flow_week_1</bpmn:outgoing>
        <bpmn:timerEventDefinition id="TimerDef_week">
          <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"R/P7D"</bpmn:timeCycle>
        </bpmn:timerEventDefinition>
      </bpmn:startEvent>
      <bpmn:scriptTask id="note" name="Note">
        <bpmn:incoming>Flow_week_1</bpmn:incoming>
        <bpmn:outgoing>Flow_week_2</bpmn:outgoing>
        <bpmn:script>noted = True</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:endEvent id="note_end">
        <bpmn:incoming>Flow_week_2</bpmn:incoming>
      </bpmn:endEvent>
      <bpmn:sequenceFlow id="Flow_week_1" sourceRef="every_week" targetRef="note" />
      <bpmn:sequenceFlow id="Flow_week_2" sourceRef="note" targetRef="note_end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="review" targetRef="checks" />
    <bpmn:sequenceFlow id="Flow_remind" sourceRef="Remind" targetRef="chase" />
    <bpmn:sequenceFlow id="Flow_chased" sourceRef="chase" targetRef="end_chase" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="checks" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
PARTS_SET = {"parts.bpmn": PARTS_BPMN, MINI_FORM: SHIPPED[MINI_FORM]}


def test_boundary_events_event_sub_processes_and_inner_starts_are_reached():
    """A boundary timer is reached through its task, an event sub-process through its event, and a
    sub-process's inner start event starts its own flow: none of them is 'never reached'."""
    assert check_definition(PARTS_SET) == []


def test_element_of_a_sub_process_that_its_inner_start_does_not_reach():
    orphan = ('      <bpmn:scriptTask id="recheck" name="Check again">\n'
              '        <bpmn:script>checked = True</bpmn:script>\n      </bpmn:scriptTask>\n')
    files = mutate('      <bpmn:endEvent id="checks_end">', orphan + '      <bpmn:endEvent id="checks_end">',
                   file="parts.bpmn", files=PARTS_SET)
    assert the_problem(files) == Problem(
        "parts.bpmn", UNREACHABLE, "unreachable", "recheck",
        line_of(files["parts.bpmn"], '<bpmn:scriptTask id="recheck"'), UNREACHABLE_HINT)


# --- loops with no wait state ------------------------------------------------------------------------------------

def test_loop_of_a_script_and_a_gateway_never_waits():
    """'Not in need' was drawn back to the decision gateway instead of on to closure: the gateway reads the same
    decision at every pass, so the case would spin between the two."""
    files = mutate('sourceRef="mark_not_in_need" targetRef="Gateway_merge_closure"',
                   'sourceRef="mark_not_in_need" targetRef="Gateway_recognition"')
    assert the_problem(files) == Problem(
        BPMN_FILE, loop_message("Gateway_recognition", "mark_not_in_need", "Gateway_recognition"), "loop",
        "Gateway_recognition", line_of(files[BPMN_FILE], '<bpmn:exclusiveGateway id="Gateway_recognition"'),
        LOOP_HINT)


COUNTER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_counter" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="case_management" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="init" name="Start counting">
      <bpmn:script>tries = 0</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" />
    <bpmn:scriptTask id="try_once" name="Try once">
      <bpmn:script>tries = tries + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="enough" name="Enough?" default="Flow_done" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="start" targetRef="init" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="init" targetRef="again" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="again" targetRef="try_once" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="try_once" targetRef="enough" />
    <bpmn:sequenceFlow id="Flow_more" sourceRef="enough" targetRef="again">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">tries &lt; 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_done" sourceRef="enough" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_loop_whose_way_out_reads_a_counter_it_sets_is_accepted():
    """A loop of scripts and gateways may end by itself when the way out reads what the loop changes."""
    assert check_definition({"counter.bpmn": COUNTER_BPMN}) == []


def test_loop_whose_way_out_reads_nothing_the_loop_changes():
    files = mutate("<bpmn:script>tries = tries + 1</bpmn:script>", "<bpmn:script>note = 'tried'</bpmn:script>",
                   file="counter.bpmn", files={"counter.bpmn": COUNTER_BPMN})
    assert the_problem(files) == Problem(
        "counter.bpmn", loop_message("again", "try_once", "enough", "again"), "loop", "again",
        line_of(files["counter.bpmn"], '<bpmn:exclusiveGateway id="again"'), LOOP_HINT)


def test_loop_through_a_plain_task_waits():
    """SpiffWorkflow runs a plain ``bpmn:task`` only when someone completes it, so a loop through one waits."""
    script_task = ('<bpmn:scriptTask id="try_once" name="Try once">\n'
                   "      <bpmn:script>tries = tries + 1</bpmn:script>\n    </bpmn:scriptTask>")
    files = mutate(script_task, '<bpmn:task id="try_once" name="Try once" />',
                   file="counter.bpmn", files={"counter.bpmn": COUNTER_BPMN})
    assert check_definition(files) == []


def test_loop_through_a_user_task_waits():
    """The monitoring loop (visit → outcome → next visit) waits for the worker at every pass."""
    files = mutate('sourceRef="Gateway_monitoring" targetRef="Gateway_merge_monitoring"',
                   'sourceRef="Gateway_monitoring" targetRef="set_monitoring_cadence"')
    assert check_definition(files) == []


# --- decision tables: gaps ---------------------------------------------------------------------------------------

def test_decision_table_leaves_a_number_uncovered():
    files = mutate("<text>1 &lt;= ? &lt;= 2</text>", "<text>? == 1</text>", file=RISK_DMN)
    assert the_problem(files) == Problem(
        RISK_DMN, "the decision table leaves gaps: no rule matches Urgent referral = False and Number of risk "
        "factors = 2", "dmn_gap", "DecisionTable_risk_level",
        line_of(files[RISK_DMN], '<decisionTable id="DecisionTable_risk_level"'), GAP_HINT)


def test_decision_table_leaves_a_range_uncovered():
    """``> 5`` instead of ``>= 3``: between the medium rule (1 to 2) and the high rule nothing matches 3, 4, 5."""
    files = mutate("<text>&gt;= 3</text>", "<text>&gt; 5</text>", file=RISK_DMN)
    assert the_problem(files).message == ("the decision table leaves gaps: no rule matches Urgent referral = False "
                                          "and Number of risk factors from 3 to 5")


def test_gap_between_decimal_bounds():
    """A number input (typeRef number) has values between 0 and 1 that neither ``<= 0`` nor ``1 <= ?`` takes."""
    files = mutate('id="InputExpression_risk_factor_count" typeRef="integer"',
                   'id="InputExpression_risk_factor_count" typeRef="number"', file=RISK_DMN)
    assert the_problem(files).message == ("the decision table leaves gaps: no rule matches Urgent referral = False "
                                          "and Number of risk factors > 0 and < 1")


def test_boolean_input_without_a_rule_for_true():
    files = mutate(rule_block(SHIPPED[RISK_DMN], "Rule_urgent_high"), "", file=RISK_DMN)
    assert the_problem(files) == Problem(
        RISK_DMN, "the decision table leaves gaps: no rule matches Urgent referral = True", "dmn_gap",
        "DecisionTable_risk_level", line_of(files[RISK_DMN], '<decisionTable id="DecisionTable_risk_level"'),
        GAP_HINT)


INPUT_VALUES = ('          <text>risk_level</text>\n        </inputExpression>\n'
                '        <inputValues id="InputValues_risk_level">\n'
                '          <text>"high", "medium", "low", "none"</text>\n        </inputValues>')


def test_declared_input_value_that_no_rule_matches():
    files = mutate("          <text>risk_level</text>\n        </inputExpression>", INPUT_VALUES, file=CADENCE_DMN)
    assert check_definition(files) == []  # every declared value has its rule, and SpiffWorkflow reads the values
    files = mutate(rule_block(files[CADENCE_DMN], "Rule_none"), "", file=CADENCE_DMN, files=files)
    assert the_problem(files) == Problem(
        CADENCE_DMN, 'the decision table leaves gaps: no rule matches Risk level = "none"', "dmn_gap",
        "DecisionTable_monitoring_cadence",
        line_of(files[CADENCE_DMN], '<decisionTable id="DecisionTable_monitoring_cadence"'), GAP_HINT)


def test_undeclared_strings_and_impossible_numbers_are_not_gaps():
    """Without inputValues the lint cannot know which strings an input takes; numbers below the lowest bound a
    rule names (a negative count) are not reported either."""
    files = mutate(rule_block(SHIPPED[CADENCE_DMN], "Rule_none"), "", file=CADENCE_DMN)
    for rule in ("needs_only_low", "nothing_none"):
        cell = f'<text>&lt;= 0</text>\n        </inputEntry>\n        <inputEntry id="InputEntry_{rule}_3">'
        files = mutate(cell, cell.replace("&lt;= 0", "0"), file=RISK_DMN, files=files)
    assert check_definition(files) == []


def test_cell_the_lint_does_not_understand_says_nothing():
    files = mutate("<text>1 &lt;= ? &lt;= 2</text>", "<text>? in range(1, 3)</text>", file=RISK_DMN)
    assert check_definition(files) == []


# --- decision tables: overlaps -----------------------------------------------------------------------------------

def test_rules_whose_ranges_overlap():
    files = mutate("<text>1 &lt;= ? &lt;= 2</text>", "<text>1 &lt;= ? &lt;= 3</text>", file=RISK_DMN)
    assert the_problem(files) == Problem(
        RISK_DMN, "rules 2 and 3 both match the same inputs, which UNIQUE does not allow", "dmn_overlap",
        "Rule_some_factors_medium", line_of(files[RISK_DMN], '<rule id="Rule_some_factors_medium">'), OVERLAP_HINT)


def test_rules_with_the_same_cells():
    files = mutate('<text>"none"</text>\n        </inputEntry>', '<text>"low"</text>\n        </inputEntry>',
                   file=CADENCE_DMN)
    assert the_problem(files) == Problem(
        CADENCE_DMN, "rules 3 and 4 both match the same inputs, which UNIQUE does not allow", "dmn_overlap",
        "Rule_none", line_of(files[CADENCE_DMN], '<rule id="Rule_none">'), OVERLAP_HINT)


def test_empty_cell_overlaps_every_rule_it_agrees_with():
    """A catch-all row under UNIQUE: its empty cell matches what the other rows match."""
    cell = '<text>False</text>\n        </inputEntry>\n        <inputEntry id="InputEntry_many_factors_high_2">'
    files = mutate(cell, cell.replace("False", "-"), file=RISK_DMN)
    assert the_problem(files).message == "rules 1 and 2 both match the same inputs, which UNIQUE does not allow"


def test_collect_tables_may_overlap():
    files = mutate('<text>"none"</text>\n        </inputEntry>', '<text>"low"</text>\n        </inputEntry>',
                   file=CADENCE_DMN)
    files = mutate('hitPolicy="UNIQUE"', 'hitPolicy="COLLECT"', file=CADENCE_DMN, files=files)
    assert check_definition(files) == []


# --- names that nothing sets -------------------------------------------------------------------------------------

def test_condition_with_a_misspelt_field():
    files = mutate('risk_level == "high"', 'risk_levle == "high"')
    assert the_problem(files) == Problem(
        BPMN_FILE, unset_message("condition", "risk_levle"), "unset_field", "Flow_closure_high_risk",
        line_of(files[BPMN_FILE], 'risk_levle == "high"'), "check the spelling; fields set here: risk_level")


def test_condition_with_a_name_nothing_like_a_field():
    files = mutate('in_need == "no"', "in_need == nope")
    assert the_problem(files) == Problem(
        BPMN_FILE, unset_message("condition", "nope"), "unset_field", "Flow_not_in_need",
        line_of(files[BPMN_FILE], "in_need == nope"),
        "set it in a form of a user task, a script task or a decision before it is read")


def test_decision_input_with_a_misspelt_name():
    files = mutate("<text>risk_factor_count</text>", "<text>risk_factors_count</text>", file=RISK_DMN)
    assert the_problem(files) == Problem(
        RISK_DMN, unset_message("input expression", "risk_factors_count"), "unset_field",
        "InputExpression_risk_factor_count", line_of(files[RISK_DMN], "<text>risk_factors_count</text>"),
        "check the spelling; fields set here: risk_factor_count, risk_factors")


def test_start_data_builtins_and_comprehension_variables_are_known():
    files = mutate("urgent == True", 'urgent == True or (channel == "police" and any(len(f) &gt; 0 for f in '
                   "risk_factors or []))")
    assert check_definition(files) == []


def test_the_rule_is_silent_when_a_form_of_the_set_is_missing():
    """Without the assessment form the lint cannot know what it sets: only the missing form is reported."""
    files = {name: text for name, text in SHIPPED.items() if name != "needs_assessment.form.json"}
    files = mutate('in_need == "no"', 'in_nede == "no"', files=files)
    assert [p.rule for p in check_definition(files)] == ["form"]


def _table(type_ref, *rows, values=None):
    """A one-input UNIQUE table (``score``) with a rule per cell, as a parsed DMN document."""
    declared = f'<inputValues id="values"><text>{values}</text></inputValues>' if values else ""
    rules = "".join(f'<rule id="r{i}"><inputEntry id="e{i}"><text>{cell}</text></inputEntry>'
                    f'<outputEntry id="o{i}"><text>{i}</text></outputEntry></rule>' for i, cell in enumerate(rows))
    return parse_xml(f'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"><decision id="x">'
                     f'<decisionTable id="t"><input id="i" label="Score"><inputExpression id="ie" typeRef='
                     f'"{type_ref}"><text>score</text></inputExpression>{declared}</input>'
                     f'<output id="o" name="level" />{rules}</decisionTable></decision></definitions>')


@pytest.mark.parametrize("type_ref, rows, values, found", [
    ("integer", ["&lt; 3", "&gt; 5"], None, ["gap: Score from 3 to 5"]),
    ("number", ["&lt; 3", "&gt; 5"], None, ["gap: Score >= 3 and <= 5"]),
    ("number", ["&lt; 3", "&gt; 3"], None, ["gap: Score = 3"]),
    ("", ["&lt;= 0", "&gt;= 1"], None, []),  # no type: whole numbers, nothing between 0 and 1
    ("integer", ["0", "? in (1, 2)", "&gt;= 3"], None, []),
    ("integer", ["1 &lt;= ? &lt;= 2 or ? == 5", "3", "4", "&gt; 5"], None, []),
    ("string", ['"a"', '"b"'], '"a", "b", "c"', ['gap: Score = "c"']),
    ("string", ['"a"', '!= "a"'], '"a", "b", "c"', []),
    ("string", ['"a"', '!= "b"'], '"a", "b", "c"', ['gap: Score = "b"', "overlap: rules 1 and 2"]),
    ("string", ['"a"', '"b"'], None, []),  # without declared values, strings have no gaps
    ("integer", ["-", "4"], None, ["overlap: rules 1 and 2"]),
    ("integer", ["is_high(?)", "is_high(?)"], None, ["overlap: rules 1 and 2"]),  # identical cells
    ("integer", ["is_high(?)", "&gt; 3"], None, []),  # not understood: neither a gap nor an overlap
    ("integer", ["&gt;= 3", "2 &lt; ? &lt; 3"], None, []),  # no whole number is between 2 and 3
])
def test_how_cells_are_read(type_ref, rows, values, found):
    problems = lint_rules.lint_decision_tables("t.dmn", _table(type_ref, *rows, values=values))
    short = {"dmn_gap": lambda m: "gap: " + m.split("no rule matches ")[1],
             "dmn_overlap": lambda m: "overlap: " + m.split(" both match")[0]}
    assert [short[p.rule](p.message) for p in problems] == found
