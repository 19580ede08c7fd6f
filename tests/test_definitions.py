"""Definition sets without a database: every lint rule, the XML guards and the schema, each with its exact problem.

Failing sets are the shipped default set with one small text change (or a small hand-written BPMN document), so
each test shows a methodologist's typical mistake and the message they get for it. Line numbers are computed from
the mutated text, so layout edits of the shipped diagram do not break the tests.
"""
from __future__ import annotations

import pytest

from engine.errors import DefinitionInvalid
from engine.process.definitions import Problem, check_definition, compile_definition, read_definition_files
from engine.process.xml import UnsafeXML, parse_xml
from engine.settings import Settings

SETTINGS = Settings()
SHIPPED = read_definition_files(SETTINGS.workflows_dir, SETTINGS.forms_dir)
BPMN_FILE = "case_management.bpmn"
BPMN = SHIPPED[BPMN_FILE]
FORM_KEYS = ", ".join(sorted(name[: -len(".form.json")] for name in SHIPPED if name.endswith(".form.json")))

ROLES_TEXT = "social_worker, supervisor, center_head, specialist"
SCRIPT_HINT = "scripts are restricted Python: no imports, no names starting with _"
SCHEMA_HINT = "the file does not follow the BPMN/DMN schema"
BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF_NS = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
DOCTYPE_MESSAGE = "a DOCTYPE is not allowed in BPMN or DMN files"

HOME_VISIT_TAG = '<bpmn:userTask id="home_visit_assessment" name="Home visit and needs assessment">'
HOME_VISIT_PROPERTIES = ('<spiffworkflow:property name="formKey" value="needs_assessment" />\n'
                         '          <spiffworkflow:property name="stage" value="assessment" />\n'
                         '          <spiffworkflow:property name="deadline" value="5 working days" />\n'
                         '          <spiffworkflow:property name="deadlineSource" value="Inson rules: the decision on the need for social services within 5 working days of the referral" />\n'
                         '          <spiffworkflow:property name="reminder" value="80%" />\n'
                         '          <spiffworkflow:property name="escalation" value="supervisor at deadline; center_head after 3 working days" />\n'
                         '        </spiffworkflow:properties>\n')
COUNT_SCRIPT = "<bpmn:script>risk_factor_count = len(risk_factors or [])"
URGENCY_SCRIPT = "<bpmn:script>urgent = bool(immediate_danger or violence or child_at_risk_flag)</bpmn:script>"
TIMER = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P90D"</bpmn:timeDuration>'


# --- helpers ---------------------------------------------------------------------------------------------------

def mutate(old: str, new: str, file: str = BPMN_FILE, files: dict | None = None) -> dict[str, str]:
    """The shipped set (or ``files``) with the one occurrence of ``old`` in ``file`` replaced by ``new``."""
    files = dict(SHIPPED if files is None else files)
    assert files[file].count(old) == 1, f"{old!r} must occur exactly once in {file}"
    files[file] = files[file].replace(old, new)
    return files


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, f"{needle!r} must occur exactly once"
    return text[: text.index(needle)].count("\n") + 1


def the_problem(files: dict[str, str]) -> Problem:
    """The one problem of a set; ``compile_definition`` must raise with it too."""
    problems = check_definition(files)
    assert len(problems) == 1, problems
    with pytest.raises(DefinitionInvalid) as caught:
        compile_definition(files)
    assert caught.value.problems == problems
    assert caught.value.message == f"The definition has 1 problem(s): {problems[0]}"
    return problems[0]


def with_bpmn(content) -> dict:
    return {**SHIPPED, BPMN_FILE: content}


# --- the shipped set -------------------------------------------------------------------------------------------

