"""The Flask adapter: the JSON API (and later the HTML UI) over the engine's services."""
from __future__ import annotations

from flask import Flask

from engine.core import Engine


def create_app(engine: Engine | None = None) -> Flask:
    engine = engine or Engine()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=engine.settings.secret_key, MAX_CONTENT_LENGTH=engine.settings.max_request_bytes)
    app.json.sort_keys = False
    app.extensions["yordam"] = engine

    from . import errors
    from .api import bp as api_bp
    errors.register(app)
    app.register_blueprint(api_bp)

    @app.get("/")
    def index():
        return {"name": "Yordam", "api": "/api/v1", "openapi": "/api/v1/openapi.json"}

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'")
        return response

    return app
