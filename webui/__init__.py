"""The Flask adapter: the HTML app and the JSON API, twins over the engine's services."""
from __future__ import annotations

from flask import Flask

from engine.core import Engine


def create_app(engine: Engine | None = None) -> Flask:
    engine = engine or Engine()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=engine.settings.secret_key, MAX_CONTENT_LENGTH=engine.settings.max_request_bytes)
    app.json.sort_keys = False
    app.extensions["yordam"] = engine

    from . import errors, i18n
    from .api import bp as api_bp
    from .web import bp as web_bp
    errors.register(app)
    i18n.init(app)
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
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'")
        return response

    return app
