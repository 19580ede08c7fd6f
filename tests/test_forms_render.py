"""Forms in the browser: server-side HTML, the POST read back, translations of form texts."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from werkzeug.datastructures import MultiDict

import forms.messages as M
from forms import FormDefinition, FormDefinitionError, FormValidationError, load_form_file
from forms.formdata import CONTROL_NAMES, FormAction, field_name, parse_submission
from forms.i18n import LANGUAGES, FormTexts, form_texts
from forms.render import render_form, text_to_html
from tests.sample_answers import SAMPLE_ANSWERS, answers

REPO = Path(__file__).resolve().parent.parent
FORM_FILES = sorted((REPO / "forms").glob("*.form.json"))
FORM_KEYS = [path.name[: -len(".form.json")] for path in FORM_FILES]


def load(key: str) -> FormDefinition:
    return load_form_file(REPO / "forms" / f"{key}.form.json")


def form(*components, **extra) -> FormDefinition:
    data = {"id": "test_form", "type": "default", "components": list(components)}
    data.update(extra)
    return FormDefinition.from_dict(data)


def dynamiclist(path="services", components=None, **extra):
    if components is None:
        components = [
            {"type": "textfield", "key": "provider", "label": "Provider", "validate": {"required": True}},
            {"type": "checkbox", "key": "done", "label": "Done"},
        ]
    return {
        "type": "dynamiclist", "path": path, "label": path.title(), "isRepeating": True,
        "allowAddRemove": True, "components": components, **extra,
    }


def html_of(markup) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(str(markup), create_parent="div")


def textarea_value(element) -> str:
    """A textarea's value as a browser sees it (HTML drops the newline right after the tag;
    libxml2 does not)."""
    text = element.text or ""
    return text[1:] if text.startswith("\n") else text


def browser_post(markup, click=None) -> MultiDict:
    """What a browser sends for the rendered form (``click`` = (name, value) of a pressed button)."""
    tree = html_of(markup)
    pairs: list[tuple[str, str]] = []
    for element in tree.iter("input", "select", "textarea"):
        name = element.get("name")
        if not name:
            continue
        if element.tag == "select":
            options = element.findall("option")
            chosen = [option for option in options if option.get("selected") is not None] or options[:1]
            pairs.extend((name, option.get("value", option.text_content())) for option in chosen)
        elif element.tag == "textarea":
            pairs.append((name, textarea_value(element)))
        elif element.get("type") in ("checkbox", "radio"):
            if element.get("checked") is not None:
                pairs.append((name, element.get("value", "on")))
        else:
            pairs.append((name, element.get("value", "")))
    if click is not None:
        pairs.append(click)
    pairs.append(("csrf_token", "token"))
    return MultiDict(pairs)


def empty_value(spec):
    return {"checkbox": False, "checklist": [], "dynamiclist": []}.get(spec.type)


def complete(fields, data: dict) -> dict:
    """``data`` with every field of the form present, as a browser POST gives it."""
    result = {}
    for spec in fields:
        if spec.key in data:
            value = data[spec.key]
            if spec.type == "dynamiclist":
                value = [complete(spec.children, item) for item in value]
            elif spec.type == "checklist":  # a browser sends the boxes in the order of the form
                value = [option for option in spec.options if option in value]
            result[spec.key] = value
        else:
            result[spec.key] = empty_value(spec)
    return result


def validation_errors(fd: FormDefinition, data, **kwargs) -> dict:
    with pytest.raises(FormValidationError) as info:
        fd.validate(data, **kwargs)
    return info.value.errors


def wrap(text: str) -> str:
    return f"«{text}»"


# --------------------------------------------------------------------------
# Every shipped form: render, post back, validate
# --------------------------------------------------------------------------


def test_every_form_has_sample_answers():
    assert set(FORM_KEYS) == set(SAMPLE_ANSWERS)


@pytest.mark.parametrize("key", FORM_KEYS)
def test_render_empty_form(key):
    fd = load(key)
    tree = html_of(render_form(fd, {}, None))
    ids = [element.get("id") for element in tree.iter() if element.get("id")]
    assert len(ids) == len(set(ids))
    names = {element.get("name") for element in tree.iter("input", "select", "textarea")}
    for spec in fd.fields:  # every field is there, under its name
        if spec.type == "dynamiclist":
            assert any(name.startswith(spec.key + "-") for name in names)
        else:
            assert spec.key in names
    assert not tree.find_class("field-error")
    assert not tree.find_class("error-summary")


@pytest.mark.parametrize("key", FORM_KEYS)
def test_sample_answers_round_trip_through_the_browser(key):
    fd = load(key)
    sample = answers(key)
    markup = render_form(fd, sample, None)
    data, action = parse_submission(fd, browser_post(markup))
    assert action is None
    assert fd.validate(data) == complete(fd.fields, sample)
    # and the values parsed back render the same HTML
    assert str(render_form(fd, data, None)) == str(markup)


@pytest.mark.parametrize("key", FORM_KEYS)
def test_an_untouched_empty_form_posts_back_what_validation_expects(key):
    fd = load(key)
    data, action = parse_submission(fd, browser_post(render_form(fd, {}, None)))
    assert action is None
    assert set(data) == fd.field_keys()
    fd.validate(data, partial=True)  # a draft of an empty form is fine
    required = {spec.key for spec in fd.fields if spec.required}
    if required:
        assert required <= set(validation_errors(fd, data))


@pytest.mark.parametrize("key", FORM_KEYS)
def test_render_with_errors_puts_each_message_by_its_field(key):
    fd = load(key)
    data, _ = parse_submission(fd, browser_post(render_form(fd, {}, None)))
    data["forged"] = "x"
    errors = validation_errors(fd, data)
    tree = html_of(render_form(fd, data, errors))
    assert tree.find_class("error-summary")
    summary = tree.find_class("error-summary")[0].text_content()
    assert "forged: Unknown field." in summary
    for spec in fd.fields:
        if spec.key not in errors:
            continue
        if spec.type == "dynamiclist" and isinstance(errors[spec.key], dict):
            first_item = errors[spec.key][0]
            child = next(iter(first_item))
            name = field_name(spec.key, 0, child)
            messages = first_item[child]
        else:
            name, messages = spec.key, errors[spec.key]
        error = tree.get_element_by_id(f"field-{name}--error")
        assert error.tag == "p" and "field-error" in error.classes
        assert error.text_content() == " ".join(messages)
        controls = [element for element in tree.iter("input", "select", "textarea") if element.get("name") == name]
        if not controls:  # a dynamiclist's own message: on its fieldset
            fieldset = tree.get_element_by_id(f"field-{name}")
            assert f"field-{name}--error" in fieldset.get("aria-describedby").split()
            continue
        for control in controls:
            assert control.get("aria-invalid") == "true"
            assert f"field-{name}--error" in control.get("aria-describedby").split()


@pytest.mark.parametrize("key", FORM_KEYS)
def test_every_input_has_a_label(key):
    fd = load(key)
    for values in ({}, answers(key)):
        tree = html_of(render_form(fd, values, None))
        labels = {label.get("for") for label in tree.iter("label")}
        for control in tree.iter("input", "select", "textarea"):
            if control.get("type") == "hidden":
                continue
            has_label = control.get("id") in labels
            in_fieldset = any(
                ancestor.tag == "fieldset" and ancestor.find("legend") is not None
                for ancestor in control.iterancestors()
            )
            assert has_label or in_fieldset, lxml.html.tostring(control)
            if control.get("type") in ("radio", "checkbox") and control.getparent().get("class") == "field-option":
                assert has_label and in_fieldset


@pytest.mark.parametrize("key", FORM_KEYS)
def test_every_visible_text_goes_through_the_translator(key):
    """Rendered with a translator that wraps texts in «», every piece of visible text is
    inside a text block (label, legend, option, button, paragraph, heading, list item)
    whose whole content is wrapped; only error messages (already translated) and the
    person's own values are not."""
    fd = load(key)
    data, _ = parse_submission(fd, browser_post(render_form(fd, {}, None)))
    errors = {name: ["ERROR " + name] for name in fd.field_keys()}
    tree = html_of(render_form(fd, data, errors, translate=wrap))
    blocks = ("label", "legend", "option", "button", "p", "h3", "h4", "h5", "h6", "li")

    def not_ours(element):  # error messages and what the person typed
        return any(
            node.tag == "textarea" or {"field-error", "error-summary"} & set(node.classes)
            for node in (element, *element.iterancestors())
        )

    def block_of(element):
        return next((node for node in (element, *element.iterancestors()) if node.tag in blocks), None)

    wrapped = set()
    for element in tree.iter():
        for text, owner in ((element.text, element), (element.tail, element.getparent())):
            if not text or not text.strip() or owner is None or not_ours(owner):
                continue
            block = block_of(owner)
            assert block is not None, f"text outside a text block: {text!r}"
            content = block.text_content().strip()
            assert content.startswith("«") and content.endswith("»"), content
            wrapped.add(block)
    assert len(wrapped) >= len(form_texts(fd))
    for element in tree.iter():
        if element.get("aria-label"):
            assert element.get("aria-label").startswith("«")


