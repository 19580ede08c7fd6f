"""Engine errors become JSON errors {"error", "message", "fields"} with the fitting status; never a 500 for bad input."""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from engine.errors import (Conflict, DefinitionInvalid, EngineError, InvalidInput, NotAllowed, NotAuthenticated,
                           NotFound, ScriptFailed, TooManyAttempts)

log = logging.getLogger(__name__)

STATUS = {TooManyAttempts: 429, NotFound: 404, NotAllowed: 403, NotAuthenticated: 401, InvalidInput: 422, Conflict: 409,
          DefinitionInvalid: 422, ScriptFailed: 422}


def status_of(err: EngineError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, fields=None, **extra):
    body = {"error": code, "message": message, "fields": fields or {}}
    body.update(extra)
    return body


def _wants_html() -> bool:
    return not request.path.startswith("/api/")


def _page(status: int, message: str | None = None):
    """The HTML twin of an error: a page in the user's language, never a stack trace."""
    from flask_babel import gettext as _
    titles = {400: _("That did not work"), 401: _("Please sign in"), 403: _("Not allowed"),
              404: _("Not found"), 405: _("That did not work"), 409: _("Changed meanwhile"),
              413: _("Too large"), 422: _("Please check your answers"), 500: _("Something went wrong"),
              503: _("Try again in a moment")}
    texts = {403: _("Your role may not see or do this."), 404: _("There is nothing here, or you may not see it."),
             409: _("Someone changed this a moment ago. Reload the page and look again."),
             413: _("What you sent is too large."),
             500: _("Something went wrong on our side; nothing was changed."),
             503: busy_text()}
    from .web.util import known
    shown = texts.get(status) or (known(message) if message else None) or titles.get(status, titles[400])
    return render_template("error.html", title=titles.get(status, titles[400]), message=shown), status


def busy_text() -> str:
    from flask_babel import gettext as _
    return _("The database is busy or out of reach; nothing was changed. Try again in a moment.")


def register(app):
    @app.errorhandler(EngineError)
    def _engine_error(err: EngineError):
        if _wants_html():
            return _page(status_of(err), err.message)
        extra = {}
        if isinstance(err, DefinitionInvalid):
            extra["problems"] = [p.as_dict() for p in err.problems]
        if isinstance(err, ScriptFailed):
            extra["details"] = {k: v for k, v in err.details.items() if v is not None}
        return jsonify(error_body(err.code, err.message, err.fields, **extra)), status_of(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if _wants_html():
            return _page(err.code or 400, err.description)
        codes = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}
        response = jsonify(error_body(codes.get(err.code, "http_error"), err.description or err.name))
        return response, err.code

    @app.errorhandler(OperationalError)
    def _database_unavailable(err: OperationalError):
        """A lock waited for too long, a connection dropped, SQLite busy: the transaction rolled back, and the
        user may simply try again. Logged without the statement's parameters (they may hold personal data)."""
        log.warning("database busy or unreachable: %s", type(err.orig).__name__ if err.orig else type(err).__name__)
        response = _page(503) if _wants_html() else (jsonify(error_body("unavailable", busy_text())), 503)
        response = app.make_response(response)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unexpected error")
        if _wants_html():
            return _page(500)
        return jsonify(error_body("internal", "Something went wrong on our side; nothing was changed.")), 500
