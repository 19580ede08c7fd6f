"""Tests of the forms package: form-js definitions compiled into server-side validation."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

import forms.definition
from forms import (
    FormDefinition,
    FormDefinitionError,
    FormValidationError,
    load_form_file,
    load_forms_dir,
)

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def form(*components, **extra) -> FormDefinition:
    data = {"id": "test_form", "type": "default", "schemaVersion": 16, "components": list(components)}
    data.update(extra)
    return FormDefinition.from_dict(data)


def errors(fd: FormDefinition, data, partial: bool = False) -> dict:
    with pytest.raises(FormValidationError) as info:
        fd.validate(data, partial=partial)
    return info.value.errors


def definition_error(*components) -> str:
    with pytest.raises(FormDefinitionError) as info:
        form(*components)
    return str(info.value)


def textfield(key="name", **extra):
    return {"type": "textfield", "key": key, "label": key.title(), **extra}


def textarea(key="notes", **extra):
    return {"type": "textarea", "key": key, "label": key.title(), **extra}


def number(key="amount", **extra):
    return {"type": "number", "key": key, "label": key.title(), **extra}


def date(key="visit_date", **extra):
    return {"type": "datetime", "subtype": "date", "key": key, "dateLabel": "Date", **extra}


def select(key="decision", values=("approved", "returned"), ctype="select", **extra):
    return {
        "type": ctype,
        "key": key,
        "label": key.title(),
        "values": [{"label": value.title(), "value": value} for value in values],
        **extra,
    }


def checkbox(key="consent", **extra):
    return {"type": "checkbox", "key": key, "label": key.title(), **extra}


def dynamiclist(path="services", components=None, **extra):
    if components is None:
        components = [select("provider", ("school", "clinic"), validate={"required": True})]
    return {
        "type": "dynamiclist",
        "path": path,
        "label": path.title(),
        "isRepeating": True,
        "allowAddRemove": True,
        "components": components,
        **extra,
    }


def required(**extra):
    return {"validate": {"required": True, **extra}}


# A form using every supported component type.
FULL_FORM = {
    "id": "full",
    "type": "default",
    "schemaVersion": 16,
    "components": [
        {"type": "text", "id": "intro", "text": "# Visit"},
        {"type": "spacer", "id": "sp"},
        {"type": "separator", "id": "sep"},
        textfield("name", id="f_name", **required()),
        textarea("notes"),
        number("household_size", decimalDigits=0, validate={"min": 1, "max": 30}),
        date("visit_date"),
        select("district", ("chilonzor", "yunusobod")),
        select("decision", ("approved", "returned"), ctype="radio", **required()),
        checkbox("consent"),
        select("needs", ("food", "housing", "medical"), ctype="checklist"),
        {
            "type": "group",
            "id": "flat_group",
            "label": "Contact",
            "components": [textfield("phone"), textfield("email")],
        },
        {
            "type": "group",
            "id": "address_group",
            "label": "Address",
            "path": "address",
            "components": [textfield("street", **required()), textfield("house")],
        },
        dynamiclist("services"),
    ],
}

GOOD_FULL = {
    "name": "Dilnoza",
    "notes": "First visit.",
    "household_size": 4,
    "visit_date": "2025-03-14",
    "district": "chilonzor",
    "decision": "approved",
    "consent": True,
    "needs": ["food", "medical"],
    "phone": "+998 90 123 45 67",
    "email": "d@example.uz",
    "address": {"street": "Navoiy 5", "house": "12"},
    "services": [{"provider": "school"}, {"provider": "clinic"}],
}


@pytest.fixture
def full() -> FormDefinition:
    return FormDefinition.from_dict(FULL_FORM)


# --------------------------------------------------------------------------
# the interface
# --------------------------------------------------------------------------


def test_fields_keys_and_types_in_order(full):
    assert [(f.key, f.type) for f in full.fields] == [
        ("name", "textfield"),
        ("notes", "textarea"),
        ("household_size", "number"),
        ("visit_date", "datetime"),
        ("district", "select"),
        ("decision", "radio"),
        ("consent", "checkbox"),
        ("needs", "checklist"),
        ("phone", "textfield"),
        ("email", "textfield"),
        ("address", "group"),
        ("services", "dynamiclist"),
    ]


def test_field_attributes(full):
    by_key = {f.key: f for f in full.fields}
    assert by_key["name"].label == "Name"
    assert by_key["name"].required is True
    assert by_key["name"].id == "f_name"
    assert by_key["notes"].required is False
    assert by_key["decision"].options == ["approved", "returned"]
    assert by_key["name"].options is None
    assert by_key["name"].children == []
    assert [c.key for c in by_key["address"].children] == ["street", "house"]
    services = by_key["services"]
    assert [c.key for c in services.children] == ["provider"]
    assert services.children[0].options == ["school", "clinic"]
    assert services.children[0].required is True


def test_key_defaults_to_id_and_can_be_overridden():
    data = {"id": "from_id", "components": [textfield()]}
    assert FormDefinition.from_dict(data).key == "from_id"
    assert FormDefinition.from_dict(data, key="given").key == "given"


def test_raw_is_the_original_dict_and_a_copy():
    data = copy.deepcopy(FULL_FORM)
    fd = FormDefinition.from_dict(data)
    assert fd.raw == FULL_FORM
    data["components"].append(textfield("late"))
    assert fd.raw == FULL_FORM
    assert "late" not in fd.field_keys()


def test_field_keys_are_top_level_data_keys(full):
    assert full.field_keys() == {
        "name", "notes", "household_size", "visit_date", "district", "decision",
        "consent", "needs", "phone", "email", "address", "services",
    }


def test_options_for(full):
    assert full.options_for("district") == ["chilonzor", "yunusobod"]
    assert full.options_for("decision") == ["approved", "returned"]
    assert full.options_for("needs") == ["food", "housing", "medical"]
    assert full.options_for("services.provider") == ["school", "clinic"]
    assert full.options_for("name") is None
    assert full.options_for("no_such_field") is None
    full.options_for("district").append("hacked")
    assert full.options_for("district") == ["chilonzor", "yunusobod"]


def test_defaults():
    fd = form(
        textfield("name", defaultValue="  Cafe\u0301  "),
        number("size", defaultValue=3),
        date("when", defaultValue="2025-01-31"),
        select("decision", defaultValue="approved"),
        checkbox("ok", defaultValue=False),
        select("needs", ("a", "b"), ctype="checklist", defaultValue=["b"]),
        textfield("nothing"),
        {"type": "group", "path": "address", "components": [textfield("city", defaultValue="Nukus")]},
    )
    assert fd.defaults() == {
        "name": "Café",
        "size": 3,
        "when": "2025-01-31",
        "decision": "approved",
        "ok": False,
        "needs": ["b"],
        "address": {"city": "Nukus"},
    }
    fd.defaults()["needs"].append("a")
    assert fd.defaults()["needs"] == ["b"]


def test_valid_data_is_cleaned_and_returned(full):
    cleaned = full.validate(copy.deepcopy(GOOD_FULL))
    assert cleaned == GOOD_FULL
    assert cleaned is not GOOD_FULL


def test_validate_does_not_modify_its_input(full):
    data = {"name": "  Ali  ", "decision": "approved", "address": {"street": " x "}, "services": [{"provider": "school"}]}
    before = copy.deepcopy(data)
    assert full.validate(data)["name"] == "Ali"
    assert data == before


def test_schemas_are_built_once_per_definition(full, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("schema rebuilt")

    monkeypatch.setattr(forms.definition, "build_schema", fail)
    for _ in range(3):
        assert full.validate(copy.deepcopy(GOOD_FULL))["name"] == "Dilnoza"
        assert full.validate({}, partial=True) == {}


def test_validation_error_carries_errors_and_a_readable_message(full):
    with pytest.raises(FormValidationError) as info:
        full.validate({"decision": "approved", "bogus": 1, "address": {"street": "x"}, "services": [{"provider": "clinic"}]})
    assert info.value.errors == {"name": ["This field is required."], "bogus": ["Unknown field."]}
    assert str(info.value) == "Form data is not valid: bogus, name"


def test_forms_is_a_leaf_package():
    code = (
        "import sys, forms\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules}"
        " & {'flask', 'sqlalchemy', 'SpiffWorkflow', 'engine', 'webui'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------
# JSON and files
# --------------------------------------------------------------------------


def test_from_json_str_and_bytes():
    text = json.dumps({"id": "j", "components": [textfield()]})
    assert FormDefinition.from_json(text).key == "j"
    fd = FormDefinition.from_json(("\ufeff" + text).encode("utf-8"), key="other")
    assert fd.key == "other"
    assert fd.validate({"name": "x"}) == {"name": "x"}


def test_invalid_json_reports_line_and_column():
    text = '{\n  "id": "x",\n  "components": [,]\n}'
    with pytest.raises(FormDefinitionError) as info:
        FormDefinition.from_json(text)
    assert str(info.value) == "Invalid JSON at line 3, column 18: Expecting value."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "x", "id": "y", "components": []}', "Invalid JSON: key 'id' appears twice in one object."),
        ('{"id": "x", "components": [{"type": "number", "key": "n", "defaultValue": NaN}]}',
         "Invalid JSON: NaN is not allowed."),
        (b'{"id": "x\xff", "components": []}', "Form file is not valid UTF-8."),
        ("[1, 2]", "A form definition must be a JSON object."),
    ],
)
def test_bad_json_documents(text, message):
    with pytest.raises(FormDefinitionError) as info:
        FormDefinition.from_json(text)
    assert str(info.value) == message


def test_deeply_nested_json_is_refused_cleanly():
    with pytest.raises(FormDefinitionError) as info:
        FormDefinition.from_json("[" * 100_000 + "]" * 100_000)
    assert str(info.value) == "Form definition is nested too deeply."


def test_load_form_file_takes_the_key_from_the_file_name(tmp_path):
    path = tmp_path / "home_visit.form.json"
    path.write_text(json.dumps({"id": "Form_0abc", "components": [textfield()]}), encoding="utf-8")
    fd = load_form_file(path)
    assert fd.key == "home_visit"
    assert fd.raw["id"] == "Form_0abc"


def test_load_form_file_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.form.json"
    path.write_text(json.dumps({"components": [{"type": "textfield", "id": "T1"}]}), encoding="utf-8")
    with pytest.raises(FormDefinitionError) as info:
        load_form_file(path)
    assert str(info.value) == "broken.form.json: Component 'T1': an input component needs a \"key\"."
    other = tmp_path / "broken.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(FormDefinitionError) as info:
        load_form_file(other)
    assert str(info.value) == "Form file names must end in .form.json: 'broken.json'."


def test_load_forms_dir(tmp_path):
    for key in ("b_form", "a_form"):
        (tmp_path / f"{key}.form.json").write_text(json.dumps({"components": [textfield()]}), encoding="utf-8")
    (tmp_path / "a_form.uz.json").write_text("not a form", encoding="utf-8")
    (tmp_path / "README.md").write_text("hello", encoding="utf-8")
    loaded = load_forms_dir(tmp_path)
    assert sorted(loaded) == ["a_form", "b_form"]
    assert all(isinstance(fd, FormDefinition) and fd.key == key for key, fd in loaded.items())
    with pytest.raises(FormDefinitionError) as info:
        load_forms_dir(tmp_path / "missing")
    assert str(info.value) == f"Not a directory: '{tmp_path / 'missing'}'."


FORM_FILES = sorted((REPO / "forms").glob("*.form.json"))


@pytest.mark.skipif(not FORM_FILES, reason="no forms/*.form.json in the repository")
def test_every_form_in_the_repository_compiles():
    loaded = load_forms_dir(REPO / "forms")
    assert sorted(loaded) == sorted(p.name[: -len(".form.json")] for p in FORM_FILES)
    for key, fd in loaded.items():
        assert fd.key == key
        assert fd.fields, f"{key} has no input fields"
        # Drafts of an empty form are always acceptable; defaults are valid data.
        assert fd.validate({}, partial=True) == {}
        fd.validate(fd.defaults(), partial=True)


# --------------------------------------------------------------------------
# definition errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ([{"type": "taglist", "key": "tags", "id": "T"}], "Field 'tags': component type 'taglist' is not supported."),
        ([{"type": "button", "id": "Submit"}], "Component 'Submit': component type 'button' is not supported."),
        ([{"key": "x"}], "Field 'x': the component has no \"type\"."),
        (["textfield"], "Component #1: a component must be a JSON object."),
        ([{"type": "textfield", "id": "T1"}], "Component 'T1': an input component needs a \"key\"."),
        ([{"type": "textfield"}], "Component #1: an input component needs a \"key\"."),
        ([textfield("name"), textfield("name")], "Field 'name': key 'name' is used twice at the same level."),
        (
            [textfield("phone"), {"type": "group", "components": [textfield("phone")]}],
            "Field 'phone': key 'phone' is used twice at the same level.",
        ),
        (
            [textfield("a", id="same"), textfield("b", id="same")],
            "Field 'b': id 'same' is used twice.",
        ),
        ([textfield("_secret")], "Field '_secret': key '_secret' must not start with '_'."),
        ([textfield("typename")], "Field 'typename': key 'typename' is reserved."),
        ([textfield("class")], "Field 'class': key 'class' is reserved."),
        (
            [textfield("a.b")],
            "Field 'a.b': key 'a.b' must start with a letter and contain only letters, digits "
            "and '_' (at most 64 characters).",
        ),
        (
            [textfield("1st")],
            "Field '1st': key '1st' must start with a letter and contain only letters, digits "
            "and '_' (at most 64 characters).",
        ),
        ([{"type": "select", "key": "district"}], "Field 'district': a select needs a non-empty \"values\" list."),
        ([{"type": "radio", "key": "d", "values": []}], "Field 'd': a radio needs a non-empty \"values\" list."),
        (
            [{"type": "select", "key": "d", "valuesKey": "districts"}],
            "Field 'd': options from \"valuesKey\" are not supported; list them in \"values\".",
        ),
        (
            [{"type": "checklist", "key": "d", "values": [{"label": "A", "value": 1}]}],
            "Field 'd': each entry of \"values\" needs a string \"value\" and a string \"label\".",
        ),
        (
            [select("d", ("a", "a"))],
            "Field 'd': option value 'a' appears twice.",
        ),
        ([textfield(validate="yes")], "Field 'name': \"validate\" must be an object."),
        ([textfield(validate={"required": "yes"})], "Field 'name': validate.required must be true or false."),
        (
            [textfield(validate={"minLength": -1})],
            "Field 'name': validate.minLength must be a whole number from 0 to 100000.",
        ),
        (
            [textfield(validate={"maxLength": "=limit"})],
            "Field 'name': validate.maxLength must be a whole number from 0 to 100000.",
        ),
        (
            [textfield(validate={"minLength": 10, "maxLength": 5})],
            "Field 'name': validate.minLength is greater than validate.maxLength.",
        ),
        (
            [textfield(validate={"minLength": 501})],
            "Field 'name': validate.minLength is greater than validate.maxLength.",
        ),
        ([number(validate={"min": "5"})], "Field 'amount': validate.min must be a number."),
        ([number(validate={"min": 5, "max": 1})], "Field 'amount': validate.min is greater than validate.max."),
        ([textfield(validate={"min": 1})], "Field 'name': validate.min is not supported for a textfield."),
        ([checkbox(validate={"pattern": "x"})], "Field 'consent': validate.pattern is not supported for a checkbox."),
        (
            [textfield(validate={"pattern": "(unclosed"})],
            "Field 'name': validate.pattern is not a valid regular expression: "
            "missing ), unterminated subpattern at position 0.",
        ),
        (
            [textfield(validate={"validationType": "phone"})],
            "Field 'name': validate.validationType 'phone' is not supported.",
        ),
        (
            [{"type": "datetime", "subtype": "datetime", "key": "at"}],
            "Field 'at': only date is supported (\"subtype\": \"date\").",
        ),
        ([{"type": "datetime", "key": "at"}], "Field 'at': only date is supported (\"subtype\": \"date\")."),
        ([date(disallowPassedDates=True)], "Field 'visit_date': \"disallowPassedDates\" is not supported."),
        ([number(decimalDigits=-1)], "Field 'amount': \"decimalDigits\" must be a whole number from 0 to 10."),
        ([number(increment="0")], "Field 'amount': \"increment\" must be a positive number."),
        ([number(serializeToString=True)], "Field 'amount': \"serializeToString\" is not supported."),
        (
            [textfield(properties={"requiredWhen": "decision"}), select()],
            "Field 'name': properties.requiredWhen must look like \"other_key=value\".",
        ),
        (
            [textfield(properties={"requiredWhen": "missing=x"})],
            "Field 'name': properties.requiredWhen refers to 'missing', which is not a field at the same level.",
        ),
        (
            [textfield(properties={"requiredWhen": "name=x"})],
            "Field 'name': properties.requiredWhen refers to the field itself.",
        ),
        (
            [textfield(properties={"requiredWhen": "decision=maybe"}), select()],
            "Field 'name': properties.requiredWhen: 'maybe' is not a possible value of 'decision'.",
        ),
        (
            [textfield(properties={"requiredWhen": "consent=yes"}), checkbox()],
            "Field 'name': properties.requiredWhen: 'yes' is not a possible value of 'consent'.",
        ),
        (
            [textfield(properties={"requiredWhen": "amount=many"}), number()],
            "Field 'name': properties.requiredWhen: 'many' is not a possible value of 'amount'.",
        ),
        (
            [textfield(properties={"requiredWhen": "services=x"}), dynamiclist()],
            "Field 'name': properties.requiredWhen cannot depend on 'services', a dynamiclist.",
        ),
        (
            [textfield(properties={"requiredWhen": 1})],
            "Field 'name': properties.requiredWhen must be a string.",
        ),
        (
            [{"type": "group", "path": "g", "properties": {"requiredWhen": "a=b"}, "components": [textfield()]}],
            "Field 'g': properties.requiredWhen is only allowed on a input or dynamiclist.",
        ),
        (
            [textfield(properties={"mustBeTrue": "true"})],
            "Field 'name': properties.mustBeTrue is only allowed on a checkbox.",
        ),
        ([checkbox(properties={"mustBeTrue": "yes"})], "Field 'consent': properties.mustBeTrue must be \"true\" or \"false\"."),
        (
            [textfield(properties={"maxItems": "5"})],
            "Field 'name': properties.maxItems is only allowed on a dynamiclist.",
        ),
        (
            [dynamiclist(properties={"maxItems": "0"})],
            "Field 'services': properties.maxItems must be a whole number from 1 to 1000.",
        ),
        (
            [dynamiclist(properties={"maxItems": "many"})],
            "Field 'services': properties.maxItems must be a whole number from 1 to 1000.",
        ),
        ([{"type": "dynamiclist", "id": "L", "components": [textfield()]}], "Component 'L': a dynamiclist needs a \"path\"."),
        ([dynamiclist(isRepeating=False)], "Field 'services': a dynamiclist must have \"isRepeating\": true."),
        ([dynamiclist(components=[{"type": "text", "text": "hi"}])], "Field 'services': a dynamiclist needs at least one input field."),
        ([dynamiclist(path="bad path")], "Field 'bad path': key 'bad path' must start with a letter and contain only letters, digits and '_' (at most 64 characters)."),
        (
            [dynamiclist(components=[textfield("x"), textfield("x")])],
            "Field 'services.x': key 'x' is used twice at the same level.",
        ),
        (
            [dynamiclist(components=[{"type": "taglist", "key": "t"}])],
            "Field 'services.t': component type 'taglist' is not supported.",
        ),
        (
            [dynamiclist(components=[{"type": "textfield"}])],
            "Component #1 in 'services': an input component needs a \"key\".",
        ),
        (
            [textfield(conditional={"hide": "=decision = \"approved\""}, **required())],
            "Field 'name': a required field cannot be hidden by \"conditional\"; use properties.requiredWhen instead.",
        ),
        (
            [select(defaultValue="maybe")],
            "Field 'decision': \"defaultValue\" is not valid: Not one of the allowed options: approved, returned.",
        ),
        ([date(defaultValue="2025-02-29")], "Field 'visit_date': \"defaultValue\" is not valid: Not a valid date; use YYYY-MM-DD."),
        ([textfield(label=5)], "Field 'name': \"label\" must be a string."),
        ([{"type": "group", "components": "x"}], "Component #1: \"components\" must be a list."),
    ],
)
def test_definition_errors(components, message):
    assert definition_error(*components) == message


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({"components": []}, None, "The form has no \"id\"; give it an id or a key."),
        ({"id": "a b", "components": []}, None, "Form key 'a b' must be 1-100 letters, digits, '_', '-' or '.'."),
        ({"id": "x", "type": "subform", "components": []}, None, "The form's \"type\" must be \"default\", not 'subform'."),
        ({"id": "x", "schemaVersion": "16", "components": []}, None, "The form's \"schemaVersion\" must be a whole number."),
        ({"id": "x"}, None, "The form: \"components\" must be a list."),
        ({"id": "x", "components": {}}, None, "The form: \"components\" must be a list."),
    ],
)
def test_form_level_definition_errors(data, key, message):
    with pytest.raises(FormDefinitionError) as info:
        FormDefinition.from_dict(data, key=key)
    assert str(info.value) == message


def test_nesting_is_limited():
    component = textfield()
    for depth in range(12):
        component = {"type": "group", "path": f"g{depth}", "components": [component]}
    assert definition_error(component) == "Form definition is nested too deeply."


def test_same_key_at_different_levels_is_allowed():
    fd = form(
        textfield("name"),
        {"type": "group", "path": "guardian", "components": [textfield("name")]},
        dynamiclist("members", components=[textfield("name")]),
    )
    assert fd.validate({"name": "a", "guardian": {"name": "b"}, "members": [{"name": "c"}]}) == {
        "name": "a", "guardian": {"name": "b"}, "members": [{"name": "c"}],
    }


def test_conditional_is_allowed_on_optional_fields():
    fd = form(select(**required()), textarea("comment", conditional={"hide": "=decision = \"approved\""}))
    assert fd.validate({"decision": "approved"}) == {"decision": "approved"}


def test_unknown_custom_properties_are_left_alone():
    fd = form(textfield(properties={"i18nKey": "name", "requiredWhen": "decision=returned"}), select())
    assert fd.fields[0].required_when == ("decision", "returned")


# --------------------------------------------------------------------------
# validation: unknown fields, required, null
# --------------------------------------------------------------------------


def test_unknown_fields_are_rejected_everywhere(full):
    data = copy.deepcopy(GOOD_FULL)
    data["extra"] = 1
    data["address"]["floor"] = 3
    data["services"][1]["cost"] = 5
    assert errors(full, data) == {
        "extra": ["Unknown field."],
        "address": {"floor": ["Unknown field."]},
        "services": {1: {"cost": ["Unknown field."]}},
    }


def test_unknown_fields_are_rejected_in_drafts_too(full):
    assert errors(full, {"services": [{"cost": 1}]}, partial=True) == {"services": {0: {"cost": ["Unknown field."]}}}


def test_data_must_be_an_object(full):
    assert errors(full, ["name"]) == {"_schema": ["Must be an object."]}
    assert errors(full, None) == {"_schema": ["Must be an object."]}


@pytest.mark.parametrize("missing", [None, "", "   ", "\n\t "])
def test_required_text_missing_null_or_blank(missing):
    fd = form(textfield(**required()))
    assert errors(fd, {"name": missing}) == {"name": ["This field is required."]}
    assert errors(fd, {}) == {"name": ["This field is required."]}


def test_required_field_of_each_type():
    fd = form(
        textfield("t", **required()),
        textarea("ta", **required()),
        number("n", **required()),
        date("d", **required()),
        select("s", **required()),
        select("r", ctype="radio", **required()),
        select("c", ctype="checklist", **required()),
        checkbox("b", **required()),
        dynamiclist("l", **required()),
    )
    expected = {
        "t": ["This field is required."],
        "ta": ["This field is required."],
        "n": ["This field is required."],
        "d": ["This field is required."],
        "s": ["This field is required."],
        "r": ["This field is required."],
        "c": ["This field is required."],
        "b": ["This box must be ticked."],
        "l": ["Add at least one item."],
    }
    assert errors(fd, {}) == expected
    empty = {"t": "", "ta": " ", "n": None, "d": "", "s": "", "r": None, "c": [], "b": False, "l": []}
    assert errors(fd, empty) == expected


def test_optional_nulls_and_blank_choices_clear_the_answer():
    fd = form(textfield(), number(), date(), select(), select("needs", ctype="checklist"), checkbox(), dynamiclist())
    data = {"name": None, "amount": None, "visit_date": None, "decision": None, "needs": None, "consent": None, "services": None}
    assert fd.validate(data) == data  # kept as None: merged into the case data, the old answer is cleared
    assert fd.validate({"visit_date": "", "decision": ""}) == {"visit_date": None, "decision": None}
    assert fd.validate({}) == {}  # what is not sent is not touched


def test_optional_blank_text_is_kept_as_empty_string():
    fd = form(textfield(validate={"minLength": 3, "pattern": "^[0-9]+$"}))
    assert fd.validate({"name": "   "}) == {"name": ""}


# --------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "Must be text."),
        (["a"], "Must be text."),
        (True, "Must be text."),
        ("nul\x00here", "Must not contain control characters."),
        ("bell\x07", "Must not contain control characters."),
        ("c1\x85", "Must not contain control characters."),
        ("lone \ud800 surrogate", "Contains characters that are not valid text."),
        ("two\nlines", "Must be a single line."),
        ("two\u2028lines", "Must be a single line."),
    ],
)
def test_bad_text(value, message):
    fd = form(textfield())
    assert errors(fd, {"name": value}) == {"name": [message]}


def test_text_is_nfc_normalised_and_stripped():
    fd = form(textfield(), textarea())
    cleaned = fd.validate({"name": "  Jose\u0301 \u00a0", "notes": "\r\n line one\r\nline two\r "})
    assert cleaned == {"name": "José", "notes": "line one\nline two"}
    assert cleaned["name"] == "Jos\u00e9"


def test_uzbek_apostrophes_are_stored_as_typed():
    fd = form(textfield())
    for name in ("Oʻg‘iloy", "O'g'iloy", "O`g`iloy", "Oʼgʻiloy", "Ўғилой"):
        assert fd.validate({"name": name}) == {"name": name}


def test_textarea_allows_newlines_and_tabs_but_textfield_tabs_become_spaces():
    fd = form(textfield(), textarea())
    assert fd.validate({"name": "a\tb", "notes": "a\tb\nc"}) == {"name": "a b", "notes": "a\tb\nc"}


def test_default_max_lengths():
    fd = form(textfield(), textarea())
    assert fd.validate({"name": "x" * 500, "notes": "y" * 10_000}) == {"name": "x" * 500, "notes": "y" * 10_000}
    assert errors(fd, {"name": "x" * 501, "notes": "y" * 10_001}) == {
        "name": ["Must be at most 500 characters."],
        "notes": ["Must be at most 10000 characters."],
    }
    # A huge value is refused without any further work.
    assert errors(fd, {"notes": "y" * 1_000_000}) == {"notes": ["Must be at most 10000 characters."]}


def test_length_is_counted_after_normalisation_and_stripping():
    fd = form(textfield(validate={"maxLength": 4}))
    assert fd.validate({"name": "  Jose\u0301  "}) == {"name": "José"}


def test_min_and_max_length():
    fd = form(textfield(validate={"minLength": 2, "maxLength": 5}))
    assert errors(fd, {"name": "a"}) == {"name": ["Must be at least 2 characters."]}
    assert errors(fd, {"name": "abcdef"}) == {"name": ["Must be at most 5 characters."]}
    assert fd.validate({"name": "abcde"}) == {"name": "abcde"}


def test_pattern():
    fd = form(textfield("pinfl", validate={"pattern": r"^\d{14}$"}))
    assert fd.validate({"pinfl": "12345678901234"}) == {"pinfl": "12345678901234"}
    assert errors(fd, {"pinfl": "1234"}) == {"pinfl": ["Does not match the required format."]}
    # \d means ASCII digits, as in the browser.
    assert errors(fd, {"pinfl": "١٢٣٤٥٦٧٨٩٠١٢٣٤"}) == {"pinfl": ["Does not match the required format."]}


def test_email_validation_type():
    fd = form(textfield("email", validate={"validationType": "email"}))
    assert fd.validate({"email": "a.b@mehnat.uz"}) == {"email": "a.b@mehnat.uz"}
    assert errors(fd, {"email": "not-an-email"}) == {"email": ["Not a valid email address."]}


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "Must be a number."),
        ("5", "Must be a number."),
        ("", "Must be a number."),
        ([5], "Must be a number."),
        (float("nan"), "Must be a finite number."),
        (float("inf"), "Must be a finite number."),
        (2**53, "Number is too large."),
        (-1e300, "Number is too large."),
    ],
)
def test_bad_numbers(value, message):
    fd = form(number())
    assert errors(fd, {"amount": value}) == {"amount": [message]}


def test_numbers_keep_plain_json_types():
    fd = form(number())
    for value in (0, 7, -3, 2.5, 1e-3):
        cleaned = fd.validate({"amount": value})["amount"]
        assert cleaned == value
        assert type(cleaned) is type(value)


def test_integer_numbers():
    fd = form(number(decimalDigits=0))
    assert errors(fd, {"amount": 2.5}) == {"amount": ["Must be a whole number."]}
    cleaned = fd.validate({"amount": 3.0})["amount"]
    assert cleaned == 3 and type(cleaned) is int


def test_decimal_digits():
    fd = form(number(decimalDigits=2))
    assert fd.validate({"amount": 1.25}) == {"amount": 1.25}
    assert errors(fd, {"amount": 1.234}) == {"amount": ["Must have at most 2 decimal places."]}


def test_number_min_max():
    fd = form(number(validate={"min": 0, "max": 1000.5}))
    assert fd.validate({"amount": 0}) == {"amount": 0}
    assert fd.validate({"amount": 1000.5}) == {"amount": 1000.5}
    assert errors(fd, {"amount": -1}) == {"amount": ["Must be at least 0."]}
    assert errors(fd, {"amount": 1001}) == {"amount": ["Must be at most 1000.5."]}


def test_number_increment():
    fd = form(number(increment="0.5"))
    assert fd.validate({"amount": 2.5}) == {"amount": 2.5}
    assert errors(fd, {"amount": 2.2}) == {"amount": ["Must be a multiple of 0.5."]}


# --------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-02-29", "Not a valid date; use YYYY-MM-DD."),
        ("2025-13-01", "Not a valid date; use YYYY-MM-DD."),
        ("2025-2-3", "Not a valid date; use YYYY-MM-DD."),
        ("03.02.2025", "Not a valid date; use YYYY-MM-DD."),
        ("2025-02-03T10:00:00", "Not a valid date; use YYYY-MM-DD."),
        ("2025-02-03\n", "Not a valid date; use YYYY-MM-DD."),
        ("٢٠٢٥-٠١-٠١", "Not a valid date; use YYYY-MM-DD."),
        (20250203, "Not a valid date; use YYYY-MM-DD."),
        ("1899-12-31", "Year must be between 1900 and 2100."),
        ("2101-01-01", "Year must be between 1900 and 2100."),
    ],
)
def test_bad_dates(value, message):
    fd = form(date())
    assert errors(fd, {"visit_date": value}) == {"visit_date": [message]}


def test_dates_stay_iso_strings():
    fd = form(date())
    for value in ("2024-02-29", "1900-01-01", "2100-12-31"):
        cleaned = fd.validate({"visit_date": value})["visit_date"]
        assert cleaned == value and type(cleaned) is str


# --------------------------------------------------------------------------
# options and checkboxes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["select", "radio"])
def test_single_choice(ctype):
    fd = form(select(ctype=ctype))
    assert fd.validate({"decision": "returned"}) == {"decision": "returned"}
    message = ["Not one of the allowed options: approved, returned."]
    assert errors(fd, {"decision": "rejected"}) == {"decision": message}
    assert errors(fd, {"decision": "Approved"}) == {"decision": message}
    assert errors(fd, {"decision": ["approved"]}) == {"decision": message}


def test_long_option_lists_are_cut_short_in_messages():
    fd = form(select("n", tuple(f"o{i}" for i in range(30))))
    message = errors(fd, {"n": "zzz"})["n"][0]
    assert message.startswith("Not one of the allowed options: o0, o1,")
    assert message.endswith("o19, ….")


def test_checklist():
    fd = form(select("needs", ("food", "housing", "medical"), ctype="checklist"))
    assert fd.validate({"needs": ["medical", "food"]}) == {"needs": ["medical", "food"]}
    assert fd.validate({"needs": []}) == {"needs": []}
    assert errors(fd, {"needs": "food"}) == {"needs": ["Must be a list."]}
    assert errors(fd, {"needs": ["food", "food"]}) == {"needs": ["Each option may be chosen only once."]}
    assert errors(fd, {"needs": ["food", "cars"]}) == {
        "needs": ["Not one of the allowed options: food, housing, medical."]
    }
    assert errors(fd, {"needs": [None]}) == {"needs": ["Not one of the allowed options: food, housing, medical."]}


@pytest.mark.parametrize("value", ["true", 1, 0, "on", []])
def test_checkbox_needs_a_real_boolean(value):
    fd = form(checkbox())
    assert errors(fd, {"consent": value}) == {"consent": ["Must be true or false."]}


def test_checkbox():
    fd = form(checkbox())
    assert fd.validate({"consent": False}) == {"consent": False}
    assert fd.validate({"consent": True}) == {"consent": True}
    assert fd.validate({}) == {}


def test_must_be_true():
    fd = form(checkbox(properties={"mustBeTrue": "true"}))
    assert fd.fields[0].required is True
    assert fd.validate({"consent": True}) == {"consent": True}
    assert errors(fd, {"consent": False}) == {"consent": ["This box must be ticked."]}
    assert errors(fd, {}) == {"consent": ["This box must be ticked."]}
    assert fd.validate({"consent": False}, partial=True) == {"consent": False}


def test_must_be_true_false_means_an_ordinary_checkbox():
    fd = form(checkbox(properties={"mustBeTrue": "false"}))
    assert fd.validate({"consent": False}) == {"consent": False}


# --------------------------------------------------------------------------
# groups and repeating groups
# --------------------------------------------------------------------------


def test_group_without_path_does_not_nest_data():
    fd = form({"type": "group", "label": "Contact", "components": [textfield("phone", **required())]})
    assert fd.validate({"phone": "123"}) == {"phone": "123"}
    assert errors(fd, {"group": {"phone": "123"}}) == {
        "group": ["Unknown field."],
        "phone": ["This field is required."],
    }


def test_group_with_path_nests_data():
    fd = form({"type": "group", "path": "address", "components": [textfield("street", **required()), textfield("house")]})
    assert fd.validate({"address": {"street": " Navoiy ", "house": None}}) == {"address": {"street": "Navoiy", "house": None}}
    assert errors(fd, {"address": {"house": "5"}}) == {"address": {"street": ["This field is required."]}}
    # A missing or null group is checked as an empty one, so its required fields are named.
    assert errors(fd, {}) == {"address": {"street": ["This field is required."]}}
    assert errors(fd, {"address": None}) == {"address": {"street": ["This field is required."]}}
    assert errors(fd, {"address": "Navoiy 5"}) == {"address": ["Must be an object."]}
    assert fd.validate({}, partial=True) == {}


def test_optional_group_may_be_absent():
    fd = form({"type": "group", "path": "extra", "components": [textfield("note")]})
    assert fd.validate({}) == {}


def test_dynamiclist_items_are_validated():
    fd = form(dynamiclist(components=[
        select("provider", ("school", "clinic"), **required()),
        date("start"),
    ]))
    cleaned = fd.validate({"services": [{"provider": "school", "start": "2025-01-01"}, {"provider": "clinic"}]})
    assert cleaned == {"services": [{"provider": "school", "start": "2025-01-01"}, {"provider": "clinic"}]}
    assert errors(fd, {"services": [{"provider": "school"}, {"start": "2025-02-30"}]}) == {
        "services": {1: {"provider": ["This field is required."], "start": ["Not a valid date; use YYYY-MM-DD."]}}
    }


def test_dynamiclist_shape():
    fd = form(dynamiclist())
    assert errors(fd, {"services": {"provider": "school"}}) == {"services": ["Must be a list."]}
    assert errors(fd, {"services": ["school"]}) == {"services": {0: {"_schema": ["Must be an object."]}}}
    assert fd.validate({"services": []}) == {"services": []}


def test_required_dynamiclist_needs_an_item():
    fd = form(dynamiclist(**required()))
    assert errors(fd, {"services": []}) == {"services": ["Add at least one item."]}
    assert errors(fd, {}) == {"services": ["Add at least one item."]}
    assert fd.validate({"services": []}, partial=True) == {"services": []}


def test_dynamiclist_max_items():
    fd = form(dynamiclist(properties={"maxItems": "2"}))
    assert len(fd.validate({"services": [{"provider": "school"}] * 2})["services"]) == 2
    assert errors(fd, {"services": [{"provider": "school"}] * 3}) == {"services": ["Must have at most 2 items."]}
    assert errors(fd, {"services": [{"provider": "school"}] * 3}, partial=True) == {
        "services": ["Must have at most 2 items."]
    }


def test_dynamiclist_default_max_items_is_100():
    fd = form(dynamiclist())
    assert len(fd.validate({"services": [{"provider": "school"}] * 100})["services"]) == 100
    assert errors(fd, {"services": [{"provider": "school"}] * 101}) == {"services": ["Must have at most 100 items."]}


def test_typename_is_refused_anywhere(full):
    assert errors(full, {"typename": "Task"}, partial=True) == {"typename": ["This name is reserved."]}
    assert errors(full, {"address": {"typename": "x"}}, partial=True) == {"address": {"typename": ["This name is reserved."]}}
    assert errors(full, {"services": [{"provider": "school"}, {"typename": "x"}]}, partial=True) == {
        "services": {1: {"typename": ["This name is reserved."]}}
    }


# --------------------------------------------------------------------------
# requiredWhen
# --------------------------------------------------------------------------


@pytest.fixture
def review() -> FormDefinition:
    return form(
        select("decision", ("approved", "returned"), ctype="radio", **required()),
        textarea("comment", properties={"requiredWhen": "decision=returned"}),
    )


def test_required_when_condition_holds(review):
    expected = {"comment": ['This field is required when "Decision" is "Returned".']}
    assert errors(review, {"decision": "returned"}) == expected
    assert errors(review, {"decision": "returned", "comment": "  "}) == expected
    assert errors(review, {"decision": "returned", "comment": None}) == expected
    assert review.validate({"decision": "returned", "comment": "Fix the income section."}) == {
        "decision": "returned", "comment": "Fix the income section.",
    }


def test_required_when_condition_does_not_hold(review):
    assert review.validate({"decision": "approved"}) == {"decision": "approved"}
    assert review.fields[1].required is False


def test_required_when_is_skipped_in_drafts(review):
    assert review.validate({"decision": "returned"}, partial=True) == {"decision": "returned"}


def test_required_when_does_not_repeat_a_type_error(review):
    assert errors(review, {"decision": "returned", "comment": 5}) == {"comment": ["Must be text."]}


def test_required_when_reported_together_with_other_errors(review):
    assert errors(review, {"decision": "returned", "extra": 1}) == {
        "comment": ['This field is required when "Decision" is "Returned".'],
        "extra": ["Unknown field."],
    }


def test_required_when_on_checkbox_checklist_and_number():
    fd = form(
        checkbox("violence"),
        textfield("details", properties={"requiredWhen": "violence=true"}),
        select("needs", ("food", "housing"), ctype="checklist"),
        textfield("housing_notes", properties={"requiredWhen": "needs=housing"}),
        number("children"),
        checkbox("school_checked", properties={"requiredWhen": "children=0"}),
    )
    assert errors(fd, {"violence": True, "needs": ["food", "housing"], "children": 0}) == {
        "details": ['This field is required when "Violence" is "ticked".'],
        "housing_notes": ['This field is required when "Needs" is "Housing".'],
        "school_checked": ['This field is required when "Children" is "0".'],
    }
    assert fd.validate({"violence": False, "needs": ["food"], "children": 2}) == {
        "violence": False, "needs": ["food"], "children": 2,
    }


def test_required_when_inside_a_repeating_item():
    fd = form(dynamiclist(components=[
        select("status", ("done", "refused")),
        textfield("reason", properties={"requiredWhen": "status=refused"}),
    ]))
    assert errors(fd, {"services": [{"status": "done"}, {"status": "refused"}]}) == {
        "services": {1: {"reason": ['This field is required when "Status" is "Refused".']}}
    }


# --------------------------------------------------------------------------
# partial (drafts)
# --------------------------------------------------------------------------


def test_partial_skips_required_checks(full):
    assert full.validate({}, partial=True) == {}
    assert full.validate({"name": "", "decision": None, "services": [{}]}, partial=True) == {
        "name": "", "decision": None, "services": [{}],
    }


def test_partial_still_checks_types_unknowns_lengths_and_options(full):
    data = {
        "name": "x" * 501,
        "household_size": "4",
        "visit_date": "2025-02-29",
        "district": "mars",
        "consent": "yes",
        "needs": ["food", "food"],
        "bogus": 1,
        "services": [{"provider": "bank"}],
    }
    assert errors(full, data, partial=True) == {
        "name": ["Must be at most 500 characters."],
        "household_size": ["Must be a number."],
        "visit_date": ["Not a valid date; use YYYY-MM-DD."],
        "district": ["Not one of the allowed options: chilonzor, yunusobod."],
        "consent": ["Must be true or false."],
        "needs": ["Each option may be chosen only once."],
        "bogus": ["Unknown field."],
        "services": {0: {"provider": ["Not one of the allowed options: school, clinic."]}},
    }


def test_keys_that_clash_with_marshmallow_names_work():
    fd = form(textfield("fields"), textfield("load"), textfield("validate"), textfield("Meta"), textfield("opts"))
    data = {"fields": "a", "load": "b", "validate": "c", "Meta": "d", "opts": "e"}
    assert fd.validate(data) == data