def test_the_package_words_are_translated():
    fd = load("service_plan")
    words = []

    def translate(text):
        words.append(text)
        return text

    render_form(fd, {"services": [{}, {}]}, {"goals": ["x"]}, translate=translate)
    for word in (M.RENDER_REQUIRED, M.RENDER_CHOOSE, M.RENDER_ADD, M.RENDER_REMOVE, M.RENDER_REMOVE_ITEM,
                 M.RENDER_ITEM, M.RENDER_ERROR_SUMMARY):
        assert word in words
    assert set(form_texts(fd)) <= set(words)
    html = str(render_form(fd, {"services": []}, None, translate=lambda text: text.upper()))
    assert "NO ITEMS YET." in html and "INDIVIDUAL SERVICE PLAN" in html


def test_a_translation_with_broken_placeholders_falls_back_to_english():
    fd = load("service_plan")
    html = str(render_form(fd, {}, None, translate=lambda text: "Punkt {nummer}" if text == M.RENDER_ITEM else text))
    assert "<legend>Item 1</legend>" in html


# --------------------------------------------------------------------------
# Reading the POST
# --------------------------------------------------------------------------


def test_name_scheme():
    assert field_name("goals") == "goals"
    assert field_name("services", 0, "service_type") == "services-0-service_type"
    fd = load("service_plan")
    tree = html_of(render_form(fd, answers("service_plan"), None))
    names = {element.get("name") for element in tree.iter("input", "select", "textarea", "button")}
    assert {"goals", "services-0", "services-0-service_type", "services-1-target_date", "client_consent",
            "_add", "_remove"} <= names