def test_shipped_set_compiles_without_problems():
    assert check_definition(SHIPPED) == []
    compiled = compile_definition(SHIPPED)
    assert compiled.process_id == "case_management"
    assert compiled.files == SHIPPED
    assert set(compiled.forms) == set(FORM_KEYS.split(", "))
    assert compiled.user_tasks["home_visit_assessment"].title == "Home visit and needs assessment"
    assert compiled.user_tasks["home_visit_assessment"].lane == "social_worker"
    assert compiled.user_tasks["home_visit_assessment"].form_key == "needs_assessment"
    assert compiled.user_tasks["confirm_closure_high_risk"].lane == "center_head"


def test_stages_come_in_the_order_a_case_meets_them():
    assert compile_definition(SHIPPED).stages == [
        "identification", "assessment", "planning", "delivery", "monitoring", "closure"]


def test_compiling_is_deterministic():
    first, second = compile_definition(SHIPPED), compile_definition(SHIPPED)
    assert first.content_hash == second.content_hash
    assert first.spec_json == second.spec_json
    shuffled = compile_definition(dict(reversed(list(SHIPPED.items()))))  # insertion order does not matter
    assert (shuffled.content_hash, shuffled.spec_json) == (first.content_hash, first.spec_json)
    renamed = compile_definition(mutate(HOME_VISIT_TAG, HOME_VISIT_TAG.replace("needs assessment", "assessment")))
    assert renamed.content_hash != first.content_hash and renamed.spec_json != first.spec_json


# --- lint: user tasks ------------------------------------------------------------------------------------------

def test_user_task_in_no_lane():
    files = mutate("        <bpmn:flowNodeRef>home_visit_assessment</bpmn:flowNodeRef>\n", "")
    assert the_problem(files) == Problem(
        BPMN_FILE, "user task 'home_visit_assessment' is in no lane", "lane", "home_visit_assessment",
        line_of(files[BPMN_FILE], HOME_VISIT_TAG), "put it in a lane named after a role: " + ROLES_TEXT)


def test_lane_that_is_not_a_role():
    files = mutate('<bpmn:lane id="Lane_center_head" name="center_head">',
                   '<bpmn:lane id="Lane_center_head" name="director">')
    assert the_problem(files) == Problem(
        BPMN_FILE, "user task 'confirm_closure_high_risk' is in lane 'director', which is not a role", "lane",
        "confirm_closure_high_risk", line_of(files[BPMN_FILE], '<bpmn:userTask id="confirm_closure_high_risk"'),
        "name the lane after a role: " + ROLES_TEXT)


def test_user_task_without_form_key():
    files = mutate('<spiffworkflow:property name="formKey" value="needs_assessment" />\n          ', "")
    assert the_problem(files) == Problem(
        BPMN_FILE, "user task 'home_visit_assessment' has no formKey property", "form", "home_visit_assessment",
        line_of(files[BPMN_FILE], HOME_VISIT_TAG), "add the property formKey naming a form of this set")


def test_user_task_with_unknown_form_key():
    files = mutate('value="needs_assessment"', 'value="needs_assesment"')
    assert the_problem(files) == Problem(
        BPMN_FILE, "user task 'home_visit_assessment' uses form 'needs_assesment', which the set does not have",
        "form", "home_visit_assessment", line_of(files[BPMN_FILE], HOME_VISIT_TAG),
        "add needs_assesment.form.json or use one of: " + FORM_KEYS)


def test_user_task_whose_form_file_is_missing_from_the_set():
    files = {name: text for name, text in SHIPPED.items() if name != "needs_assessment.form.json"}
    problem = the_problem(files)
    assert problem.message == "user task 'home_visit_assessment' uses form 'needs_assessment', which the set does " \
                              "not have"
    assert "needs_assessment" not in problem.hint.split(": ")[1].split(", ")


def test_user_task_without_stage():
    files = mutate('\n          <spiffworkflow:property name="stage" value="assessment" />\n          '
                   '<spiffworkflow:property name="deadline" value="5 working days" />',
                   '\n          <spiffworkflow:property name="deadline" value="5 working days" />')
    assert the_problem(files) == Problem(
        BPMN_FILE, "user task 'home_visit_assessment' has no stage property", "stage", "home_visit_assessment",
        line_of(files[BPMN_FILE], HOME_VISIT_TAG), "add the property stage (identification, assessment, planning, ...)")


