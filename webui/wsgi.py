"""The WSGI entry point for several web workers: ``gunicorn -c deploy/gunicorn.conf.py webui.wsgi:app``.

Configuration comes from the environment (``DATABASE_URL``, ``YORDAM_SECRET_KEY``, ``YORDAM_MODE`` …, see
docs/deploy.md). The scheduler never runs inside a web worker here: ``yordam scheduler`` processes fire the timers,
so a web worker restarted by gunicorn never drops a tick halfway.
"""
from __future__ import annotations

import os

from engine import logs
from engine.core import Engine
from webui import create_app

logs.configure()
app = create_app(Engine())

# Behind N reverse proxies (nginx in front of gunicorn), trust that many X-Forwarded-For/-Proto hops, so that the
# sign-in throttle and the audit see the user's address, not the proxy's.
_hops = int(os.environ.get("YORDAM_PROXY_HOPS", "0"))
if _hops:
    from werkzeug.middleware.proxy_fix import ProxyFix
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_hops, x_proto=_hops, x_host=_hops)