def test_conversions_by_type():
    fd = load("needs_assessment")
    post = {
        "visit_date": ["2025-12-02"], "living_conditions": [""], "health_selfcare": ["independent"],
        "monthly_income": ["1200000"], "monthly_expenses": [""], "household_size": ["2.0"],
        "needs": ["household", "medical"], "strengths": [""], "in_need": ["yes"],
        "assessment_summary": ["  Lives alone.  "],
    }
    data, action = parse_submission(fd, post)
    assert action is None
    assert data == {
        "visit_date": "2025-12-02", "living_conditions": None, "health_selfcare": "independent",
        "monthly_income": 1200000, "monthly_expenses": None, "household_size": 2.0,
        "needs": ["household", "medical"], "risk_factors": [], "strengths": None, "in_need": "yes",
        "assessment_summary": "  Lives alone.  ",
    }
    cleaned = fd.validate(data)
    assert cleaned["household_size"] == 2 and isinstance(cleaned["household_size"], int)
    assert cleaned["assessment_summary"] == "Lives alone."
    assert cleaned["monthly_expenses"] is None  # a cleared optional field clears the answer


@pytest.mark.parametrize(
    ("posted", "value", "message"),
    [
        ("12", 12, None),
        ("-3", -3, "Must be at least 0."),
        ("1.5", 1.5, "Must be a whole number."),
        ("1e3", 1000.0, None),
        ("abc", "abc", "Must be a number."),
        ("1,5", "1,5", "Must be a number."),
        ("nan", "nan", "Must be a number."),
        ("9" * 400, float("inf"), "Must be a finite number."),
        ("9" * 20, 10**20 - 1, "Number is too large."),
    ],
)
def test_numbers(posted, value, message):
    fd = load("needs_assessment")
    data, _ = parse_submission(fd, {"monthly_income": [posted]})
    assert data["monthly_income"] == value
    if message is None:
        assert fd.validate(data, partial=True)["monthly_income"] == value
    else:
        assert validation_errors(fd, data, partial=True) == {"monthly_income": [message]}


def test_checkboxes_and_checklists():
    fd = load("register_referral")
    data, _ = parse_submission(fd, {"violence": ["true"], "immediate_danger": ["on"], "client_categories": ["other"]})
    assert data["violence"] is True and data["immediate_danger"] is True and data["child_at_risk_flag"] is False
    assert data["client_categories"] == ["other"] and data["presenting_problems"] == []
    data, _ = parse_submission(fd, {"violence": ["maybe"], "child_at_risk_flag": ["true", "true"]})
    assert validation_errors(fd, data, partial=True) == {
        "violence": ["Must be true or false."], "child_at_risk_flag": ["Must be true or false."],
    }
    data, _ = parse_submission(fd, {"presenting_problems": ["housing", "housing"]})
    assert validation_errors(fd, data, partial=True) == {
        "presenting_problems": ["Each option may be chosen only once."],
    }
    data, _ = parse_submission(fd, {"presenting_problems": ["housing", "mars"]})
    assert validation_errors(fd, data, partial=True) == {
        "presenting_problems": ["Not one of the allowed options: material_hardship, housing, health, self_care, "
                                "family_conflict, violence, child_neglect, unemployment, documents, loneliness, "
                                "substance_use, other."],
    }


def test_a_single_value_posted_twice_is_refused():
    fd = load("plan_approval")
    data, _ = parse_submission(fd, MultiDict([("decision", "approved"), ("decision", "returned"), ("comment", "a"),
                                              ("comment", "b")]))
    assert data == {"decision": ["approved", "returned"], "comment": ["a", "b"]}
    errors = validation_errors(fd, data)
    assert errors["comment"] == ["Must be text."]
    assert errors["decision"] == ["Not one of the allowed options: approved, returned."]