# --- lint: scripts and conditions ------------------------------------------------------------------------------

def test_script_with_a_name_starting_with_underscore():
    files = mutate(URGENCY_SCRIPT, "<bpmn:script>kind = ().__class__\nurgent = True</bpmn:script>")
    assert the_problem(files) == Problem(
        BPMN_FILE, 'the script does not compile: Line 1: "__class__" is an invalid attribute name because it '
        'starts with "_".', "script", "evaluate_urgency", line_of(files[BPMN_FILE], "<bpmn:script>kind ="),
        SCRIPT_HINT)


def test_script_with_a_syntax_error_names_its_line():
    files = mutate(COUNT_SCRIPT, "<bpmn:script>risk_factor_count = len(risk_factors or []) +")
    problem = the_problem(files)
    assert problem == Problem(
        BPMN_FILE, "the script does not compile: Line 1: SyntaxError: invalid syntax at statement: "
        "'risk_factor_count = len(risk_factors or []) +'", "script", "count_risk_inputs",
        line_of(files[BPMN_FILE], "<bpmn:script>risk_factor_count"), SCRIPT_HINT)


def test_script_with_an_import():
    files = mutate(URGENCY_SCRIPT, "<bpmn:script>import os\nurgent = True</bpmn:script>")
    problems = check_definition(files)
    assert len(problems) == 1, problems
    assert (problems[0].rule, problems[0].element_id) == ("script", "evaluate_urgency")
    assert problems[0].message.startswith("the script does not compile: Line 1: ")


def test_empty_script():
    files = mutate('<bpmn:script>closure_reason_suggested = "not_in_need"</bpmn:script>',
                   "<bpmn:script>   </bpmn:script>")
    assert the_problem(files) == Problem(BPMN_FILE, "empty script", "script", "mark_not_in_need",
                                         line_of(files[BPMN_FILE], "<bpmn:script>   </bpmn:script>"))


def test_gateway_condition_that_does_not_compile():
    condition = '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">outcome == "close"</bpmn:'
    files = mutate(condition, condition.replace('outcome == "close"', 'outcome = "close"'))
    assert the_problem(files) == Problem(
        BPMN_FILE, "the condition does not compile: Line 1: SyntaxError: invalid syntax at statement: "
        "'outcome = \"close\"'", "condition", "Flow_monitoring_close",
        line_of(files[BPMN_FILE], 'outcome = "close"'), SCRIPT_HINT)


def test_gateway_condition_with_a_private_name():
    files = mutate("urgent == True", "_urgent == True")
    assert the_problem(files) == Problem(
        BPMN_FILE, 'the condition does not compile: Line 1: "_urgent" is an invalid variable name because it starts '
        'with "_"', "condition", "Flow_urgent_yes", line_of(files[BPMN_FILE], "_urgent == True"), SCRIPT_HINT)


def test_pre_script_that_does_not_compile():
    files = mutate(HOME_VISIT_PROPERTIES, HOME_VISIT_PROPERTIES
                   + "        <spiffworkflow:preScript>visits = visits +</spiffworkflow:preScript>\n")
    assert the_problem(files) == Problem(
        BPMN_FILE, "the script does not compile: Line 1: SyntaxError: invalid syntax at statement: 'visits = visits +'",
        "script", "home_visit_assessment", line_of(files[BPMN_FILE], "<spiffworkflow:preScript>"), SCRIPT_HINT)


def test_post_script_with_a_private_attribute():
    files = mutate(HOME_VISIT_PROPERTIES, HOME_VISIT_PROPERTIES
                   + "        <spiffworkflow:postScript>names = needs.__dict__</spiffworkflow:postScript>\n")
    assert the_problem(files) == Problem(
        BPMN_FILE, 'the script does not compile: Line 1: "__dict__" is an invalid attribute name because it starts '
        'with "_".', "script", "home_visit_assessment", line_of(files[BPMN_FILE], "<spiffworkflow:postScript>"),
        SCRIPT_HINT)


