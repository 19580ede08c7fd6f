"""Compile parsed form fields into marshmallow schemas (server-side validation).

Each level of data (the form itself, a pathed group, one dynamiclist item) becomes
a dynamically built :class:`marshmallow.Schema` subclass with ``unknown=RAISE``.
Two variants are built per form: the full one (task completion) and a partial
one (drafts: no required checks, everything else the same).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any

import marshmallow as ma

from . import messages as M
from .model import (
    DEFAULT_MAX_LENGTH,
    MAX_SAFE_NUMBER,
    MAX_YEAR,
    MIN_YEAR,
    OPTION_TYPES,
    Field,
)

RESERVED_DATA_KEY = "typename"  # SpiffWorkflow's serializer treats dicts with it as objects

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters; tab, line feed and carriage return are allowed in a textarea.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile("[\n\r\u2028\u2029]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_MAX_OPTIONS_IN_MESSAGE = 20

# The translator of the validation running in this thread/task (FormDefinition.validate sets it).
_TRANSLATE: ContextVar[Callable[[str], str] | None] = ContextVar("yordam_forms_translate", default=None)


def tr(text: str) -> str:
    """``text`` (a message template or a form text) in the language of the running validation."""
    translate = _TRANSLATE.get()
    return text if translate is None else translate(text)


def trf(template: str, **values: Any) -> str:
    """``template`` translated, then its placeholders filled in.

    A translation whose placeholders do not fit (a catalogue mistake) falls back to
    the English template rather than failing the request.
    """
    try:
        return tr(template).format(**values)
    except (KeyError, IndexError, ValueError, AttributeError):
        return template.format(**values)


def translating(translate: Callable[[str], str] | None):
    """Context manager: validation messages inside go through ``translate``."""
    return _Translating(translate)


class _Translating:
    def __init__(self, translate: Callable[[str], str] | None):
        self.translate = translate
        self.token = None

    def __enter__(self) -> None:
        self.token = _TRANSLATE.set(self.translate)

    def __exit__(self, *exc: Any) -> None:
        _TRANSLATE.reset(self.token)


class _TranslatedMessages(dict):
    """marshmallow's ``error_messages``: each template translated when it is looked up.

    marshmallow formats the template after the lookup, so the translation sees the template.
    """

    def __getitem__(self, key: str) -> Any:
        message = super().__getitem__(key)
        return tr(message) if isinstance(message, str) else message


def format_number(value: int | float | Decimal) -> str:
    """Render a number for a message: 10 not 10.0, 0.5 not 5E-1."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def options_message(options: list[str]) -> str:
    shown = options[:_MAX_OPTIONS_IN_MESSAGE]
    text = ", ".join(shown)
    if len(options) > len(shown):
        text += ", …"
    return trf(M.NOT_OPTION, options=text)


def _fail(message: str) -> ma.ValidationError:
    return ma.ValidationError(message)


# --------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------


class _FormField(ma.fields.Field):
    """Base of the Yordam fields: carries the parsed spec and the required switch."""

    def __init__(self, spec: Field, *, enforce_required: bool, **kwargs: Any):
        super().__init__(**kwargs)
        self.error_messages = _TranslatedMessages(self.error_messages)
        self.spec = spec
        # False for drafts: empty values ("", [], unticked box) are then accepted.
        self.enforce_required = enforce_required and spec.required


class TextField(_FormField):
    def _deserialize(self, value, attr, data, **kwargs):
        spec = self.spec
        if not isinstance(value, str):
            raise _fail(tr(M.NOT_TEXT))
        max_length = spec.max_length or DEFAULT_MAX_LENGTH[spec.type]
        # Cheap guard before the costlier work below; normalisation rarely shrinks text 4x.
        if len(value) > 4 * max_length + 1000:
            raise _fail(trf(M.TOO_LONG, max=max_length))
        if _SURROGATES.search(value):
            raise _fail(tr(M.INVALID_TEXT))
        if _CONTROL.search(value):
            raise _fail(tr(M.CONTROL_CHARACTERS))
        if spec.type == "textarea":
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        elif _LINE_BREAKS.search(value.strip()):
            raise _fail(tr(M.SINGLE_LINE))
        value = unicodedata.normalize("NFC", value).strip()
        if spec.type == "textfield" and "\t" in value:
            value = value.replace("\t", " ")
        if value == "":
            if self.enforce_required:
                raise _fail(tr(M.REQUIRED))
            return value
        if spec.min_length is not None and len(value) < spec.min_length:
            raise _fail(trf(M.TOO_SHORT, min=spec.min_length))
        if len(value) > max_length:
            raise _fail(trf(M.TOO_LONG, max=max_length))
        if spec.email and not _EMAIL.fullmatch(value):
            raise _fail(tr(M.NOT_EMAIL))
        if spec.pattern is not None and not spec.pattern.search(value):
            raise _fail(tr(M.PATTERN_MISMATCH))
        return value


