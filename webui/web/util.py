"""Small helpers shared by the HTML views."""
from __future__ import annotations

from flask import flash, request
from flask_babel import gettext as _


def arg_int(name, default=None):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value >= 0 else default


def page_args(page_size: int) -> tuple[int, int]:
    page = max(1, arg_int("page", 1) or 1)
    return page_size, (page - 1) * page_size


def flash_error(err, fallback: str | None = None) -> None:
    """Show an engine error to the user in their language; a message without a translation shows the
    fallback (or the original text) rather than nothing."""
    message = getattr(err, "message", None) or fallback or ""
    text = _(message) if message else ""
    if fallback and text == message and fallback != message:
        text = fallback
    flash(text, "error")


def translated(fields: dict) -> dict:
    return {name: [_(m) for m in messages] if isinstance(messages, list) else messages
            for name, messages in fields.items()}
