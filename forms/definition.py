"""Form definitions in the bpmn.io form-js JSON format, compiled for the server.

A definition is parsed once into :class:`~forms.model.Field` objects, checked for
everything Yordam does not support (so a methodologist learns at upload time,
not when a social worker presses "Save"), and compiled into marshmallow schemas
that validate submitted data.
"""

from __future__ import annotations

import copy
import json
import keyword
import math
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import marshmallow as ma

from . import messages as M
from .errors import FormDefinitionError, FormValidationError
from .model import (
    CONTAINER_TYPES,
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_LENGTH,
    HARD_MAX_ITEMS,
    HARD_MAX_LENGTH,
    INPUT_TYPES,
    OPTION_TYPES,
    STATIC_TYPES,
    TEXT_TYPES,
    Field,
)
from .validation import RESERVED_DATA_KEY, build_schema, check_value, translating

FORM_FILE_SUFFIX = ".form.json"
MAX_NESTING = 8  # containers inside containers

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_FORM_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")

# validate.* entries each component type accepts.
_VALIDATE_KEYS: dict[str, frozenset[str]] = {
    "textfield": frozenset({"required", "minLength", "maxLength", "pattern", "validationType"}),
    "textarea": frozenset({"required", "minLength", "maxLength", "pattern"}),
    "number": frozenset({"required", "min", "max"}),
    "datetime": frozenset({"required"}),
    "select": frozenset({"required"}),
    "radio": frozenset({"required"}),
    "checklist": frozenset({"required"}),
    "checkbox": frozenset({"required"}),
    "dynamiclist": frozenset({"required"}),
    "group": frozenset(),
}


# Yordam's own entries in a component's "properties", and where they may appear.
_PROPERTY_ALLOWED_ON = {
    "requiredWhen": "input or dynamiclist",
    "mustBeTrue": "checkbox",
    "maxItems": "dynamiclist",
}

# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Parser:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    # -- levels --------------------------------------------------------------

    def level(self, components: Any, prefix: str, where: str, depth: int) -> list[Field]:
        """Parse the components of one data level (the form, a pathed group, a list item)."""
        fields = self.collect(components, prefix, where, depth)
        seen: set[str] = set()
        for spec in fields:
            if spec.key in seen:
                raise FormDefinitionError(
                    M.DEF_DUPLICATE_KEY.format(where=self.where_field(spec), key=spec.key)
                )
            seen.add(spec.key)
        by_key = {spec.key: spec for spec in fields}
        for spec in fields:
            if spec.required_when is not None:
                self.check_required_when(spec, by_key)
        return fields

    def collect(self, components: Any, prefix: str, where: str, depth: int) -> list[Field]:
        """The data fields in ``components``, unpathed groups flattened in."""
        if depth > MAX_NESTING:
            raise FormDefinitionError(M.DEF_TOO_DEEP)
        if not isinstance(components, list):
            raise FormDefinitionError(M.DEF_COMPONENTS_NOT_LIST.format(where=where))
        fields: list[Field] = []
        for index, component in enumerate(components, 1):
            fields.extend(self.component(component, prefix, index, depth))
        return fields

    # -- naming for messages -------------------------------------------------

    @staticmethod
    def where_field(spec: Field) -> str:
        return f"Field '{spec.path}'"

    @staticmethod
    def where_component(component: Any, prefix: str, index: int) -> str:
        if isinstance(component, Mapping):
            name = component.get("key")
            if component.get("type") in CONTAINER_TYPES:
                name = component.get("path")
            if isinstance(name, str) and name:
                return f"Field '{prefix}{name}'"
            cid = component.get("id")
            if isinstance(cid, str) and cid:
                return f"Component '{cid}'"
        where = f"Component #{index}"
        if prefix:
            where += f" in '{prefix[:-1]}'"
        return where

    # -- one component -------------------------------------------------------

    def component(self, component: Any, prefix: str, index: int, depth: int) -> list[Field]:
        where = self.where_component(component, prefix, index)
        if not isinstance(component, Mapping):
            raise FormDefinitionError(M.DEF_COMPONENT_NOT_OBJECT.format(where=where))
        ctype = component.get("type")
        if not isinstance(ctype, str) or not ctype:
            raise FormDefinitionError(M.DEF_NO_TYPE.format(where=where))
        if "id" in component:
            cid = component["id"]
            if not isinstance(cid, str) or not cid:
                raise FormDefinitionError(M.DEF_BAD_ID.format(where=where))
            if cid in self.ids:
                raise FormDefinitionError(M.DEF_DUPLICATE_ID.format(where=where, id=cid))
            self.ids.add(cid)
        if ctype in STATIC_TYPES:
            return []
        if ctype == "group":
            return self.group(component, prefix, where, depth)
        if ctype == "dynamiclist":
            return [self.dynamiclist(component, prefix, where, depth)]
        if ctype in INPUT_TYPES:
            return [self.input(component, prefix, where)]
        raise FormDefinitionError(M.DEF_UNKNOWN_TYPE.format(where=where, type=ctype))

    def group(self, component: Mapping, prefix: str, where: str, depth: int) -> list[Field]:
        path = component.get("path")
        children = component.get("components", [])
        self.check_validate_keys(self.validate_dict(component, where), "group", where)
        self.reject_properties(self.properties(component, where), where, tuple(_PROPERTY_ALLOWED_ON))
        if path is None or path == "":
            # form-js does not nest the data of a group without a path.
            kids = self.collect(children, prefix, where, depth + 1)
            self.check_conditional(component, _has_required(kids), where)
            return kids
        key = self.check_key(path, where)
        kids = self.level(children, prefix + key + ".", where, depth + 1)
        if not kids:
            raise FormDefinitionError(M.DEF_EMPTY_CONTAINER.format(where=where, type="group"))
        self.check_conditional(component, _has_required(kids), where)
        return [
            Field(
                key=key,
                type="group",
                label=self.label(component, where),
                children=kids,
                id=component.get("id"),
                path=prefix + key,
                component=dict(component),
            )
        ]

    def dynamiclist(self, component: Mapping, prefix: str, where: str, depth: int) -> Field:
        path = component.get("path")
        if path is None or path == "":
            raise FormDefinitionError(M.DEF_NO_PATH.format(where=where))
        key = self.check_key(path, where)
        if component.get("isRepeating", True) is not True:
            raise FormDefinitionError(M.DEF_NOT_REPEATING.format(where=where))
        validate = self.validate_dict(component, where)
        self.check_validate_keys(validate, "dynamiclist", where)
        required = self.required_flag(validate, where)
        self.check_conditional(component, required, where)
        properties = self.properties(component, where)
        self.reject_properties(properties, where, ("mustBeTrue",))
        max_items = DEFAULT_MAX_ITEMS
        if "maxItems" in properties:
            raw = properties["maxItems"].strip()
            if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= HARD_MAX_ITEMS:
                raise FormDefinitionError(M.DEF_MAX_ITEMS.format(where=where, cap=HARD_MAX_ITEMS))
            max_items = int(raw)
        kids = self.level(component.get("components", []), prefix + key + ".", where, depth + 1)
        if not kids:
            raise FormDefinitionError(
                M.DEF_EMPTY_CONTAINER.format(where=where, type="dynamiclist")
            )
        return Field(
            key=key,
            type="dynamiclist",
            label=self.label(component, where),
            required=required,
            children=kids,
            id=component.get("id"),
            path=prefix + key,
            required_when=self.required_when(properties, where),
            max_items=max_items,
            component=dict(component),
        )

    def input(self, component: Mapping, prefix: str, where: str) -> Field:
        ctype = component["type"]
        raw_key = component.get("key")
        if raw_key is None or raw_key == "":
            raise FormDefinitionError(M.DEF_NO_KEY.format(where=where))
        key = self.check_key(raw_key, where)
        validate = self.validate_dict(component, where)
        self.check_validate_keys(validate, ctype, where)
        required = self.required_flag(validate, where)
        self.check_conditional(component, required, where)
        properties = self.properties(component, where)
        self.reject_properties(properties, where, ("maxItems",))
        if ctype != "checkbox":
            self.reject_properties(properties, where, ("mustBeTrue",))
        attrs: dict[str, Any] = {
            "key": key,
            "type": ctype,
            "label": self.label(component, where),
            "id": component.get("id"),
            "path": prefix + key,
            "required_when": self.required_when(properties, where),
            "component": dict(component),
        }
        if ctype in TEXT_TYPES:
            attrs.update(self.text_rules(validate, ctype, where))
        elif ctype == "number":
            attrs.update(self.number_rules(component, validate, where))
        elif ctype == "datetime":
            if component.get("subtype") != "date":
                raise FormDefinitionError(M.DEF_ONLY_DATE.format(where=where))
            if component.get("disallowPassedDates"):
                raise FormDefinitionError(
                    M.DEF_UNSUPPORTED_OPTION.format(where=where, name="disallowPassedDates")
                )
        elif ctype in OPTION_TYPES:
            options, labels = self.options(component, ctype, where)
            attrs["options"] = options
            attrs["option_labels"] = labels
        elif ctype == "checkbox":
            must = properties.get("mustBeTrue")
            if must is not None and must.strip() not in ("true", "false"):
                raise FormDefinitionError(M.DEF_MUST_BE_TRUE_VALUE.format(where=where))
            attrs["must_be_true"] = must is not None and must.strip() == "true"
            # form-js itself treats an unticked required checkbox as missing.
            required = required or attrs["must_be_true"]
        attrs["required"] = required
        spec = Field(**attrs)
        if component.get("defaultValue") is not None:
            spec = self.with_default(spec, component["defaultValue"], where)
        return spec

    # -- pieces ----------------------------------------------------------------

    @staticmethod
    def check_key(key: Any, where: str) -> str:
        if isinstance(key, str):
            if key.startswith("_"):
                raise FormDefinitionError(M.DEF_UNDERSCORE_KEY.format(where=where, key=key))
            if key == RESERVED_DATA_KEY or keyword.iskeyword(key):
                raise FormDefinitionError(M.DEF_RESERVED_KEY.format(where=where, key=key))
            if _KEY.fullmatch(key):
                return key
        raise FormDefinitionError(M.DEF_BAD_KEY.format(where=where, key=key))

    @staticmethod
    def label(component: Mapping, where: str) -> str:
        label = component.get("label")
        if label is None:
            return ""
        if not isinstance(label, str):
            raise FormDefinitionError(M.DEF_BAD_LABEL.format(where=where))
        return label

    @staticmethod
    def validate_dict(component: Mapping, where: str) -> dict[str, Any]:
        validate = component.get("validate")
        if validate is None:
            return {}
        if not isinstance(validate, Mapping):
            raise FormDefinitionError(M.DEF_VALIDATE_NOT_OBJECT.format(where=where))
        # form-js editors leave cleared entries as null; they mean "not set".
        return {name: value for name, value in validate.items() if value is not None}

    @staticmethod
    def check_validate_keys(validate: Mapping, ctype: str, where: str) -> None:
        allowed = _VALIDATE_KEYS[ctype]
        for name in validate:
            if name not in allowed:
                raise FormDefinitionError(
                    M.DEF_VALIDATE_UNSUPPORTED.format(where=where, name=name, type=ctype)
                )

    @staticmethod
    def required_flag(validate: Mapping, where: str) -> bool:
        required = validate.get("required", False)
        if not isinstance(required, bool):
            raise FormDefinitionError(
                M.DEF_VALIDATE_BAD.format(where=where, name="required", expected="true or false")
            )
        return required

    @staticmethod
    def check_conditional(component: Mapping, required: bool, where: str) -> None:
        conditional = component.get("conditional")
        if not conditional:
            return
        hide = conditional.get("hide") if isinstance(conditional, Mapping) else conditional
        if hide and required:
            raise FormDefinitionError(M.DEF_CONDITIONAL_REQUIRED.format(where=where))

    @staticmethod
    def properties(component: Mapping, where: str) -> dict[str, str]:
        properties = component.get("properties")
        if properties is None:
            return {}
        if not isinstance(properties, Mapping):
            raise FormDefinitionError(M.DEF_PROPERTIES_NOT_OBJECT.format(where=where))
        ours = {}
        for name in ("requiredWhen", "mustBeTrue", "maxItems"):
            if name in properties:
                if not isinstance(properties[name], str):
                    raise FormDefinitionError(
                        M.DEF_PROPERTY_NOT_STRING.format(where=where, name=name)
                    )
                ours[name] = properties[name]
        return ours  # other custom properties are left to whoever uses them

    @staticmethod
    def reject_properties(properties: Mapping, where: str, names: tuple[str, ...]) -> None:
        for name in names:
            if name in properties:
                raise FormDefinitionError(
                    M.DEF_PROPERTY_WRONG_TYPE.format(
                        where=where, name=name, allowed=_PROPERTY_ALLOWED_ON[name]
                    )
                )

    @staticmethod
    def required_when(properties: Mapping, where: str) -> tuple[str, str] | None:
        raw = properties.get("requiredWhen")
        if raw is None:
            return None
        other, sep, value = raw.partition("=")
        other, value = other.strip(), value.strip()
        if not sep or not other or not value:
            raise FormDefinitionError(M.DEF_REQUIRED_WHEN_SYNTAX.format(where=where))
        return other, value

    def check_required_when(self, spec: Field, by_key: Mapping[str, Field]) -> None:
        assert spec.required_when is not None
        other_key, value = spec.required_when
        where = self.where_field(spec)
        if other_key == spec.key:
            raise FormDefinitionError(M.DEF_REQUIRED_WHEN_SELF.format(where=where))
        other = by_key.get(other_key)
        if other is None:
            raise FormDefinitionError(
                M.DEF_REQUIRED_WHEN_UNKNOWN.format(where=where, other=other_key)
            )
        if other.type in CONTAINER_TYPES:
            raise FormDefinitionError(
                M.DEF_REQUIRED_WHEN_TARGET.format(where=where, other=other_key, type=other.type)
            )
        if other.type in OPTION_TYPES:
            possible = value in (other.options or [])
        elif other.type == "checkbox":
            possible = value in ("true", "false")
        elif other.type == "number":
            try:
                possible = math.isfinite(float(value))
            except ValueError:
                possible = False
        elif other.type == "datetime":
            try:
                check_value(other, value)
                possible = True
            except ma.ValidationError:
                possible = False
        else:
            possible = True
        if not possible:
            raise FormDefinitionError(
                M.DEF_REQUIRED_WHEN_VALUE.format(where=where, value=value, other=other_key)
            )

    @staticmethod
    def text_rules(validate: Mapping, ctype: str, where: str) -> dict[str, Any]:
        rules: dict[str, Any] = {}
        for name, attr in (("minLength", "min_length"), ("maxLength", "max_length")):
            if name in validate:
                value = validate[name]
                if not _is_whole(value) or not 0 <= value <= HARD_MAX_LENGTH:
                    raise FormDefinitionError(
                        M.DEF_VALIDATE_BAD.format(
                            where=where,
                            name=name,
                            expected=f"a whole number from 0 to {HARD_MAX_LENGTH}",
                        )
                    )
                rules[attr] = value
        effective_max = rules.get("max_length", DEFAULT_MAX_LENGTH[ctype])
        if rules.get("min_length", 0) > effective_max:
            raise FormDefinitionError(
                M.DEF_VALIDATE_ORDER.format(where=where, low="minLength", high="maxLength")
            )
        pattern = validate.get("pattern")
        if pattern is not None and pattern != "":
            if not isinstance(pattern, str):
                raise FormDefinitionError(
                    M.DEF_VALIDATE_BAD.format(
                        where=where, name="pattern", expected="a regular expression"
                    )
                )
            try:
                # ASCII: \d and \w mean what they mean in the browser's JavaScript.
                rules["pattern"] = re.compile(pattern, re.ASCII)
            except re.error as error:
                raise FormDefinitionError(
                    M.DEF_BAD_PATTERN.format(where=where, problem=error)
                ) from None
        validation_type = validate.get("validationType")
        if validation_type not in (None, "", "custom", "email"):
            raise FormDefinitionError(
                M.DEF_VALIDATION_TYPE.format(where=where, value=validation_type)
            )
        rules["email"] = validation_type == "email"
        return rules

    @staticmethod
    def number_rules(component: Mapping, validate: Mapping, where: str) -> dict[str, Any]:
        rules: dict[str, Any] = {}
        for name, attr in (("min", "minimum"), ("max", "maximum")):
            if name in validate:
                if not _is_number(validate[name]):
                    raise FormDefinitionError(
                        M.DEF_VALIDATE_BAD.format(where=where, name=name, expected="a number")
                    )
                rules[attr] = validate[name]
        if "minimum" in rules and "maximum" in rules and rules["minimum"] > rules["maximum"]:
            raise FormDefinitionError(
                M.DEF_VALIDATE_ORDER.format(where=where, low="min", high="max")
            )
        digits = component.get("decimalDigits")
        if digits is not None:
            if not _is_whole(digits) or not 0 <= digits <= 10:
                raise FormDefinitionError(M.DEF_DECIMAL_DIGITS.format(where=where))
            rules["decimal_digits"] = digits
        increment = component.get("increment")
        if increment is not None and increment != "":
            step: Decimal | None = None
            if _is_number(increment) or isinstance(increment, str):
                text = repr(increment) if isinstance(increment, float) else str(increment)
                try:
                    step = Decimal(text.strip())
                except InvalidOperation:
                    step = None
            if step is None or not step.is_finite() or step <= 0:
                raise FormDefinitionError(M.DEF_INCREMENT.format(where=where))
            rules["increment"] = step
        if component.get("serializeToString"):
            raise FormDefinitionError(
                M.DEF_UNSUPPORTED_OPTION.format(where=where, name="serializeToString")
            )
        return rules

    @staticmethod
    def options(component: Mapping, ctype: str, where: str) -> tuple[list[str], dict[str, str]]:
        for name in ("valuesKey", "valuesExpression"):
            if component.get(name):
                raise FormDefinitionError(M.DEF_DYNAMIC_VALUES.format(where=where, name=name))
        values = component.get("values")
        if not isinstance(values, list) or not values:
            raise FormDefinitionError(M.DEF_NO_VALUES.format(where=where, type=ctype))
        options: list[str] = []
        labels: dict[str, str] = {}
        for entry in values:
            if (
                not isinstance(entry, Mapping)
                or not isinstance(entry.get("value"), str)
                or entry["value"] == ""
                or not isinstance(entry.get("label"), str)
            ):
                raise FormDefinitionError(M.DEF_BAD_VALUE_ENTRY.format(where=where))
            value = entry["value"]
            if value in labels:
                raise FormDefinitionError(M.DEF_DUPLICATE_VALUE.format(where=where, value=value))
            options.append(value)
            labels[value] = entry["label"]
        return options, labels

    @staticmethod
    def with_default(spec: Field, value: Any, where: str) -> Field:
        try:
            cleaned = check_value(spec, value)
        except ma.ValidationError as error:
            problem = error.messages[0] if isinstance(error.messages, list) else error.messages
            raise FormDefinitionError(
                M.DEF_BAD_DEFAULT.format(where=where, problem=problem)
            ) from None
        if cleaned is None:
            return spec
        attrs = {name: getattr(spec, name) for name in spec.__dataclass_fields__}
        attrs.update(has_default=True, default=cleaned)
        return Field(**attrs)


