"""Synthetic answers for a form: what the workbench's scenarios start from when no sample answers are known.

Every required field gets a value the form's own validation accepts (the first option of a choice, the smallest
allowed number, a date, a short text within the length limits), optional fields stay empty. The values are made
up from the definition alone, so no real person's data ever reaches a scenario.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .definition import FormDefinition
from .model import Field

SAMPLE_TEXT = "Sample answer"


def sample_answers(form: FormDefinition, today: date) -> dict[str, Any]:
    """A valid submission of ``form`` made of synthetic values (checked against the form before it is returned
    by the caller, who may prefer known sample answers)."""
    return _level(form.fields, today)


def _level(fields: list[Field], today: date) -> dict[str, Any]:
    answers = {}
    for spec in fields:
        if spec.has_default and not (spec.required or spec.must_be_true):
            continue  # the form fills it in
        if spec.required or spec.must_be_true or spec.required_when is not None or spec.type == "dynamiclist":
            value = _value(spec, today)
            if value is not None:
                answers[spec.key] = value
    return answers


def _value(spec: Field, today: date) -> Any:
    if spec.type == "group":
        return _level(spec.children, today)
    if spec.type == "dynamiclist":
        return [_level(spec.children, today)] if spec.required or any(c.required for c in spec.children) else []
    if spec.type in ("select", "radio"):
        return spec.options[0] if spec.options else None
    if spec.type == "checklist":
        return spec.options[:1] if spec.options else []
    if spec.type == "checkbox":
        return True
    if spec.type == "number":
        return _number(spec)
    if spec.type == "datetime":
        return today.isoformat()
    return _text(spec)


def _number(spec: Field) -> int | float:
    low = spec.minimum if spec.minimum is not None else 1
    if spec.maximum is not None and low > spec.maximum:
        low = spec.maximum
    return low


def _text(spec: Field) -> str:
    if spec.email:
        return "sample@example.org"
    text = SAMPLE_TEXT
    if spec.min_length and len(text) < spec.min_length:
        text = (text + " ") * (spec.min_length // len(text) + 1)
    if spec.max_length:
        text = text[: spec.max_length]
    return text.strip() if len(text.strip()) >= (spec.min_length or 0) else text