# --- lint: timers ----------------------------------------------------------------------------------------------

def test_unquoted_timer_duration_gets_a_hint():
    files = mutate(TIMER, TIMER.replace('"P90D"', "P90D"))
    assert the_problem(files) == Problem(
        BPMN_FILE, "the timer expression P90D is not quoted", "timer", "TimerEventDefinition_follow_up",
        line_of(files[BPMN_FILE], ">P90D<"), 'write it as a string: "P90D"')


def test_timer_expression_that_does_not_compile():
    files = mutate(TIMER, TIMER.replace('"P90D"', "duration(days=)"))
    assert the_problem(files) == Problem(
        BPMN_FILE, "the timer expression does not compile: Line 1: SyntaxError: invalid syntax at statement: "
        "'duration(days=)'", "timer", "TimerEventDefinition_follow_up", line_of(files[BPMN_FILE], "duration(days=)"))


MINI_FORM = "urgent_supervisor_review.form.json"
MINI_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_mini" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="Message_reply" name="reply" />
  <bpmn:process id="case_management" isExecutable="true">
    <bpmn:laneSet id="LaneSet_mini">
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
          <spiffworkflow:property name="formKey" value="urgent_supervisor_review" />
          <spiffworkflow:property name="stage" value="identification" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:eventBasedGateway id="Gateway_wait">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:outgoing>Flow_4</bpmn:outgoing>
    </bpmn:eventBasedGateway>
    <bpmn:intermediateCatchEvent id="Wait_a_week">
      <bpmn:incoming>Flow_3</bpmn:incoming>
      <bpmn:outgoing>Flow_5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_week">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P7D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="Wait_second">
      <bpmn:incoming>Flow_4</bpmn:incoming>
      <bpmn:outgoing>Flow_6</bpmn:outgoing>
      <bpmn:messageEventDefinition id="MessageDef_reply" messageRef="Message_reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end_a">
      <bpmn:incoming>Flow_5</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="end_b">
      <bpmn:incoming>Flow_6</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="review" targetRef="Gateway_wait" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Gateway_wait" targetRef="Wait_a_week" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Gateway_wait" targetRef="Wait_second" />
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Wait_a_week" targetRef="end_a" />
    <bpmn:sequenceFlow id="Flow_6" sourceRef="Wait_second" targetRef="end_b" />
  </bpmn:process>
