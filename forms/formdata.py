"""A browser's form POST turned into the data :meth:`FormDefinition.validate` checks.

The HTML of :mod:`forms.render` and this parser share one name scheme, :func:`field_name`:

* a top-level field is named by its key: ``goals``;
* a field of a pathed group by the group's key and its own: ``address-street``;
* a field of a dynamiclist item by the list, the item's index and its key:
  ``services-0-service_type`` (nested lists continue: ``services-0-visits-2-date``);
* each rendered item also carries a hidden, empty ``services-0`` so that an item
  whose inputs are all unticked boxes still arrives.

Keys start with a letter and hold only letters, digits and ``_``, so ``-`` cannot
be part of a key and an index is always digits: the scheme is unambiguous.

The POST is read as the *whole form* (every rendered field is in it, as browsers
send them), so a field that does not arrive gets its empty value:

=================  ================================  ==========================
type               posted                            data
=================  ================================  ==========================
text, textarea     ``""`` or absent                  ``None``
number             ``"12"`` / ``"1.5"`` / ``"x"``    ``12`` / ``1.5`` / ``"x"``
datetime (date)    ``"2025-12-02"``; ``""``/absent   the string; ``None``
select, radio      a value; ``""``/absent            the value; ``None``
checkbox           ``"true"`` (or ``"on"``); absent  ``True``; ``False``
checklist          zero or more values               list of the values
dynamiclist        items by index                    list of dicts, in index order
=================  ================================  ==========================

``None`` is what :meth:`FormDefinition.validate` expects of a cleared optional
field: it keeps it as ``None`` (so the earlier answer is cleared when merged into
the case data) and reports "This field is required." for a required one.  Text is
kept as sent otherwise (validation trims it); a number that does not parse stays a
string so validation says "Must be a number."; a name posted more than once for a
single-valued field arrives as a list, which validation refuses.

Nothing posted is dropped silently: a name the form does not have is kept in the
data under that name (in the item or group it points into, if any), so validation
refuses it as "Unknown field.".  Only the control names in :data:`CONTROL_NAMES`
are left out; the caller handles them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .definition import FormDefinition
from .model import Field

#: Names the web page posts for its own purposes; never form data.
CONTROL_NAMES = frozenset({"_add", "_remove", "_action", "csrf_token"})
ADD = "_add"
REMOVE = "_remove"
SEPARATOR = "-"
_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")  # canonical item indices only: "01" is not "1"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_INTEGER_DIGITS = 300  # longer digit strings become floats (int() refuses > 4300 digits)
_TRUE = ("true", "on")


def field_name(*parts: str | int) -> str:
    """The HTML name of a field: ``field_name("services", 0, "service_type")`` is
    ``"services-0-service_type"``.  Used by the renderer and the parser alike."""
    return SEPARATOR.join(str(part) for part in parts)


def split_name(name: str) -> list[str]:
    """The parts of a name made by :func:`field_name` (indices stay strings)."""
    return name.split(SEPARATOR)


def parse_index(part: str) -> int | None:
    """The item index a name part stands for, or None if it is not one."""
    return int(part) if _INDEX.fullmatch(part) else None


@dataclass(frozen=True)
class FormAction:
    """What an Add or Remove button asked for (the POST is then not a submission).

    ``kind`` is ``"add"`` or ``"remove"``; ``target`` the posted value (a list's name
    for add, an item's name for remove); ``applied`` is False when it could not be
    done (an unknown list or item, a list without add/remove, a full list) and the
    data came back unchanged.
    """

    kind: str
    target: str
    applied: bool


def parse_submission(
    form: FormDefinition, fields: Any
) -> tuple[dict[str, Any], FormAction | None]:
    """Turn a browser POST into form data, and say whether a button asked for an action.

    ``fields`` is a MultiDict-like object (anything with ``getlist(name)`` and
    names from iterating it or its ``keys()``, e.g. Flask's ``request.form``) or a
    plain mapping of name → list of strings (a single string is taken as one value).

    Returns ``(data, action)``.  ``action`` is None for a plain submit: validate
    ``data`` and go on.  Otherwise the Add/Remove has already been applied to
    ``data`` (one more empty item, or one item fewer), and the caller should render
    the form again with ``data`` and no errors, without validating.
    """
    posted = _posted(fields)
    root: dict[str, Any] = {}
    deferred: list[tuple[str, list[str]]] = []
    for name, values in posted.items():
        if name in CONTROL_NAMES:
            continue
        if not _place(form.fields, root, split_name(name), values, strict=True):
            deferred.append((name, values))
    for name, values in deferred:  # unknown names, after the known ones
        _place(form.fields, root, split_name(name), values, strict=False)
    _fill(form.fields, root)
    action = _action(form, root, posted)
    return _finish(form.fields, root), action


def untouched(form: FormDefinition) -> dict[str, Any]:
    """The form's data before anyone answers it, as a browser posts it untouched: each field's default, else its
    empty value (an unticked box, an empty checklist, None). Computed once per form; a fresh copy each call.

    An API client may leave out what it did not touch; merged under its answers, this makes its data the same as
    the web form's (scripts and gateways may read every field of the form)."""
    cached = form.__dict__.get("_untouched")
    if cached is None:
        cached = {**parse_submission(form, {})[0], **form.defaults()}
        form.__dict__["_untouched"] = cached  # the form never changes: computed once, shared by every thread
    return copy.deepcopy(cached)


# --------------------------------------------------------------------------
# Reading the POST
# --------------------------------------------------------------------------


def _posted(fields: Any) -> dict[str, list[str]]:
    """name → list of values, in the order the names came."""
    result: dict[str, list[str]] = {}
    if hasattr(fields, "getlist"):
        names = fields.keys() if hasattr(fields, "keys") else iter(fields)
        for name in names:
            if name not in result:
                result[str(name)] = [str(value) for value in fields.getlist(name)]
        return result
    if not isinstance(fields, Mapping):
        raise TypeError("parse_submission needs a MultiDict or a mapping of name to list of strings")
    for name, values in fields.items():
        if isinstance(values, (list, tuple)):
            result[str(name)] = [str(value) for value in values]
        else:
            result[str(name)] = [str(values)]
    return result


class _Items(dict):
    """A dynamiclist while parsing: posted index → item dict (gaps closed at the end)."""


def _raw(values: list[str]) -> Any:
    """An unknown name's value: its string, or the list if posted more than once."""
    return values[0] if len(values) == 1 else list(values)


def _place(
    fields: list[Field], container: dict[str, Any], parts: list[str], values: list[str], *, strict: bool
) -> bool:
    """Put one posted name into the data tree.

    With ``strict`` only names that are fields of the form (or item markers) are placed;
    the rest return False and come back with ``strict=False``, to be kept as unknown
    names at the deepest level they point into.
    """
    by_key = {spec.key: spec for spec in fields}
    spec = by_key.get(parts[0])
    if spec is None:
        if strict:
            return False
        container[field_name(*parts)] = _raw(values)
        return True
    if spec.type == "group":
        if len(parts) == 1:
            if strict:
                return False
            container[spec.key] = _raw(values)  # forged: validation says "Must be an object."
            return True
        if strict and not _is_known(spec.children, parts[1:]):
            return False
        group = container.setdefault(spec.key, {})
        if not isinstance(group, dict):
            return True  # already replaced by a forged value, which validation refuses
        return _place(spec.children, group, parts[1:], values, strict=strict)
    if spec.type == "dynamiclist":
        if len(parts) == 1:
            if strict:
                return False
            container[spec.key] = _raw(values)  # forged: validation says "Must be a list."
            return True
        index = parse_index(parts[1])
        if index is None:
            if strict:
                return False
            container[field_name(*parts)] = _raw(values)
            return True
        items = container.get(spec.key)
        if not isinstance(items, _Items):
            if items is not None:
                return True  # already replaced by a forged value, which validation refuses
            items = container[spec.key] = _Items()
        if len(parts) == 2:  # the item's marker
            if all(value == "" for value in values):
                items.setdefault(index, {})
                return True
            if strict:
                return False
            items.setdefault(index, {})
            container[field_name(*parts)] = _raw(values)
            return True
        if strict and not _is_known(spec.children, parts[2:]):
            return False
        item = items.setdefault(index, {})
        return _place(spec.children, item, parts[2:], values, strict=strict)
    # an input
    if len(parts) > 1:
        if strict:
            return False
        container[field_name(*parts)] = _raw(values)
        return True
    if not strict:
        return True  # unreachable: inputs are placed in the strict pass
    container[spec.key] = _convert(spec, values)
    return True


def _is_known(fields: list[Field], parts: list[str]) -> bool:
    """Whether ``parts`` name an input (or an item marker) of ``fields``."""
    by_key = {spec.key: spec for spec in fields}
    spec = by_key.get(parts[0])
    if spec is None:
        return False
    if spec.type == "group":
        return len(parts) > 1 and _is_known(spec.children, parts[1:])
    if spec.type == "dynamiclist":
        if len(parts) < 2 or parse_index(parts[1]) is None:
            return False
        return len(parts) == 2 or _is_known(spec.children, parts[2:])
    return len(parts) == 1


def _convert(spec: Field, values: list[str]) -> Any:
    """The data value of one input from its posted values."""
    if spec.type == "checklist":
        return list(values)
    if spec.type == "checkbox":
        if not values:
            return False
        if len(values) == 1 and values[0] in _TRUE:
            return True
        return _raw(values)  # validation says "Must be true or false."
    if not values:
        return None
    if len(values) > 1:
        return list(values)  # validation refuses a list for a single value
    value = values[0]
    if spec.type == "number":
        return _number(value)
    if value == "":
        return None
    return value


def _number(text: str) -> Any:
    stripped = text.strip()
    if stripped == "":
        return None
    if _INTEGER.fullmatch(stripped) and len(stripped) <= _MAX_INTEGER_DIGITS:
        return int(stripped)
    if _DECIMAL.fullmatch(stripped):
        return float(stripped)  # inf for an absurd exponent: validation says so
    return text  # validation says "Must be a number."


# --------------------------------------------------------------------------
# The whole form, actions, and the final shape
# --------------------------------------------------------------------------


def _empty(spec: Field) -> Any:
    if spec.type == "checkbox":
        return False
    if spec.type == "checklist":
        return []
    if spec.type == "dynamiclist":
        return _Items()
    if spec.type == "group":
        return {}
    return None


def _fill(fields: list[Field], container: dict[str, Any]) -> None:
    """Give every field the browser did not send its empty value (the POST is the whole form)."""
    for spec in fields:
        if spec.key not in container:
            container[spec.key] = _empty(spec)
        value = container[spec.key]
        if spec.type == "group" and isinstance(value, dict):
            _fill(spec.children, value)
        elif spec.type == "dynamiclist" and isinstance(value, _Items):
            for item in value.values():
                _fill(spec.children, item)


def _find_list(
    fields: list[Field], container: dict[str, Any], parts: list[str]
) -> tuple[Field, _Items] | None:
    """The dynamiclist (its spec and parsed items) a list name points at."""
    by_key = {spec.key: spec for spec in fields}
    spec = by_key.get(parts[0])
    if spec is None:
        return None
    value = container.get(spec.key)
    if spec.type == "group":
        if len(parts) < 2 or not isinstance(value, dict):
            return None
        return _find_list(spec.children, value, parts[1:])
    if spec.type != "dynamiclist" or not isinstance(value, _Items):
        return None
    if len(parts) == 1:
        return spec, value
    index = parse_index(parts[1])
    if len(parts) < 3 or index is None or index not in value:
        return None
    return _find_list(spec.children, value[index], parts[2:])


def allows_add_remove(spec: Field) -> bool:
    """Whether a dynamiclist shows Add and Remove (form-js "allowAddRemove"; absent means no)."""
    return spec.component.get("allowAddRemove") is True


def _action(form: FormDefinition, root: dict[str, Any], posted: dict[str, list[str]]) -> FormAction | None:
    if posted.get(ADD):
        target = posted[ADD][0]
        found = _find_list(form.fields, root, split_name(target))
        applied = False
        if found is not None:
            spec, items = found
            if allows_add_remove(spec) and len(items) < (spec.max_items or 0):
                item: dict[str, Any] = {}
                _fill(spec.children, item)
                items[max(items, default=-1) + 1] = item
                applied = True
        return FormAction("add", target, applied)
    if posted.get(REMOVE):
        target = posted[REMOVE][0]
        parts = split_name(target)
        applied = False
        index = parse_index(parts[-1]) if len(parts) >= 2 else None
        found = _find_list(form.fields, root, parts[:-1]) if index is not None else None
        if found is not None:
            spec, items = found
            if allows_add_remove(spec) and index in items:
                del items[index]
                applied = True
        return FormAction("remove", target, applied)
    return None


def _finish(fields: list[Field], container: dict[str, Any]) -> dict[str, Any]:
    """Items by index become lists (gaps closed); everything else as it is."""
    result: dict[str, Any] = {}
    for spec in fields:  # in the form's order, then the unknown names in the order posted
        if spec.key not in container:
            continue
        value = container[spec.key]
        if spec.type == "dynamiclist" and isinstance(value, _Items):
            value = [_finish(spec.children, value[index]) for index in sorted(value)]
        elif spec.type == "group" and isinstance(value, dict):
            value = _finish(spec.children, value)
        result[spec.key] = value
    for key, value in container.items():
        if key not in result:
            result[key] = value
    return result


__all__ = [
    "CONTROL_NAMES",
    "FormAction",
    "allows_add_remove",
    "field_name",
    "parse_index",
    "parse_submission",
    "split_name",
]