class NumberField(_FormField):
    def _deserialize(self, value, attr, data, **kwargs):
        spec = self.spec
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(tr(M.NOT_NUMBER))
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(tr(M.NOT_FINITE))
        if abs(value) > MAX_SAFE_NUMBER:
            raise _fail(tr(M.NUMBER_OUT_OF_RANGE))
        value = int(value) if isinstance(value, int) else float(value)  # plain types only
        if spec.decimal_digits == 0:
            if isinstance(value, float):
                if not value.is_integer():
                    raise _fail(tr(M.NOT_INTEGER))
                value = int(value)
        elif spec.decimal_digits is not None and isinstance(value, float):
            exponent = Decimal(repr(value)).as_tuple().exponent
            if isinstance(exponent, int) and -exponent > spec.decimal_digits:
                raise _fail(trf(M.TOO_MANY_DECIMALS, digits=spec.decimal_digits))
        if spec.minimum is not None and value < spec.minimum:
            raise _fail(trf(M.NUMBER_TOO_SMALL, min=format_number(spec.minimum)))
        if spec.maximum is not None and value > spec.maximum:
            raise _fail(trf(M.NUMBER_TOO_LARGE, max=format_number(spec.maximum)))
        if spec.increment is not None and Decimal(repr(value)) % spec.increment != 0:
            raise _fail(trf(M.NOT_A_MULTIPLE, step=format_number(spec.increment)))
        return value


class DateField(_FormField):
    """A form-js datetime with subtype "date": an ISO "YYYY-MM-DD" string in and out."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise _fail(tr(M.NOT_DATE))
        if value == "":
            return _empty(self)
        if not _DATE.fullmatch(value):
            raise _fail(tr(M.NOT_DATE))
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise _fail(tr(M.NOT_DATE)) from None
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise _fail(trf(M.DATE_OUT_OF_RANGE, min=MIN_YEAR, max=MAX_YEAR))
        return value


class ChoiceField(_FormField):
    """select and radio: one option value."""

    def _deserialize(self, value, attr, data, **kwargs):
        options = self.spec.options or []
        if value == "":
            return _empty(self)
        if not isinstance(value, str) or value not in options:
            raise _fail(options_message(options))
        return value


class ChecklistField(_FormField):
    """checklist: a list of distinct option values."""

    def _deserialize(self, value, attr, data, **kwargs):
        options = self.spec.options or []
        if not isinstance(value, list):
            raise _fail(tr(M.NOT_LIST))
        seen: set[str] = set()
        for item in value:
            if not isinstance(item, str) or item not in options:
                raise _fail(options_message(options))
            if item in seen:
                raise _fail(tr(M.DUPLICATE_CHOICE))
            seen.add(item)
        if not value and self.enforce_required:
            raise _fail(tr(M.REQUIRED))
        return list(value)


class CheckboxField(_FormField):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise _fail(tr(M.NOT_BOOLEAN))
        if value is False and self.enforce_required:
            raise _fail(tr(M.MUST_BE_TRUE))
        return value


class GroupField(_FormField):
    """A group with a "path": its children's data nested under that key."""

    def __init__(self, spec: Field, *, schema: ma.Schema, **kwargs: Any):
        super().__init__(spec, **kwargs)
        self.schema = schema

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, Mapping):
            raise _fail(tr(M.NOT_OBJECT))
        try:
            return self.schema.load(value)
        except ma.ValidationError as error:
            raise ma.ValidationError(error.messages) from None


class RepeatingField(_FormField):
    """A dynamiclist: a list of items, each validated by the item schema."""

    def __init__(self, spec: Field, *, schema: ma.Schema, **kwargs: Any):
        super().__init__(spec, **kwargs)
        self.schema = schema

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise _fail(tr(M.NOT_LIST))
        max_items = self.spec.max_items
        if max_items is not None and len(value) > max_items:
            raise _fail(trf(M.TOO_MANY_ITEMS, max=max_items))
        if not value and self.enforce_required:
            raise _fail(tr(M.NO_ITEMS))
        result: list[dict[str, Any]] = []
        errors: dict[int, Any] = {}
        for index, item in enumerate(value):
            try:
                result.append(self.schema.load(item))
            except ma.ValidationError as error:
                errors[index] = error.messages
        if errors:
            raise ma.ValidationError(errors)
        return result


def _empty(field: _FormField) -> None:
    """An empty string where a value was expected: missing, so required or dropped."""
    if field.enforce_required:
        raise _fail(tr(M.REQUIRED))
    return None


_FIELD_CLASSES: dict[str, type[_FormField]] = {
    "textfield": TextField,
    "textarea": TextField,
    "number": NumberField,
    "datetime": DateField,
    "select": ChoiceField,
    "radio": ChoiceField,
    "checklist": ChecklistField,
    "checkbox": CheckboxField,
}