# --------------------------------------------------------------------------
# FormDefinition
# --------------------------------------------------------------------------


class FormDefinition:
    """A compiled form: its fields, defaults and server-side validation.

    Build one with :meth:`from_dict`, :meth:`from_json`, :func:`load_form_file` or
    :func:`load_forms_dir`.  Instances are read-only and safe to share between
    threads; the marshmallow schemas are built once, when the form is loaded.
    """

    def __init__(self, key: str, raw: dict[str, Any], fields: list[Field]):
        self.key = key
        self.raw = raw
        self.fields = fields
        self._by_key = {spec.key: spec for spec in fields}
        self._schema = build_schema(fields, partial=False, name=key)
        self._partial_schema = build_schema(fields, partial=True, name=key)

    def __repr__(self) -> str:
        return f"<FormDefinition {self.key!r} fields={[spec.key for spec in self.fields]}>"

    # -- construction ------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any], key: str | None = None) -> FormDefinition:
        """Compile a form-js definition; ``key`` defaults to ``data["id"]``.

        Raises :class:`FormDefinitionError` naming the offending component.
        """
        if not isinstance(data, Mapping):
            raise FormDefinitionError(M.DEF_NOT_OBJECT)
        if key is None:
            key = data.get("id")
            if key is None or key == "":
                raise FormDefinitionError(M.DEF_NO_FORM_KEY)
        if not isinstance(key, str) or not _FORM_KEY.fullmatch(key):
            raise FormDefinitionError(M.DEF_BAD_FORM_KEY.format(key=key))
        form_type = data.get("type", "default")
        if form_type != "default":
            raise FormDefinitionError(M.DEF_FORM_TYPE.format(type=form_type))
        if "schemaVersion" in data and not _is_whole(data["schemaVersion"]):
            raise FormDefinitionError(M.DEF_SCHEMA_VERSION)
        raw = copy.deepcopy(dict(data))
        fields = _Parser().level(raw.get("components"), "", "The form", 0)
        return cls(key, raw, fields)

    @classmethod
    def from_json(cls, text: str | bytes, key: str | None = None) -> FormDefinition:
        """Parse and compile form-js JSON; invalid JSON reports its line and column."""
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8-sig")
            except UnicodeDecodeError:
                raise FormDefinitionError(M.DEF_NOT_UTF8) from None
        elif text.startswith("\ufeff"):
            text = text[1:]
        try:
            data = json.loads(
                text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
            )
        except json.JSONDecodeError as error:
            raise FormDefinitionError(
                M.DEF_INVALID_JSON.format(line=error.lineno, column=error.colno, problem=error.msg)
            ) from None
        except RecursionError:
            raise FormDefinitionError(M.DEF_TOO_DEEP) from None
        return cls.from_dict(data, key=key)

    # -- questions about the form ---------------------------------------------------

    def field_keys(self) -> set[str]:
        """Every top-level data key the form can set."""
        return set(self._by_key)

    def get_field(self, key: str) -> Field | None:
        """The field at ``key``; a dotted key reaches into groups and dynamiclist items."""
        fields = self._by_key
        spec: Field | None = None
        for part in key.split("."):
            spec = fields.get(part)
            if spec is None:
                return None
            fields = {child.key: child for child in spec.children}
        return spec

    def options_for(self, key: str) -> list[str] | None:
        """The option values of a select/radio/checklist, else None (also for unknown keys)."""
        spec = self.get_field(key)
        if spec is None or spec.options is None:
            return None
        return list(spec.options)

    def defaults(self) -> dict[str, Any]:
        """Initial data from the definition's "defaultValue"s (pathed groups nest)."""
        return _defaults(self.fields)

    # -- validation ----------------------------------------------------------------

    def validate(
        self,
        data: dict[str, Any],
        partial: bool = False,
        translate: Callable[[str], str] | None = None,
    ) -> dict[str, Any]:
        """Return cleaned ``data`` or raise :class:`FormValidationError`.

        ``partial=True`` (drafts) skips the required checks (required, requiredWhen,
        mustBeTrue, at least one item) but still checks types, unknown fields,
        lengths, options and ranges.  Null optional values are kept as None (they
        clear an earlier answer); what is not sent is not in the result.

        ``translate`` (text -> text) puts the messages into the user's language: each
        English template of :mod:`forms.messages` goes through it *before* its
        placeholders are filled in, and so do the form texts a message quotes (the
        label and option of a requiredWhen).  Without it the messages are English.
        """
        schema = self._partial_schema if partial else self._schema
        with translating(translate):
            try:
                return schema.load(data)
            except ma.ValidationError as error:
                messages = error.messages
                if not isinstance(messages, dict):
                    messages = {"_schema": messages}
                raise FormValidationError(messages) from None