def test_mapping_inputs():
    fd = load("plan_approval")
    assert parse_submission(fd, {"decision": "approved"})[0] == {"decision": "approved", "comment": None}
    assert parse_submission(fd, {"decision": ("approved",)})[0] == {"decision": "approved", "comment": None}
    assert parse_submission(fd, MultiDict({"decision": "approved"}))[0] == {"decision": "approved", "comment": None}
    with pytest.raises(TypeError):
        parse_submission(fd, [("decision", "approved")])


def test_control_names_are_left_to_the_caller():
    fd = load("plan_approval")
    post = {name: ["x"] for name in CONTROL_NAMES - {"_add", "_remove"}}
    post["decision"] = ["approved"]
    data, action = parse_submission(fd, post)
    assert data == {"decision": "approved", "comment": None} and action is None


def test_forged_fields_are_refused_with_a_clear_message():
    fd = load("service_plan")
    post = browser_post(render_form(fd, answers("service_plan"), None))
    for name, value in [("is_admin", "1"), ("services-0-cost", "100"), ("services-x-provider", "p"),
                        ("services-01-provider", "p"), ("services-1234567-provider", "p"),
                        ("goals-extra", "z"), ("services-1", "not empty")]:
        post.add(name, value)
    data, action = parse_submission(fd, post)
    assert action is None
    errors = validation_errors(fd, data)
    unknown = ["Unknown field."]
    assert errors == {
        "is_admin": unknown, "services-x-provider": unknown, "services-01-provider": unknown,
        "services-1234567-provider": unknown, "goals-extra": unknown, "services-1": unknown,
        "services": {0: {"cost": unknown}},
    }
    tree = html_of(render_form(fd, data, errors))
    summary = tree.find_class("error-summary")[0].text_content()
    for name in ("is_admin", "services-x-provider", "services-0-cost", "services-1"):
        assert f"{name}: Unknown field." in summary
    item = tree.get_element_by_id("field-services-0")
    assert "services-0-cost: Unknown field." in item.find_class("form-errors")[0].text_content()


def test_forging_a_container_name_is_refused():
    fd = load("service_plan")
    post = browser_post(render_form(fd, answers("service_plan"), None))
    post.add("services", "everything")
    data, _ = parse_submission(fd, post)
    assert validation_errors(fd, data) == {"services": ["Must be a list."]}


@pytest.mark.parametrize(
    ("key", "removed", "expected"),
    [
        ("service_plan", "goals", {"goals": ["This field is required."]}),
        ("service_plan", "client_consent", {"client_consent": ["This box must be ticked."]}),
        ("service_plan", "services-1-responsible", {"services": {1: {"responsible": ["This field is required."]}}}),
        ("plan_approval", "decision", {"decision": ["This field is required."]}),
        ("register_referral", "presenting_problems", {"presenting_problems": ["This field is required."]}),
        ("needs_assessment", "visit_date", {"visit_date": ["This field is required."]}),
    ],
)
def test_a_removed_required_field_is_refused(key, removed, expected):
    fd = load(key)
    post = browser_post(render_form(fd, answers(key), None))
    assert removed in post
    post.poplist(removed)
    data, _ = parse_submission(fd, post)
    assert validation_errors(fd, data) == expected


def test_removing_every_item_of_a_required_list_is_refused():
    fd = load("service_plan")
    post = browser_post(render_form(fd, answers("service_plan"), None))
    for name in list(post):
        if name.startswith("services-"):
            post.poplist(name)
    data, _ = parse_submission(fd, post)
    assert data["services"] == []
    assert validation_errors(fd, data) == {"services": ["Add at least one item."]}


def test_oversized_values_are_refused():
    fd = load("service_plan")
    post = browser_post(render_form(fd, answers("service_plan"), None))
    post["goals"] = "x" * 4001
    post["services-0-provider"] = "p" * 201
    post["services-1-target_date"] = "2025-02-30"
    data, _ = parse_submission(fd, post)
    assert validation_errors(fd, data) == {
        "goals": ["Must be at most 4000 characters."],
        "services": {0: {"provider": ["Must be at most 200 characters."]},
                     1: {"target_date": ["Not a valid date; use YYYY-MM-DD."]}},
    }
    tree = html_of(render_form(fd, {}, None))
    assert tree.get_element_by_id("field-goals").get("maxlength") == "4000"
    assert tree.get_element_by_id("field-services-0-provider").get("maxlength") == "200"


def test_too_many_items_are_refused():
    fd = form(dynamiclist(properties={"maxItems": "2"}))
    post = {f"services-{index}-provider": ["p"] for index in range(3)}
    data, _ = parse_submission(fd, post)
    assert validation_errors(fd, data) == {"services": ["Must have at most 2 items."]}


# --------------------------------------------------------------------------
# Add and remove items without JavaScript
# --------------------------------------------------------------------------


