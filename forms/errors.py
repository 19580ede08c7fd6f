"""Exceptions raised by the forms package."""

from __future__ import annotations

from typing import Any


class FormDefinitionError(ValueError):
    """A form definition is malformed or uses something Yordam does not support.

    ``str(error)`` (also ``error.message``) names the offending component by its
    key or id, e.g. ``"Field 'decision': a select needs a non-empty "values" list."``.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FormValidationError(ValueError):
    """Submitted form data is not valid.

    ``errors`` maps each data key to a list of messages, e.g.
    ``{"comment": ["This field is required."]}``.  Pathed groups nest a dict,
    repeating groups (dynamiclist) nest a dict keyed by item index
    (``{"services": {0: {"provider": ["..."]}}}``) or carry a list of messages for
    list-level problems (``{"services": ["Add at least one item."]}``).  Problems
    with the data as a whole (not an object) are under ``"_schema"``.
    """

    def __init__(self, errors: dict[Any, Any]):
        self.errors = errors
        super().__init__("Form data is not valid: " + ", ".join(sorted(map(str, errors))))