def _defaults(fields: list[Field]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for spec in fields:
        if spec.has_default:
            result[spec.key] = copy.deepcopy(spec.default)
        elif spec.type == "group":
            nested = _defaults(spec.children)
            if nested:
                result[spec.key] = nested
    return result


def _has_required(fields: list[Field]) -> bool:
    return any(spec.required or _has_required(spec.children) for spec in fields)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise FormDefinitionError(M.DEF_DUPLICATE_JSON_KEY.format(key=name))
        result[name] = value
    return result


def _no_constants(name: str) -> Any:
    raise FormDefinitionError(M.DEF_JSON_CONSTANT.format(constant=name))


# --------------------------------------------------------------------------
# Loading files
# --------------------------------------------------------------------------


def load_form_file(path: str | os.PathLike[str]) -> FormDefinition:
    """Load ``<key>.form.json``; the key is the file name without ".form.json".

    Errors are prefixed with the file name.
    """
    path = Path(path)
    if not path.name.endswith(FORM_FILE_SUFFIX) or path.name == FORM_FILE_SUFFIX:
        raise FormDefinitionError(M.DEF_FILE_NAME.format(name=path.name))
    key = path.name[: -len(FORM_FILE_SUFFIX)]
    try:
        return FormDefinition.from_json(path.read_bytes(), key=key)
    except FormDefinitionError as error:
        raise FormDefinitionError(f"{path.name}: {error.message}") from None


def load_forms_dir(path: str | os.PathLike[str]) -> dict[str, FormDefinition]:
    """Load every ``*.form.json`` in a directory (not its subdirectories), by key."""
    path = Path(path)
    if not path.is_dir():
        raise FormDefinitionError(M.DEF_NOT_DIRECTORY.format(path=path))
    forms: dict[str, FormDefinition] = {}
    for file in sorted(path.glob("*" + FORM_FILE_SUFFIX)):
        if file.is_file():
            definition = load_form_file(file)
            forms[definition.key] = definition
    return forms


__all__ = [
    "FormDefinition",
    "FormDefinitionError",
    "FormValidationError",
    "load_form_file",
    "load_forms_dir",
]
