"""The deadline a methodologist writes on a user task, as Spiff extension properties (workflows/README.md §10).

    deadline        = "5 working days" | "8 working hours" | "24 hours" | "30 calendar days"
                      | "(monitoring_interval_days) calendar days"
    deadlineSource  = "Inson rules, p. 12: decision on need within 5 working days"   (free text, shown to users)
    reminder        = "80%" | "50%, 80%"          (points of the time allowed at which the assignee is reminded)
    escalation      = "supervisor at deadline; center_head after 3 working days"

A number in parentheses is a Python expression over the case data, evaluated when the task opens. Parsing is
pure: the lint reports ``RuleError`` as a problem, and the runtime never sees a rule that did not parse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..i18n import N_, Complaint, tell

UNITS = {"working day": "working_days", "working hour": "working_hours", "calendar day": "calendar_days",
         "hour": "hours"}  # plain clock hours, for what cannot wait for office hours (urgent cases)
PROPERTY_NAMES = ("deadline", "deadlineSource", "reminder", "escalation")

_DURATION = re.compile(r"^\s*(?:(?P<number>\d+(?:\.\d+)?)|\((?P<expression>.+)\))\s+(?P<unit>[a-z ]+?)s?\s*$")
_RUNG = re.compile(r"^\s*(?P<role>[a-z_]+)\s+(?:(?P<at>at\s+deadline)|after\s+(?P<after>.+?))\s*$")
_PERCENT = re.compile(r"^\s*(\d{1,2})\s*%\s*$")


class RuleError(Complaint):
    """What is wrong with a rule property: a catalogue template (``%(name)s`` placeholders, ``%%`` for a percent
    sign) and a hint template, filled with ``params``; ``str(err)`` and ``hint`` are the English texts, and a
    problem made of the error can be told in the reader's language."""

    def __init__(self, prop: str, template: str, hint: str = "", **params):
        super().__init__(template, **params)
        self.prop = prop
        self.hint_template, self.hint_params = hint or None, params
        self.hint = tell(None, hint, params) if hint else ""


@dataclass(frozen=True)
class Duration:
    unit: str                      # working_days | working_hours | calendar_days
    amount: float | None = None    # a literal number ...
    expression: str | None = None  # ... or a Python expression over case data

    def as_dict(self) -> dict:
        return {"unit": self.unit, "amount": self.amount, "expression": self.expression}


@dataclass(frozen=True)
class Rung:
    role: str
    after: Duration | None = None  # time after the deadline; None: at the deadline


@dataclass(frozen=True)
class DeadlineRule:
    duration: Duration
    source: str = ""
    reminders: tuple[int, ...] = ()   # percentages of the allowed time, ascending
    ladder: tuple[Rung, ...] = ()


def parse_rule(properties: dict, roles=None) -> DeadlineRule | None:
    """The task's rule, or None when it declares no deadline. ``roles`` (if given) are the allowed rung roles."""
    text = (properties.get("deadline") or "").strip()
    if not text:
        for dependent in ("reminder", "escalation"):
            if (properties.get(dependent) or "").strip():
                raise RuleError(dependent, N_("'%(property)s' needs a 'deadline' on the same task"),
                                N_('add for example deadline = "5 working days"'), property=dependent)
        return None
    return DeadlineRule(duration=parse_duration("deadline", text),
                        source=(properties.get("deadlineSource") or "").strip(),
                        reminders=_parse_reminders(properties.get("reminder") or ""),
                        ladder=_parse_ladder(properties.get("escalation") or "", roles))


def parse_duration(prop: str, text: str, allow_expression: bool = True) -> Duration:
    match = _DURATION.match(text.lower() if "(" not in text else text)
    unit = UNITS.get(match.group("unit").strip().lower()) if match else None
    if not match or unit is None:
        raise RuleError(prop, N_("'%(text)s' is not a duration"),
                        N_('write a number and a unit: "5 working days", "24 working hours" or "30 calendar days"'),
                        text=text)
    if match.group("expression"):
        if not allow_expression:
            raise RuleError(prop, N_("'%(text)s': an expression is not allowed here"), N_("write a number"),
                            text=text)
        return Duration(unit, expression=match.group("expression").strip())
    amount = float(match.group("number"))
    if unit not in ("working_hours", "hours") and amount != int(amount):
        raise RuleError(prop, N_("'%(text)s': days are whole numbers"), N_("use working hours for parts of a day"),
                        text=text)
    return Duration(unit, amount=amount)


def _parse_reminders(text: str) -> tuple[int, ...]:
    if not text.strip():
        return ()
    points = []
    for part in text.split(","):
        match = _PERCENT.match(part)
        if not match or not 1 <= int(match.group(1)) <= 99:
            raise RuleError("reminder", N_("'%(text)s' is not a point between 1%% and 99%%"),
                            N_('write percentages of the time allowed, for example "80%%" or "50%%, 80%%"'),
                            text=part.strip())
        points.append(int(match.group(1)))
    if points != sorted(set(points)):
        raise RuleError("reminder", N_("reminder points must rise and not repeat"), N_('for example "50%%, 80%%"'))
    return tuple(points)


def _parse_ladder(text: str, roles) -> tuple[Rung, ...]:
    rungs = []
    for part in [p for p in text.split(";") if p.strip()]:
        match = _RUNG.match(part)
        if not match:
            raise RuleError("escalation", N_("'%(text)s' is not a rung"),
                            N_('write "<role> at deadline" or "<role> after 3 working days", rungs separated by ;'),
                            text=part.strip())
        role = match.group("role")
        if roles is not None and role not in roles:
            raise RuleError("escalation", N_("'%(role)s' is not a role"), N_("use one of: %(roles)s"), role=role,
                            roles=", ".join(roles))
        after = parse_duration("escalation", match.group("after"), allow_expression=False) \
            if match.group("after") else None
        rungs.append(Rung(role, after))
    _check_rising(rungs)
    return tuple(rungs)


def _check_rising(rungs) -> None:
    """Rungs are written in the order they happen: a ladder read top to bottom is the order people hear."""
    order = {"working_hours": 0, "hours": 0, "working_days": 1, "calendar_days": 1}
    previous = (-1, -1.0)
    for rung in rungs:
        key = (-1, 0.0) if rung.after is None else (order[rung.after.unit], rung.after.amount)
        if rung.after is not None and previous[0] >= 0 and order[rung.after.unit] != previous[0]:
            raise RuleError("escalation", N_("all rungs after the deadline must use the same unit"),
                            N_('for example "supervisor at deadline; center_head after 3 working days"'))
        if key < previous:
            raise RuleError("escalation", N_("rungs must be written in the order they happen"),
                            N_("put the rung at the deadline first, then the later ones in rising order"))
        previous = key
