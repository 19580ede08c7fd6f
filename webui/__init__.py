"""The Flask adapter: the HTML app and the JSON API, twins over the engine's services."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from engine.core import Engine


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route is a row id: a whole number from 1 to 2**31 - 1. Any other number is simply
    not found (404), rather than reaching a database that cannot hold it."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(engine: Engine | None = None) -> Flask:
    engine = engine or Engine()
    refuse_unsafe_production(engine)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=engine.settings.secret_key, MAX_CONTENT_LENGTH=engine.settings.max_request_bytes,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=engine.settings.is_production, DEBUG=False)
    app.json.sort_keys = False
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.extensions["yordam"] = engine

    from . import errors, i18n, request_log
    from .api import bp as api_bp
    from .health import bp as health_bp
    from .web import bp as web_bp
    errors.register(app)
    i18n.init(app)
    request_log.init(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)

    @app.context_processor
    def _unread():
        from flask import g
        from engine.services.notifications import unread_count
        actor = g.get("actor")
        return {"unread_count": unread_count(engine, actor) if actor else 0}

    @app.after_request
    def _security_headers(response):
        from flask import request
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                                                      "base-uri 'none'; object-src 'none'")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")  # pages and answers carry personal data
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    return app


def refuse_unsafe_production(engine: Engine) -> None:
    """Production mode does not start with a throw-away secret key, time travel, or the demo accounts open."""
    from engine.errors import EngineError
    from engine.services.users import demo_accounts_active
    problems = engine.settings.production_problems()
    if engine.settings.is_production:
        demo = demo_accounts_active(engine)
        if demo:
            problems.append("demo accounts are active with the demo password: " + ", ".join(demo))
    if problems:
        raise EngineError("Refusing to start in production mode: " + "; ".join(problems) + ".")
