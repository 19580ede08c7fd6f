"""A task's deadline in words, in the reader's language: what rule gave the due instant, which days were
skipped and why, and every later move (hold, extension). Rendered at read time from the structured record
kept on the task, so a worker reading in Russian and a supervisor reading in Kazakh each get their own."""
from __future__ import annotations

from datetime import date, datetime

from ..i18n import day, moment, ngettext
from ..i18n import gettext as tr


def duration_text(language: str, unit: str, amount: float) -> str:
    n = int(amount) if float(amount).is_integer() else amount
    if unit == "working_days":
        return ngettext(language, "%(num)d working day", "%(num)d working days", n)
    if unit == "working_hours":
        if isinstance(n, float):
            return tr(language, "%(num)s working hours", num=f"{n:g}")
        return ngettext(language, "%(num)d working hour", "%(num)d working hours", n)
    if unit == "hours":
        return ngettext(language, "%(num)d hour", "%(num)d hours", n)
    return ngettext(language, "%(num)d calendar day", "%(num)d calendar days", n)


def explain(record: dict | None, language: str, calendar) -> str | None:
    """The explanation of ``Task.deadline`` (see ``engine.services.deadlines``) for one reader."""
    if not record:
        return None
    tz = calendar.tz
    start, due = _instant(record["start"]), _instant(record["computed_due"])
    parts = [tr(language, "Due %(due)s: %(duration)s from %(start)s.",
               due=moment(language, due, tz), duration=duration_text(language, record["unit"], record["amount"]),
               start=moment(language, start, tz))]
    if record.get("expression"):
        parts.append(tr(language, "The number comes from the case data (%(expression)s).",
                       expression=record["expression"]))
    parts += _skipped(language, record, calendar)
    for change in record.get("changes", []):
        parts.append(_change(language, change, tz))
    if record.get("source"):
        parts.append(tr(language, "Source: %(source)s.", source=record["source"].rstrip(".")))
    return " ".join(parts)


def _skipped(language, record, calendar) -> list[str]:
    parts, named, weekends = [], [], 0
    for entry in record.get("skipped", []):
        when = date.fromisoformat(entry["date"])
        if entry["reason"] == "weekend":
            weekends += 1
            continue
        name = calendar.holiday_name(when, language) if entry["reason"] == "holiday" else None
        name = name or entry.get("name") or tr(language, "day off")
        named.append(tr(language, "%(day)s (%(name)s)", day=day(language, when), name=name))
    if named:
        parts.append(tr(language, "Not counted: %(days)s.", days="; ".join(named)))
    if weekends:
        parts.append(ngettext(language, "%(num)d weekend day not counted.", "%(num)d weekend days not counted.",
                              weekends))
    if record.get("rolled_from"):
        parts.append(tr(language, "%(day)s is not a working day, so the deadline moves to the next working day.",
                       day=day(language, date.fromisoformat(record["rolled_from"]))))
    return parts


def _change(language, change, tz) -> str:
    after = moment(language, _instant(change["due_after"]), tz)
    if not change.get("due_before"):  # a task that had no deadline was given one
        return tr(language, "%(who)s set the deadline to %(after)s: %(reason)s.", who=change.get("by") or "—",
                  after=after, reason=(change.get("reason") or "—").rstrip("."))
    before = moment(language, _instant(change["due_before"]), tz)
    if change["kind"] == "hold":
        return tr(language, "The case was on hold from %(start)s to %(end)s (%(reason)s), so the deadline moved "
                           "from %(before)s to %(after)s.",
                 start=moment(language, _instant(change["held_from"]), tz),
                 end=moment(language, _instant(change["held_to"]), tz), reason=(change.get("reason") or "—").rstrip("."),
                 before=before, after=after)
    return tr(language, "%(who)s extended the deadline from %(before)s to %(after)s: %(reason)s.",
             who=change.get("by") or "—", before=before, after=after,
             reason=(change.get("reason") or "—").rstrip("."))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