</bpmn:definitions>
"""
MINI_SET = {"mini.bpmn": MINI_BPMN, MINI_FORM: SHIPPED[MINI_FORM]}


def test_small_hand_written_process_compiles():
    compiled = compile_definition(MINI_SET)
    assert compiled.stages == ["identification"]
    assert list(compiled.user_tasks) == ["review"]


def test_event_based_gateway_with_two_timers():
    files = mutate('<bpmn:messageEventDefinition id="MessageDef_reply" messageRef="Message_reply" />',
                   '<bpmn:timerEventDefinition id="TimerDef_month">\n        <bpmn:timeDuration xsi:type="bpmn:'
                   'tFormalExpression">"P30D"</bpmn:timeDuration>\n      </bpmn:timerEventDefinition>',
                   file="mini.bpmn", files=MINI_SET)
    assert the_problem(files) == Problem(
        "mini.bpmn", "event-based gateway 'Gateway_wait' waits on 2 timers", "timer", "Gateway_wait",
        line_of(files["mini.bpmn"], '<bpmn:eventBasedGateway id="Gateway_wait">'),
        "keep at most one timer after an event-based gateway")


# --- lint: DMN -------------------------------------------------------------------------------------------------

def test_dmn_hit_policy_first_is_refused():
    files = mutate('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"', file="risk_level.dmn")
    assert the_problem(files) == Problem(
        "risk_level.dmn", "hit policy FIRST is not supported", "dmn", "DecisionTable_risk_level",
        line_of(files["risk_level.dmn"], "<decisionTable"), "use UNIQUE or COLLECT")


def test_dmn_cell_with_a_private_attribute():
    old = '<outputEntry id="OutputEntry_urgent_high">\n          <text>"high"</text>'
    files = mutate(old, old.replace('"high"', '"high".__class__'), file="risk_level.dmn")
    assert the_problem(files) == Problem(
        "risk_level.dmn", "the cell '\"high\".__class__' uses a name starting with _", "dmn",
        "OutputEntry_urgent_high", line_of(files["risk_level.dmn"], '<text>"high".__class__</text>'),
        "names starting with _ are not allowed")


# --- forms and files -------------------------------------------------------------------------------------------

def test_form_that_is_not_json():
    files = {**SHIPPED, "plan_approval.form.json": '{"components": ['}
    assert the_problem(files) == Problem("plan_approval.form.json",
                                         "Invalid JSON at line 1, column 17: Expecting value.", "form",
                                         hint="fix the form definition")


def test_form_with_an_unknown_component_type():
    files = mutate('"type": "textarea"', '"type": "filepicker"', file=MINI_FORM)
    assert the_problem(files) == Problem(MINI_FORM, "Field 'instructions': component type 'filepicker' is not "
                                                    "supported.", "form", hint="fix the form definition")


def test_file_of_unknown_type():
    files = {**SHIPPED, "notes.txt": "Remember to rename the monitoring stage."}
    assert the_problem(files) == Problem("notes.txt", "unknown file type (expected .bpmn, .dmn, .form.json, .document.html or "
                                                      ".i18n.json)",
                                         "file")


def test_set_without_bpmn():
    files = {name: text for name, text in SHIPPED.items() if not name.endswith(".bpmn")}
    assert the_problem(files) == Problem("(set)", "the set has no BPMN file", "file")
    assert check_definition({}) == [Problem("(set)", "the set has no BPMN file", "file")]


def test_every_problem_of_a_set_is_listed():
    files = mutate("        <bpmn:flowNodeRef>home_visit_assessment</bpmn:flowNodeRef>\n", "")
    files = mutate(TIMER, TIMER.replace('"P90D"', "P90D"), files=files)
    files = mutate('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"', file="risk_level.dmn", files=files)
    problems = check_definition(files)
    assert [(p.file, p.rule, p.element_id) for p in problems] == [
        (BPMN_FILE, "lane", "home_visit_assessment"), (BPMN_FILE, "timer", "TimerEventDefinition_follow_up"),
        ("risk_level.dmn", "dmn", "DecisionTable_risk_level")]
    with pytest.raises(DefinitionInvalid) as caught:
        compile_definition(files)
    assert caught.value.message == f"The definition has 3 problem(s): {problems[0]}"
    assert caught.value.code == "definition_invalid"
    assert problems[0].as_dict() == {
        "file": BPMN_FILE, "line": problems[0].line, "element_id": "home_visit_assessment", "rule": "lane",
        "message": "user task 'home_visit_assessment' is in no lane",
        "hint": "put it in a lane named after a role: " + ROLES_TEXT}
    assert str(problems[0]) == (f"{BPMN_FILE}:{problems[0].line} [home_visit_assessment]: user task "
                                f"'home_visit_assessment' is in no lane — put it in a lane named after a role: "
                                + ROLES_TEXT)


# --- XML attacks and broken XML --------------------------------------------------------------------------------

def _assert_secret_not_leaked(problems, secret):
    assert problems
    for problem in problems:
        assert secret not in str(problem) and secret not in repr(problem)


def test_external_entity_is_refused_without_reading_the_file(tmp_path):
    secret = "SENTINEL-7f3c-the-password-file"
    sentinel = tmp_path / "secret.txt"
    sentinel.write_text(secret)
    attack = BPMN.replace(
        "<bpmn:definitions",
        f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "{sentinel.as_uri()}">]>\n<bpmn:definitions', 1,
    ).replace('name="Referral received"', 'name="&xxe;"')
    problem = the_problem(with_bpmn(attack))
    assert problem == Problem(BPMN_FILE, DOCTYPE_MESSAGE, "xml", line=2)
    _assert_secret_not_leaked([problem], secret)


def test_parameter_entity_is_refused_without_reading_the_file(tmp_path):
    secret = "SENTINEL-parameter-entity"
    sentinel = tmp_path / "secret.dtd"
    sentinel.write_text(f'<!ENTITY leak "{secret}">')
    attack = BPMN.replace(
        "<bpmn:definitions", f'<!DOCTYPE x [<!ENTITY % ext SYSTEM "{sentinel.as_uri()}"> %ext;]>\n<bpmn:definitions',
        1).replace('name="Referral received"', 'name="&leak;"')
    problem = the_problem(with_bpmn(attack))
    assert problem == Problem(BPMN_FILE, DOCTYPE_MESSAGE, "xml", line=2)
    _assert_secret_not_leaked([problem], secret)


def test_external_entity_in_utf16_is_refused_without_reading_the_file(tmp_path):
    """The DOCTYPE pre-check looks for ASCII bytes; a UTF-16 document gets past it and is stopped by the parser."""
    secret = "SENTINEL-utf16"
    sentinel = tmp_path / "secret.txt"
    sentinel.write_text(secret)
    attack = BPMN.replace('<?xml version="1.0" encoding="UTF-8"?>',
                          f'<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE bpmn:definitions '
                          f'[<!ENTITY xxe SYSTEM "{sentinel.as_uri()}">]>', 1)
    in_text = attack.replace("<bpmn:documentation>Register the referral", "<bpmn:documentation>&xxe;Register", 1)
    in_attribute = attack.replace('name="Referral received"', 'name="&xxe;"')
    with pytest.raises(UnsafeXML) as caught:
        parse_xml(in_text.encode("utf-16"))
    assert str(caught.value) == DOCTYPE_MESSAGE
    with pytest.raises(UnsafeXML) as caught:
        parse_xml(in_attribute.encode("utf-16"))
    line = line_of(in_attribute, 'name="&xxe;"')
    assert str(caught.value).startswith(
        f"not well-formed XML: Attribute references external entity 'xxe', line {line}, column ")
    assert caught.value.line == line
    assert secret not in str(caught.value)


def test_billion_laughs_is_refused():
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
            + "".join(f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'
                      for i in range(1, 10))
            + "]>\n<lolz>&lol9;</lolz>\n")
    assert the_problem(with_bpmn(bomb)) == Problem(BPMN_FILE, DOCTYPE_MESSAGE, "xml", line=2)


def test_lowercase_doctype_is_refused():
    files = with_bpmn(BPMN.replace("<bpmn:definitions", "<!doctype bpmn:definitions>\n<bpmn:definitions", 1))
    assert the_problem(files) == Problem(BPMN_FILE, DOCTYPE_MESSAGE, "xml", line=2)


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_empty_file(content):
    assert the_problem(with_bpmn(content)) == Problem(BPMN_FILE, "the file is empty", "xml")


def test_empty_dmn_file():
    assert the_problem({**SHIPPED, "risk_level.dmn": ""}) == Problem("risk_level.dmn", "the file is empty", "xml")


def test_truncated_xml_names_the_line():
    lines = BPMN.splitlines(keepends=True)
    cut = line_of(BPMN, HOME_VISIT_TAG)  # the file ends right after this start tag
    problem = the_problem(with_bpmn("".join(lines[:cut])))
    assert problem == Problem(
        BPMN_FILE, f"not well-formed XML: Premature end of data in tag userTask line {cut}, line {cut + 1}, column 1",
        "xml", line=cut + 1)


def test_mismatched_tag_names_the_line():
    files = with_bpmn(BPMN.replace("</bpmn:userTask>", "</bpmn:usertask>", 1))
    start = line_of(BPMN, '<bpmn:userTask id="register_referral"')
    end = start + BPMN.splitlines()[start - 1:].index("    </bpmn:userTask>")
    assert the_problem(files) == Problem(
        BPMN_FILE, f"not well-formed XML: Opening and ending tag mismatch: userTask line {start} and usertask, "
        f"line {end}, column 21", "xml", line=end)


def test_file_over_the_size_limit_is_refused_before_parsing():
    padding = "<!--" + "x" * (6 * 1024 * 1024 - len(BPMN.encode()) - 7) + "-->"
    huge = BPMN + padding
    assert len(huge.encode()) == 6 * 1024 * 1024
    assert the_problem(with_bpmn(huge)) == Problem(BPMN_FILE, "the file is larger than 5 MB", "xml")


def test_non_utf8_garbage_is_refused():
    garbage = b"\x89PNG\r\n\x1a\n\xff\xfe\xfd\x00\x80\x81 not a process"
    assert the_problem(with_bpmn(garbage.decode("latin-1"))) == Problem(
        BPMN_FILE, "not well-formed XML: Start tag expected, '<' not found, line 1, column 1", "xml", line=1)
    with pytest.raises(UnsafeXML) as caught:
        parse_xml(garbage)
    assert (str(caught.value), caught.value.line) == (
        "not well-formed XML: Start tag expected, '<' not found, line 1, column 1", 1)


def test_latin1_bytes_in_a_utf8_document_are_refused_with_their_line():
    text = BPMN.replace('name="Referral received"', 'name="Référé"')
    with pytest.raises(UnsafeXML) as caught:
        parse_xml(text.encode("latin-1"))
    line = line_of(text, 'name="Référé"')
    assert str(caught.value).startswith("not well-formed XML: Invalid bytes in character encoding, line "
                                        f"{line}, column ")
    assert caught.value.line == line


def test_undecodable_text_is_a_problem_not_a_crash():
    garbage = b"\x89PNG\r\n\x1a\n\xff\xfe garbage".decode("utf-8", "surrogateescape")
    problems = check_definition(with_bpmn(garbage))
    assert [(p.file, p.rule) for p in problems] == [(BPMN_FILE, "xml")]


def test_xinclude_is_refused_and_never_processed(tmp_path):
    secret = "SENTINEL-xinclude"
    sentinel = tmp_path / "secret.txt"
    sentinel.write_text(secret)
    files = mutate(HOME_VISIT_PROPERTIES, HOME_VISIT_PROPERTIES + f'        <xi:include xmlns:xi="http://www.w3.org/'
                   f'2001/XInclude" href="{sentinel}" parse="text"/>\n')
    problems = check_definition(files)
    assert [(p.file, p.rule) for p in problems] == [(BPMN_FILE, "xml")]
    assert "XInclude is not allowed" in problems[0].message and problems[0].line
    assert all(secret not in p.message for p in problems)


# --- schema ----------------------------------------------------------------------------------------------------

def test_user_task_with_an_unknown_attribute():
    files = mutate(HOME_VISIT_TAG, HOME_VISIT_TAG.replace('">', '" priority="high">'))
    assert the_problem(files) == Problem(
        BPMN_FILE, f"Element '{BPMN_NS}userTask', attribute 'priority': The attribute 'priority' is not allowed",
        "schema", None, line_of(files[BPMN_FILE], 'priority="high"'), SCHEMA_HINT)


def test_spiffworkflow_element_not_in_the_schema():
    files = mutate(HOME_VISIT_PROPERTIES, HOME_VISIT_PROPERTIES.replace(
        '          <spiffworkflow:property name="stage"',
        "          <spiffworkflow:colour>red</spiffworkflow:colour>\n          <spiffworkflow:property name=\"stage\""))
    problem = the_problem(files)
    assert (problem.message, problem.rule, problem.element_id, problem.line) == (
        "unknown extension element spiffworkflow:colour", "extension", "home_visit_assessment",
        line_of(files[BPMN_FILE], "<spiffworkflow:colour>"))


def test_misspelt_spiffworkflow_element_gets_a_suggestion():
    files = mutate(HOME_VISIT_PROPERTIES, HOME_VISIT_PROPERTIES + "        <spiffworkflow:prescript>visits = 1"
                   "</spiffworkflow:prescript>\n")
    problem = the_problem(files)
    assert (problem.message, problem.hint) == ("unknown extension element spiffworkflow:prescript",
                                               "did you mean spiffworkflow:preScript?")


def test_spiffworkflow_property_with_an_unknown_attribute():
    old = '<spiffworkflow:property name="formKey" value="needs_assessment" />'
    files = mutate(old, old.replace(" />", ' colour="red" />'))
    assert the_problem(files) == Problem(
        BPMN_FILE, f"Element '{SPIFF_NS}property', attribute 'colour': The attribute 'colour' is not allowed",
        "schema", None, line_of(files[BPMN_FILE], 'colour="red"'), SCHEMA_HINT)


def test_process_with_another_id():
    files = mutate('<bpmn:process id="case_management"', '<bpmn:process id="case_mgmt"')
    assert the_problem(files) == Problem(
        "(set)", "The process 'case_management' was not found. Did you mean one of the following: case_mgmt?",
        "schema", hint=SCHEMA_HINT)


def test_process_without_id():
    files = mutate('<bpmn:process id="case_management"', "<bpmn:process")
    problems = check_definition(files)
    assert [(p.file, p.rule) for p in problems] == [("(set)", "schema")]


# --- translations beside forms and processes ------------------------------------------------------------------

def test_process_translations_name_only_tasks_and_lanes_of_the_process():
    files = dict(SHIPPED)
    files["case_management.i18n.json"] = '{"ru": {"Register referral": "Зарегистрировать обращение"}}'
    assert check_definition(files) == []
    files["case_management.i18n.json"] = '{"ru": {"A task renamed since": "x"}}'
    assert check_definition(files) == []  # a stale entry never blocks publishing; it is simply unused
    files["case_management.i18n.json"] = '{"ru": {"Register referral": 7}}'
    problem = the_problem(files)
    assert (problem.file, problem.rule) == ("case_management.i18n.json", "translation")
    files["case_management.i18n.json"] = '{"fr": {}}'
    assert "'fr' is not a language" in the_problem(files).message
    files["case_management.i18n.json"] = '{"ru": '
    assert "invalid JSON at line 1" in the_problem(files).message


def test_translations_must_belong_to_a_form_or_a_process_of_the_set():
    files = dict(SHIPPED, **{"nothing_here.i18n.json": "{}"})
    problem = the_problem(files)
    assert problem.rule == "orphan" and "neither a form nor a BPMN file" in problem.message
    files = dict(SHIPPED, **{"plan_approval.i18n.json": '{"ru": {"Not a text of the form": "x"}}'})
    assert the_problem(files).file == "plan_approval.i18n.json"


def test_a_file_of_the_wrong_kind_is_named_as_such():
    bpmn_problems = check_definition(with_bpmn('<?xml version="1.0"?>\n<html><body/></html>'))
    assert [(p.file, p.rule, p.line) for p in bpmn_problems] == [(BPMN_FILE, "xml", 2)]
    assert bpmn_problems[0].message == "the file is not BPMN 2.0: its root element is 'html'"
    files = {**SHIPPED, "extra.dmn": "<not-dmn/>"}
    [problem] = check_definition(files)
    assert (problem.file, problem.message) == ("extra.dmn", "the file is not DMN: its root element is 'not-dmn'")
    assert problem.hint.startswith("a DMN file starts with")