def test_add_an_item():
    fd = load("service_plan")
    sample = answers("service_plan")
    markup = render_form(fd, sample, None)
    data, action = parse_submission(fd, browser_post(markup, click=("_add", "services")))
    assert action == FormAction("add", "services", True)
    assert data["services"][:2] == complete(fd.fields, sample)["services"]
    assert data["services"][2] == {"service_type": None, "provider": None, "frequency": None,
                                   "responsible": None, "target_date": None}
    assert data["goals"] == sample["goals"]
    tree = html_of(render_form(fd, data, None))
    assert tree.get_element_by_id("field-services-2-service_type") is not None
    assert len(tree.find_class("list-item")) == 3


def test_remove_an_item():
    fd = load("service_plan")
    sample = answers("service_plan")
    data, action = parse_submission(fd, browser_post(render_form(fd, sample, None), click=("_remove", "services-0")))
    assert action == FormAction("remove", "services-0", True)
    assert data["services"] == [sample["services"][1]]
    # and then the last one: the list renders empty, with its Add button
    data, action = parse_submission(fd, browser_post(render_form(fd, data, None), click=("_remove", "services-0")))
    assert action.applied and data["services"] == []
    tree = html_of(render_form(fd, data, None))
    assert not tree.find_class("list-item") and tree.find_class("list-empty")
    assert [button.get("value") for button in tree.iter("button")] == ["services"]


def test_remove_uses_the_posted_index_and_closes_gaps():
    fd = form(dynamiclist())
    post = {"services-0-provider": ["a"], "services-5-provider": ["b"], "services-9-provider": ["c"],
            "_remove": ["services-5"]}
    data, action = parse_submission(fd, post)
    assert action == FormAction("remove", "services-5", True)
    assert data == {"services": [{"provider": "a", "done": False}, {"provider": "c", "done": False}]}


def test_an_item_of_unticked_boxes_survives_thanks_to_its_marker():
    fd = form(dynamiclist(components=[{"type": "checkbox", "key": "done", "label": "Done"}]))
    markup = render_form(fd, {"services": [{"done": False}, {"done": True}]}, None)
    data, _ = parse_submission(fd, browser_post(markup))
    assert data == {"services": [{"done": False}, {"done": True}]}


@pytest.mark.parametrize(
    ("extra", "click"),
    [
        ({"allowAddRemove": False}, ("_add", "services")),
        ({"allowAddRemove": False}, ("_remove", "services-0")),
        ({}, ("_add", "nothing")),
        ({}, ("_add", "services-0-provider")),
        ({}, ("_remove", "services-7")),
        ({}, ("_remove", "services")),
        ({"properties": {"maxItems": "1"}}, ("_add", "services")),
    ],
)
def test_an_action_that_cannot_be_done_changes_nothing(extra, click):
    fd = form(dynamiclist(**extra))
    post = {"services-0-provider": ["a"], click[0]: [click[1]]}
    data, action = parse_submission(fd, post)
    assert action == FormAction(click[0][1:], click[1], False)
    assert data == {"services": [{"provider": "a", "done": False}]}


def test_buttons_only_where_add_remove_is_allowed():
    fixed = html_of(render_form(form(dynamiclist(allowAddRemove=False, defaultRepetitions=2)), {}, None))
    assert not list(fixed.iter("button")) and len(fixed.find_class("list-item")) == 2
    full = html_of(render_form(form(dynamiclist(properties={"maxItems": "2"})), {"services": [{}, {}]}, None))
    assert [button.get("name") for button in full.iter("button")] == ["_remove", "_remove"]
    for button in full.iter("button"):
        assert button.get("type") == "submit" and button.get("formnovalidate") is not None


def test_nested_groups_and_lists():
    fd = form(
        {"type": "group", "path": "address", "label": "Address", "components": [
            {"type": "textfield", "key": "street", "label": "Street", "validate": {"required": True}},
        ]},
        {"type": "group", "label": "Contact", "components": [
            {"type": "textfield", "key": "phone", "label": "Phone"},
        ]},
        dynamiclist("members", components=[
            {"type": "textfield", "key": "name", "label": "Name"},
            dynamiclist("visits", components=[{"type": "datetime", "subtype": "date", "key": "on", "dateLabel": "On"}]),
        ]),
    )
    values = {"address": {"street": "Navoiy 12"}, "phone": "123",
              "members": [{"name": "Ali", "visits": [{"on": "2025-01-02"}, {"on": "2025-02-03"}]}]}
    markup = render_form(fd, values, None)
    tree = html_of(markup)
    assert tree.get_element_by_id("field-address-street").get("value") == "Navoiy 12"
    assert tree.get_element_by_id("field-members-0-visits-1-on").get("type") == "date"
    data, action = parse_submission(fd, browser_post(markup))
    assert action is None and fd.validate(data) == values
    data, action = parse_submission(fd, browser_post(markup, click=("_add", "members-0-visits")))
    assert action.applied and data["members"][0]["visits"][2] == {"on": None}
    data, action = parse_submission(fd, browser_post(markup, click=("_remove", "members-0-visits-0")))
    assert action.applied and data["members"][0]["visits"] == [{"on": "2025-02-03"}]
    post = browser_post(markup)
    post.add("address-zip", "100000")
    post.poplist("address-street")
    data, _ = parse_submission(fd, post)
    errors = validation_errors(fd, data)
    assert errors == {"address": {"street": ["This field is required."], "zip": ["Unknown field."]}}
    tree = html_of(render_form(fd, data, errors))
    assert tree.get_element_by_id("field-address-street").get("aria-invalid") == "true"
    assert "address-zip: Unknown field." in tree.find_class("error-summary")[0].text_content()


