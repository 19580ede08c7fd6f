"""Small helpers shared by the HTML views."""
from __future__ import annotations

import re

from flask import flash, request, url_for
from flask_babel import gettext as _

from engine import i18n
from engine.i18n import N_

from ..i18n import current_language

#: marshmallow's own messages (the JSON API's twin validation), as users of the HTML app read them.
_INPUT_MESSAGES = [
    (re.compile(r"^Missing data for required field\.$"), N_("This field is required.")),
    (re.compile(r"^Field may not be null\.$"), N_("This field is required.")),
    (re.compile(r"^Not a valid integer\.$"), N_("Must be a whole number.")),
    (re.compile(r"^Not a valid date\.$"), N_("Not a valid date; use YYYY-MM-DD.")),
    (re.compile(r"^Must be one of: .*"), N_("Choose one of the options.")),
    (re.compile(r"^(Shorter than minimum length|Length must be between) .*"), N_("This answer is too short.")),
    (re.compile(r"^Longer than maximum length .*"), N_("This answer is too long.")),
    (re.compile(r"^Must be greater than or equal to .*|^Must be less than or equal to .*"),
     N_("This number is out of range.")),
    (re.compile(r"^Unknown field\.$"), N_("Unknown field.")),
]


def arg_int(name, default=None):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if 0 <= value <= 2**31 - 1 else default


def page_args(page_size: int) -> tuple[int, int]:
    page = min(max(1, arg_int("page", 1) or 1), 100_000)
    return page_size, (page - 1) * page_size


def known(message: str) -> str | None:
    """The message in the user's language if the catalogue has it, else None (never a half-English page)."""
    language = current_language()
    if language == "en":
        return message
    if message not in i18n.translated_ids(language):
        return None
    return i18n.translations(language).gettext(message)


def flash_error(err, fallback: str | None = None) -> None:
    """Show an engine error in the user's language: its own message when the catalogue knows it, else the
    caller's (translated) fallback, else a general one."""
    message = getattr(err, "message", None) or ""
    text = known(message) if message else None
    flash(text or fallback or _("That did not work; nothing was changed."), "error")


def translated(fields: dict) -> dict:
    """Per-field messages (nested for lists) in the user's language."""
    out = {}
    for name, messages in fields.items():
        if isinstance(messages, dict):
            out[name] = translated(messages)
        elif isinstance(messages, list):
            out[name] = [_field_message(m) for m in messages]
        else:
            out[name] = messages
    return out


def _field_message(message) -> str:
    if not isinstance(message, str):
        return str(message)
    for pattern, msgid in _INPUT_MESSAGES:
        if pattern.match(message):
            return _(msgid)
    return known(message) or _("This answer is not valid.")


def safe_path(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somebody else's (``//host``, ``/\\host``, schemes)."""
    from urllib.parse import urlparse
    if (not target or urlparse(target).netloc or urlparse(target).scheme or not target.startswith("/")
            or target.startswith("//") or target.startswith("/\\")):
        return url_for("web.home")
    return target


def form_int(raw):
    """A number from a form field ("12", " №12 "); None when it is not one, which the service then refuses
    with its own per-field message."""
    try:
        return int(str(raw).strip().lstrip("#№"))
    except (TypeError, ValueError):
        return None
