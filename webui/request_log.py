"""One structured log line per request (logger ``yordam.request``), and a request id that ties a user's report,
the response and the log together (``X-Request-ID``: taken from a proxy when it is a plain token, else made)."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import g, request

log = logging.getLogger("yordam.request")

_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def init(app) -> None:
    app.before_request(_start)
    app.after_request(_finish)


def _start():
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _TOKEN.fullmatch(given) else uuid.uuid4().hex


def _finish(response):
    request_id = g.get("request_id") or uuid.uuid4().hex  # a request refused before _start ran (too large, say)
    response.headers["X-Request-ID"] = request_id
    if request.path.startswith("/static/") or not log.isEnabledFor(logging.INFO):
        return response  # the files of the page are not events worth a line each; nobody reads the line
    started = g.get("request_started")
    actor = g.get("actor")
    # The path only: a query string can hold a searched name, and logs are no place for personal data.
    log.info("%s %s %s", request.method, request.path, response.status_code,
             extra={"request_id": request_id, "method": request.method, "path": request.path,
                    "status": response.status_code, "user_id": actor.id if actor else None,
                    "ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
    return response