# --------------------------------------------------------------------------
# The HTML itself
# --------------------------------------------------------------------------


def test_required_fields_say_so_in_words_and_attributes():
    tree = html_of(render_form(load("plan_approval"), {}, None))
    legend = tree.get_element_by_id("field-decision").find("legend")
    assert legend.text_content() == "Decision on the service plan (required)"
    assert tree.get_element_by_id("field-decision").get("aria-required") == "true"
    for radio in tree.get_element_by_id("field-decision").iter("input"):
        assert radio.get("required") is not None
    comment = tree.get_element_by_id("field-comment")
    assert comment.get("required") is None
    assert comment.get("aria-describedby") == "field-comment--desc"
    assert tree.get_element_by_id("field-comment--desc").text_content().startswith("Required when returned")


def test_attributes_of_numbers_dates_and_selects():
    tree = html_of(render_form(load("needs_assessment"), {"household_size": 3, "visit_date": "2025-12-02"}, None))
    size = tree.get_element_by_id("field-household_size")
    assert (size.get("type"), size.get("min"), size.get("max"), size.get("step"), size.get("value")) == (
        "number", "1", "30", "1", "3")
    date = tree.get_element_by_id("field-visit_date")
    assert (date.get("type"), date.get("value"), date.get("required")) == ("date", "2025-12-02", "")
    select = tree.get_element_by_id("field-living_conditions")
    assert select.find("option").get("value") == "" and select.find("option").text == "— Choose —"
    assert tree.get_element_by_id("field-in_need-0").get("type") == "radio"


def test_defaults_fill_an_empty_form():
    fd = form({"type": "textfield", "key": "city", "label": "City", "defaultValue": "Tashkent"},
              {"type": "checkbox", "key": "ok", "label": "OK", "defaultValue": True})
    tree = html_of(render_form(fd, {}, None))
    assert tree.get_element_by_id("field-city").get("value") == "Tashkent"
    assert tree.get_element_by_id("field-ok").get("checked") is not None
    tree = html_of(render_form(fd, {"city": None, "ok": False}, None))
    assert tree.get_element_by_id("field-city").get("value") == ""
    assert tree.get_element_by_id("field-ok").get("checked") is None


def test_everything_is_escaped():
    evil = '"><script>alert(1)</script>'
    fd = form(
        {"type": "text", "text": "<b>bold</b> **" + evil + "**"},
        {"type": "textfield", "key": "name", "label": evil, "description": evil},
        {"type": "select", "key": "pick", "label": "Pick", "values": [{"label": evil, "value": evil}]},
        {"type": "textarea", "key": "notes", "label": "Notes"},
    )
    markup = str(render_form(fd, {"name": evil, "pick": evil, "notes": "</textarea>" + evil}, {"name": [evil], evil: [evil]},
                             translate=lambda text: text + "<i>"))
    assert "<script>" not in markup and "<b>" not in markup and "<i>" not in markup
    tree = html_of(markup)
    assert tree.get_element_by_id("field-name").get("value") == evil
    assert textarea_value(tree.get_element_by_id("field-notes")) == "</textarea>" + evil
    data, _ = parse_submission(fd, browser_post(markup))
    assert data["name"] == evil and data["pick"] == evil and data["notes"] == "</textarea>" + evil


def test_textarea_keeps_a_leading_newline():
    fd = form({"type": "textarea", "key": "notes", "label": "Notes"})
    tree = html_of(render_form(fd, {"notes": "\nsecond line"}, None))
    assert textarea_value(tree.get_element_by_id("field-notes")) == "\nsecond line"


def test_text_components():
    assert text_to_html("# Visit\n\nSee **this** and *that*.\nNext line.") == (
        "<h3>Visit</h3><p>See <strong>this</strong> and <em>that</em>.<br>Next line.</p>")
    assert text_to_html("- one\n- two") == "<ul><li>one</li><li>two</li></ul>"
    assert text_to_html("1. one\n2. two") == "<ol><li>one</li><li>two</li></ol>"
    assert text_to_html("a < b & [link](http://x)") == "<p>a &lt; b &amp; [link](http://x)</p>"
    assert text_to_html("snake_case_name and 2*3*4") == "<p>snake_case_name and 2*3*4</p>"
    fd = form({"type": "text", "text": "=concat(\"a\")"}, {"type": "spacer"}, {"type": "separator"},
              {"type": "textfield", "key": "x", "label": "X"})
    html = str(render_form(fd, {}, None))
    assert "concat" not in html and '<hr class="form-separator">' in html and "form-spacer" in html


