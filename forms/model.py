"""The compiled, read-only description of one input field of a form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# form-js component types Yordam understands.
STATIC_TYPES = frozenset({"text", "spacer", "separator"})
INPUT_TYPES = frozenset(
    {"textfield", "textarea", "number", "datetime", "select", "radio", "checkbox", "checklist"}
)
CONTAINER_TYPES = frozenset({"group", "dynamiclist"})
OPTION_TYPES = frozenset({"select", "radio", "checklist"})
TEXT_TYPES = frozenset({"textfield", "textarea"})

# Limits applied when the definition gives none, so nothing oversized gets through.
DEFAULT_MAX_LENGTH = {"textfield": 500, "textarea": 10_000}
HARD_MAX_LENGTH = 100_000
DEFAULT_MAX_ITEMS = 100
HARD_MAX_ITEMS = 1_000
MAX_SAFE_NUMBER = 2**53 - 1  # largest integer a browser's JavaScript holds exactly
MIN_YEAR, MAX_YEAR = 1900, 2100


@dataclass(frozen=True, eq=False)
class Field:
    """One data-bearing component of a form (an input, a pathed group or a dynamiclist).

    ``key`` is the data key at its level; ``children`` are the fields inside a
    pathed group or one item of a dynamiclist (unpathed groups are flattened away
    because form-js does not nest their data).
    """

    key: str
    type: str
    label: str = ""
    required: bool = False
    options: list[str] | None = None
    children: list[Field] = field(default_factory=list)
    id: str | None = None
    path: str = ""  # dotted location in the data, for messages ("services.provider")
    option_labels: dict[str, str] | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None
    email: bool = False
    minimum: int | float | None = None
    maximum: int | float | None = None
    decimal_digits: int | None = None
    increment: Decimal | None = None
    required_when: tuple[str, str] | None = None
    must_be_true: bool = False
    max_items: int | None = None
    has_default: bool = False
    default: Any = None
    component: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_container(self) -> bool:
        return self.type in CONTAINER_TYPES

    def display_name(self) -> str:
        """What to call the field in a message: its label, else its key."""
        label = self.label.strip()
        if label and not label.startswith("="):
            return label
        return self.key
