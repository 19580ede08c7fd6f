"""Liveness and readiness for a load balancer or an orchestrator; open to everyone and free of personal data.

``/healthz``: the process answers (no database touched, so a slow database never gets a worker restarted).
``/readyz``: this worker can serve: the database answers and its schema is the one this code expects (a worker
started before ``yordam db upgrade`` ran, or after a rollback of the code, is taken out of rotation).
"""
from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    engine = current_app.extensions["yordam"]
    checks, ready = {}, True
    try:
        with engine.db.engine.connect() as connection:
            current = _schema_revision(connection)
        checks["database"] = "ok"
        expected = _code_revision()
        checks["schema"] = "ok" if current == expected else f"at {current or 'nothing'}, the code expects {expected}"
        ready = current == expected
    except Exception as err:  # noqa: BLE001 - any failure to reach the database means "not ready", said plainly
        checks["database"] = f"unavailable: {type(err).__name__}"
        ready = False
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def _schema_revision(connection) -> str | None:
    from alembic.runtime.migration import MigrationContext
    return MigrationContext.configure(connection).get_current_revision()


@lru_cache(maxsize=1)
def _code_revision() -> str:
    """The newest migration this code ships (read once per process: the files do not change under it)."""
    from alembic.script import ScriptDirectory
    from engine.db.migrate import alembic_config
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
