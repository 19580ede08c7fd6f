"""The ``Idempotency-Key`` header of the JSON API's changing requests (engine side: ``services/idempotency``).

A route marked ``@idempotent`` runs as usual without the header. With it, the work and the key are committed
together, and a retry with the same key gets the first answer again, marked ``Idempotent-Replayed: true``;
the same key with another request is refused (422).
"""
from __future__ import annotations

import functools
import json

from flask import current_app, g, request

from engine.services import idempotency

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def idempotent(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)

        def work():
            return _status_and_body(view(*args, **kwargs))

        answer = idempotency.run(current_app.extensions["yordam"], g.actor.id, key,
                                 idempotency.fingerprint(request.method, request.path, request.get_data()), work)
        response = current_app.response_class(
            current_app.json.dumps(answer.body) if answer.body is not None else b"", status=answer.status,
            mimetype="application/json")
        if answer.replayed:
            response.headers[REPLAYED] = "true"
        return response
    wrapper.idempotent = True  # the OpenAPI document lists the header for these (a test checks both agree)
    return wrapper


def _status_and_body(result):
    """A route's return value (a dict, or a dict and a status) as a status and a JSON-ready body."""
    status = 200
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, (str, bytes)) and not result:
        return status, None
    return status, json.loads(current_app.json.dumps(result))
