"""A draft's problems are told in the reader's language: each problem keeps its catalogue template and params,
and the workbench and the API render them at read time (the English text stays the problem's ``message``)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from engine.db.models import DefinitionDraft
from engine.deadlines.rules import RuleError, parse_rule
from engine.i18n import LANGUAGES, translated_ids
from engine.process.definitions import (Problem, check_definition, problem_text, read_definition_files)
from engine.services import drafts
from engine.services.demo import actor

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("engine/process/definitions.py", "engine/process/lint_rules.py", "engine/deadlines/rules.py")
BPMN = "case_management.bpmn"
ASSESSMENT_DEADLINE = '<spiffworkflow:property name="deadline" value="5 working days" />'
TIMER = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P90D"</bpmn:timeDuration>'
LANE_REF = "        <bpmn:flowNodeRef>home_visit_assessment</bpmn:flowNodeRef>\n"
ROLES_TEXT = "social_worker, supervisor, center_head, specialist"

ENGLISH = {
    "lane": ("user task 'home_visit_assessment' is in no lane", "put it in a lane named after a role: " + ROLES_TEXT),
    "deadline": ("task 'home_visit_assessment', property deadline: 'seven days' is not a duration",
                 'write a number and a unit: "5 working days", "24 working hours" or "30 calendar days"'),
    "timer": ("the timer expression P90D is not quoted", 'write it as a string: "P90D"'),
}
#: What each message and hint must still say in any language (ids, values and technical tokens).
KEPT = {"lane": (["home_visit_assessment"], [ROLES_TEXT]),
        "deadline": (["home_visit_assessment", "deadline", "seven days"], ["5 working days"]),
        "timer": (["P90D"], ['"P90D"'])}


def methodologist(engine, language="en"):
    return dataclasses.replace(actor(engine, "methodologist1"), language=language)


def broken_bpmn(text: str) -> str:
    for old, new in ((LANE_REF, ""), (TIMER, TIMER.replace('"P90D"', "P90D")),
                     (ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace("5 working days", "seven days"))):
        assert old in text
        text = text.replace(old, new, 1)
    return text


def by_rule(view) -> dict:
    return {p["rule"]: p for p in view["problems"]}


def test_a_drafts_problems_are_told_in_the_readers_language(engine):
    english = methodologist(engine)
    draft = drafts.start_draft(engine, english, {"name": "Broken on purpose"})
    saved = drafts.save_file(engine, english, draft["id"], BPMN,
                             {"content": broken_bpmn(draft["files"][BPMN]), "row_version": draft["row_version"]})
    assert sorted(by_rule(saved)) == sorted(ENGLISH)
    for view in (saved, drafts.get_draft(engine, english, draft["id"]), drafts.check(engine, english, draft["id"])):
        problems = by_rule(view)
        assert {rule: (p["message"], p["hint"]) for rule, p in problems.items()} == ENGLISH
        # the API view is as before: the templates stay in the database
        assert all(set(p) == {"file", "line", "element_id", "rule", "message", "hint"} for p in problems.values())
        assert problems["lane"]["element_id"] == "home_visit_assessment" and problems["lane"]["file"] == BPMN

    for language in ("ru", "uz", "uz-Cyrl", "kk", "ky"):
        reader = methodologist(engine, language)
        for view in (drafts.get_draft(engine, reader, draft["id"]), drafts.check(engine, reader, draft["id"]),
                     drafts.list_drafts(engine, reader)["items"][0]):
            problems = by_rule(view)
            assert sorted(problems) == sorted(ENGLISH)
            for rule, (message, hint) in ENGLISH.items():
                told = problems[rule]
                assert told["message"] != message and told["hint"] != hint, (language, rule, told)
                kept_in_message, kept_in_hint = KEPT[rule]
                assert all(token in told["message"] for token in kept_in_message), (language, told["message"])
                assert all(token in told["hint"] for token in kept_in_hint), (language, told["hint"])
                assert "%(" not in told["message"] + told["hint"]
            assert problems["lane"]["line"] == by_rule(saved)["lane"]["line"]


def test_a_problem_keeps_its_english_text_and_stores_what_translates_it():
    files = read_definition_files(ROOT / "workflows", ROOT / "forms")
    files[BPMN] = broken_bpmn(files[BPMN])
    problems = {p.rule: p for p in check_definition(files)}
    assert {rule: (p.message, p.hint) for rule, p in problems.items()} == ENGLISH
    record = json.loads(json.dumps(problems["deadline"].as_record()))
    assert record["template"] == "task '%(task)s', property %(property)s: %(error)s"
    assert record["params"]["error"] == {"template": "'%(text)s' is not a duration", "params": {"text": "seven days"}}
    assert problem_text(record, "en") == ENGLISH["deadline"]
    assert set(problems["lane"].as_dict()) == {"file", "line", "element_id", "rule", "message", "hint"}
    # equality and the text of a problem are those of its English words
    assert problems["lane"] == Problem(BPMN, ENGLISH["lane"][0], "lane", "home_visit_assessment",
                                       problems["lane"].line, ENGLISH["lane"][1])


def test_a_percent_sign_in_a_rule_is_a_percent_sign():
    with pytest.raises(RuleError) as caught:
        parse_rule({"deadline": "5 working days", "reminder": "120%"})
    assert str(caught.value) == "'120%' is not a point between 1% and 99%"
    assert caught.value.hint == 'write percentages of the time allowed, for example "80%" or "50%, 80%"'
    problem = Problem.of("x.bpmn", caught.value.template, "deadline", hint=caught.value.hint_template,
                         **caught.value.params)
    for language in LANGUAGES:
        message, hint = problem_text(problem.as_record(), language)
        assert "120%" in message and "%%" not in message and "%%" not in hint and "80%" in hint


def templates() -> set[str]:
    found = set()
    for source in SOURCES:
        for _, message, _, _ in extract_from_file("python", ROOT / source, keywords={"N_": None}):
            found.add(message)
    return found


def test_every_template_of_a_problem_is_translated_in_every_language():
    found = templates()
    assert len(found) > 60  # the extraction sees the marked templates
    for language in LANGUAGES:
        missing = sorted(found - translated_ids(language))
        assert not missing, (language, missing)


def test_the_problems_of_broken_definitions_all_have_translated_templates():
    files = read_definition_files(ROOT / "workflows", ROOT / "forms")
    bpmn = broken_bpmn(files[BPMN]).replace("<spiffworkflow:properties>", (
        '<spiffworkflow:Properties/><spiffworkflow:properties><spiffworkflow:property name="requires_consent" '
        'value="gossip" />'), 1)
    broken = [{**files, BPMN: bpmn}, {**files, "notes.txt": "?"}, {**files, "ghost.i18n.json": "{}"},
              {**files, BPMN: "<definitions/>"}, {**files, "case_management.i18n.json": "[1]"},
              {**files, BPMN: files[BPMN].replace(ASSESSMENT_DEADLINE, ASSESSMENT_DEADLINE.replace(
                  "5 working days", "2.5 working days"), 1)}]
    seen = []
    for variant in broken:
        for problem in check_definition(variant):
            record = problem.as_record()
            assert record["template"] or record["hint_template"] or problem.rule in ("xml", "bpmn"), record
            seen += [t for t in (record["template"], record["hint_template"]) if t]
            for value in record["params"].values():
                if isinstance(value, dict):
                    seen.append(value["template"])
    assert len(set(seen)) >= 10
    for language in LANGUAGES:
        assert not set(seen) - translated_ids(language), language


def test_an_old_stored_problem_without_a_template_keeps_its_english_text(engine):
    old = {"file": BPMN, "line": 3, "element_id": "x", "rule": "lane", "message": "user task 'x' is in no lane",
           "hint": "put it in a lane"}
    assert problem_text(old, "ru") == ("user task 'x' is in no lane", "put it in a lane")
    draft = drafts.start_draft(engine, methodologist(engine), {"name": "Old problems"})
    with engine.db.write() as session:
        session.get(DefinitionDraft, draft["id"]).problems = [old]
    [shown] = drafts.get_draft(engine, methodologist(engine, "ru"), draft["id"])["problems"]
    assert shown == old