def make_field(spec: Field, *, partial: bool) -> _FormField:
    """The marshmallow field for one parsed form field."""
    enforce = not partial
    required = enforce and spec.required
    if spec.type == "checkbox":
        missing_message = M.MUST_BE_TRUE
    elif spec.type == "dynamiclist":
        missing_message = M.NO_ITEMS
    else:
        missing_message = M.REQUIRED
    common: dict[str, Any] = {
        "enforce_required": enforce,
        "required": required,
        "allow_none": not required,
        "data_key": spec.key,
        "attribute": spec.key,
        "error_messages": {"required": missing_message, "null": missing_message},
    }
    if spec.type in ("group", "dynamiclist"):
        schema = build_schema(spec.children, partial=partial, name=spec.path)
        cls = GroupField if spec.type == "group" else RepeatingField
        return cls(spec, schema=schema, **common)
    return _FIELD_CLASSES[spec.type](spec, **common)


def check_value(spec: Field, value: Any) -> Any:
    """Validate one value as a draft would (used for defaultValue); returns the cleaned value."""
    return make_field(spec, partial=True).deserialize(value)


# --------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------


def _is_empty(spec: Field, value: Any) -> bool:
    if value is None or value == "" or value == []:
        return True
    return spec.type == "checkbox" and value is False


def _condition_holds(other: Field, value: Any, expected: str) -> bool:
    if other.type == "checklist":
        return isinstance(value, list) and expected in value
    if other.type == "checkbox":
        return value is (expected == "true")
    if other.type == "number":
        return value == float(expected)
    return value == expected


def _condition_value_for_message(other: Field, expected: str) -> str:
    if other.type == "checkbox":
        return tr(M.TICKED if expected == "true" else M.NOT_TICKED)
    if other.type in OPTION_TYPES and other.option_labels:
        label = other.option_labels.get(expected, "")
        if label.strip() and not label.strip().startswith("="):
            return tr(label).strip()
    return expected


class FormSchema(ma.Schema):
    """Base class of the generated schemas (one per level of data)."""

    class Meta:
        unknown = ma.RAISE
        register = False

    error_messages = {"unknown": M.UNKNOWN_FIELD, "type": M.NOT_OBJECT}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.error_messages = _TranslatedMessages(self.error_messages)

    # Set on each generated subclass.
    yordam_fields: tuple[Field, ...] = ()
    yordam_partial: bool = False
    yordam_fill_groups: tuple[str, ...] = ()  # pathed groups to validate even if absent

    @ma.pre_load
    def _reserved_names_and_groups(self, data, **kwargs):
        if not isinstance(data, Mapping):
            return data
        if RESERVED_DATA_KEY in data:
            raise ma.ValidationError(tr(M.RESERVED_NAME), field_name=RESERVED_DATA_KEY)
        if self.yordam_fill_groups:
            # A missing group is checked as an empty one, so its required fields are reported.
            data = dict(data)
            for key in self.yordam_fill_groups:
                if data.get(key) is None:
                    data[key] = {}
        return data

    @ma.validates_schema(pass_original=True, skip_on_field_errors=False)
    def _required_when(self, data, original_data, **kwargs):
        if self.yordam_partial or not isinstance(original_data, Mapping):
            return
        by_key = {spec.key: spec for spec in self.yordam_fields}
        errors: dict[str, list[str]] = {}
        for spec in self.yordam_fields:
            if spec.required_when is None:
                continue
            other_key, expected = spec.required_when
            other = by_key[other_key]
            if other_key not in data or not _condition_holds(other, data[other_key], expected):
                continue
            if spec.key not in data and original_data.get(spec.key) is not None:
                continue  # the value is there but invalid; that error is already reported
            if _is_empty(spec, data.get(spec.key)):
                errors[spec.key] = [
                    trf(
                        M.REQUIRED_WHEN,
                        field=tr(other.display_name()),
                        value=_condition_value_for_message(other, expected),
                    )
                ]
        if errors:
            raise ma.ValidationError(errors)

    # A field sent empty (null) stays in the output as None: merged into the case data it clears the
    # earlier answer (a revised plan must not keep a value the worker removed), and scripts can test it.


def build_schema(fields: list[Field], *, partial: bool, name: str = "") -> ma.Schema:
    """A schema instance validating one level of data made of ``fields``."""
    attrs: dict[str, Any] = {
        # Attribute names are positional so that keys like "fields" or "load"
        # cannot clash with Schema's own attributes; data_key/attribute carry the key.
        f"field_{index}": make_field(spec, partial=partial)
        for index, spec in enumerate(fields)
    }
    attrs["yordam_fields"] = tuple(fields)
    attrs["yordam_partial"] = partial
    if not partial:
        attrs["yordam_fill_groups"] = tuple(
            spec.key for spec in fields if spec.type == "group" and _needs_data(spec)
        )
    class_name = "FormSchema_" + (re.sub(r"\W", "_", name) or "root")
    if partial:
        class_name += "_partial"
    schema_class = type(class_name, (FormSchema,), attrs)
    return schema_class()


def _needs_data(spec: Field) -> bool:
    """Whether a pathed group holds anything that must be filled in."""
    for child in spec.children:
        if child.required or child.required_when is not None:
            return True
        if child.type == "group" and _needs_data(child):
            return True
    return False