def test_conditional_fields_are_rendered_with_their_expression():
    fd = form(
        {"type": "checkbox", "key": "violence", "label": "Violence"},
        {"type": "textfield", "key": "details", "label": "Details", "conditional": {"hide": "=violence = false"}},
    )
    tree = html_of(render_form(fd, {}, None))
    field = tree.get_element_by_id("field-details").getparent()
    assert field.get("data-conditional-hide") == "=violence = false"


def test_errors_with_string_indices_and_item_level_messages():
    fd = load("service_plan")
    errors = {"services": {"1": {"responsible": ["Required!"]}, "0": ["Must be an object."], "7": {"x": ["Lost"]}}}
    tree = html_of(render_form(fd, answers("service_plan"), errors))
    assert tree.get_element_by_id("field-services-1-responsible--error").text == "Required!"
    assert "Must be an object." in tree.get_element_by_id("field-services-0").text_content()
    summary = tree.find_class("error-summary")[0].text_content()
    assert "Services › Item 2 › Responsible person: Required!" in summary
    assert "services-7: Lost" in summary


def test_summary_links_to_the_fields():
    fd = load("plan_approval")
    tree = html_of(render_form(fd, {}, {"decision": ["Choose one."], "comment": ["Say why."]}))
    links = {a.get("href"): a.text_content() for a in tree.find_class("error-summary")[0].iter("a")}
    assert links == {"#field-decision-0": "Decision on the service plan: Choose one.",
                     "#field-comment": "Comment: Say why."}
    assert tree.get_element_by_id("field-decision-0") is not None


def test_language_is_written_on_the_wrapper():
    fd = load("plan_approval")
    assert html_of(render_form(fd, {}, None, language="uz"))[0].get("lang") == "uz-Latn"
    assert html_of(render_form(fd, {}, None, language="ru"))[0].get("lang") == "ru"


