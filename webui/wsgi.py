"""The WSGI entry point for several web workers: ``gunicorn 'webui.wsgi:app'``.

Configuration comes from the environment (``DATABASE_URL``, ``YORDAM_SECRET_KEY``, ``YORDAM_MODE`` …, see
docs/deploy.md). The scheduler never runs inside a web worker here: ``yordam scheduler`` processes fire the timers,
so a web worker restarted by gunicorn never drops a tick halfway.
"""
from __future__ import annotations

from engine.core import Engine
from webui import create_app

app = create_app(Engine())