def test_the_new_modules_keep_forms_a_leaf_package():
    code = (
        "import sys, forms.render, forms.formdata, forms.i18n\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules}"
        " & {'flask', 'sqlalchemy', 'SpiffWorkflow', 'engine', 'webui', 'werkzeug', 'jinja2'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------
# Validation messages in the user's language
# --------------------------------------------------------------------------


def test_validate_translates_templates_before_formatting():
    fd = load("service_plan")
    seen = []

    def translate(text):
        seen.append(text)
        return wrap(text)

    data = complete(fd.fields, {"goals": "x" * 4001, "services": [{"provider": None}], "bogus": 1})
    data["bogus"] = 1
    errors = validation_errors(fd, data, translate=translate)
    assert errors == {
        "goals": ["«Must be at most {max} characters.»".format(max=4000)],
        "services": {0: {"service_type": ["«This field is required.»"], "responsible": ["«This field is required.»"]}},
        "client_consent": ["«This box must be ticked.»"],
        "bogus": ["«Unknown field.»"],
    }
    assert M.TOO_LONG in seen
    nested = {"services": ["x", {"bogus": 1, "service_type": "household", "responsible": "r"}]}
    assert validation_errors(fd, nested, partial=True, translate=wrap) == {
        "services": {0: {"_schema": ["«Must be an object.»"]}, 1: {"bogus": ["«Unknown field.»"]}},
    }
    assert validation_errors(fd, {"typename": 1}, translate=wrap) == {"typename": ["«This name is reserved.»"]}
    assert validation_errors(fd, None, translate=wrap) == {"_schema": ["«Must be an object.»"]}
    # the default stays English, and a later call is not affected
    assert validation_errors(fd, data)["goals"] == ["Must be at most 4000 characters."]


def test_validate_translates_the_texts_a_message_quotes():
    fd = load("plan_approval")
    texts = FormTexts.from_json((REPO / "forms" / "plan_approval.i18n.json").read_bytes(), fd)
    catalogue = {M.REQUIRED_WHEN: "Поле обязательно, если «{field}» — «{value}»."}
    translate = texts.translator("ru", fallback=lambda text: catalogue.get(text, text))
    assert validation_errors(fd, {"decision": "returned"}, translate=translate) == {
        "comment": ["Поле обязательно, если «Решение по плану услуг» — «Возвращён на доработку»."],
    }


def test_validate_with_a_broken_translation_falls_back_to_english():
    fd = load("service_plan")
    errors = validation_errors(fd, {"goals": "x" * 4001}, partial=True, translate=lambda text: text.replace("{max}", "{maks}"))
    assert errors == {"goals": ["Must be at most 4000 characters."]}


def test_every_validation_message_is_marked_for_extraction():
    from babel.messages.extract import extract_from_file

    extracted = {message for _, message, _, _ in extract_from_file(
        "python", str(REPO / "forms" / "messages.py"), keywords={"N_": None})}
    marked = {value for name, value in vars(M).items()
              if name.isupper() and isinstance(value, str) and not name.startswith("DEF_")}
    assert marked == extracted
    assert not any(value in extracted for name, value in vars(M).items() if name.startswith("DEF_"))


# --------------------------------------------------------------------------
# Translations of form texts
# --------------------------------------------------------------------------


def test_form_texts_lists_every_visible_text_once():
    assert form_texts(load("plan_approval")) == [
        "Review the individual service plan.", "Decision on the service plan", "Approved", "Returned for rework",
        "Comment", "Required when returned: say what must be corrected.",
    ]
    texts = form_texts(load("service_plan"))
    assert len(texts) == len(set(texts))
    assert {"Services", "At least one service.", "Material aid", "Target date",
            "For example: twice a week, monthly, once."} <= set(texts)


def test_the_example_translations_are_complete():
    fd = load("plan_approval")
    texts = FormTexts.from_json((REPO / "forms" / "plan_approval.i18n.json").read_text("utf-8"), fd)
    assert texts.languages == list(LANGUAGES)
    for language in LANGUAGES:
        assert texts.missing(fd, language) == []
        translate = texts.translator(language)
        for text in form_texts(fd):
            assert translate(text) != text and translate(text).strip()
    assert texts.translator("en")("Comment") == "Comment"
    assert texts.translator("ru")("Comment") == "Комментарий"
    assert texts.translator("ru")("Add") == "Add"
    assert texts.translator("ru", fallback=str.upper)("Add") == "ADD"
    html = str(render_form(fd, {}, None, translate=texts.translator("kk"), language="kk"))
    assert "Қызметтер жоспары бойынша шешім" in html and "Бекітілді" in html


@pytest.mark.parametrize("path", sorted((REPO / "forms").glob("*.i18n.json")), ids=lambda path: path.name)
def test_every_shipped_translation_file_is_valid(path):
    fd = load(path.name[: -len(".i18n.json")])
    FormTexts.from_json(path.read_bytes(), fd)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "Invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes."),
        ("[]", "Form translations must be a JSON object of language → object of English text → translation."),
        ('{"en": {}}', 'Form translations: unknown language "en"; use uz, uz-Cyrl, ru, kk, ky '
                       "(English is the source and needs no entry)."),
        ('{"ru": {}, "fr": {}, "uz_Cyrl": {}}', 'Form translations: unknown language "fr", "uz_Cyrl"; use uz, '
                                                 "uz-Cyrl, ru, kk, ky (English is the source and needs no entry)."),
        ('{"ru": ["Comment"]}', 'Form translations: "ru" must be an object of English text → translation.'),
        ('{"ru": {"Comment": 5}}', 'Form translations: "ru": the translation of "Comment" must be a string.'),
        ('{"ru": {"Comment": "a", "Comment": "b"}}', "Invalid JSON: key 'Comment' appears twice in one object."),
        ('{"ky": {"Coment": "x", "Approved": "y", "Decision": "z"}}',
         "Form translations: \"ky\" translates 2 text(s) that are not in form 'plan_approval': "
         '"Coment", "Decision".'),
        ('{"ru": {"Comment": NaN}}', "Invalid JSON: NaN is not allowed."),
    ],
)
def test_translation_file_errors(text, message):
    with pytest.raises(FormDefinitionError) as info:
        FormTexts.from_json(text, load("plan_approval"))
    assert str(info.value) == message


def test_translation_file_lists_at_most_ten_unknown_texts_and_accepts_bytes_and_blanks():
    fd = load("plan_approval")
    data = {"ru": {f"text {number}": "x" for number in range(12)}}
    with pytest.raises(FormDefinitionError) as info:
        FormTexts.from_json(json.dumps(data), fd)
    assert "12 text(s)" in str(info.value) and str(info.value).endswith('"text 9", ….')
    texts = FormTexts.from_json(("\ufeff" + json.dumps({"ru": {"Comment": ""}})).encode("utf-8"), fd)
    assert texts.missing(fd, "ru") == form_texts(fd)  # a blank translation is "not yet translated"
    assert texts.translator("ru")("Comment") == "Comment"
    with pytest.raises(FormDefinitionError, match="not valid UTF-8"):
        FormTexts.from_json(b"\xff", fd)


def test_translations_do_not_change_the_form_definition():
    fd = load("plan_approval")
    raw = copy.deepcopy(fd.raw)
    FormTexts.from_json((REPO / "forms" / "plan_approval.i18n.json").read_bytes(), fd)
    render_form(fd, {}, None, translate=wrap)
    assert fd.raw == raw
