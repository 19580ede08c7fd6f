"""gunicorn settings for Yordam's web workers: ``gunicorn -c deploy/gunicorn.conf.py webui.wsgi:app``.

Every value can be set by the environment, so one file serves a laptop and a country (docs/deploy.md).
"""
import os

bind = os.environ.get("YORDAM_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let a worker answer while another request waits on the database; the case lock and the row versions
# keep two threads of one worker exactly as safe as two workers.
worker_class = "gthread"
threads = int(os.environ.get("YORDAM_THREADS", "4"))
# A completion is milliseconds; a request still running after this long is stuck, and its worker is replaced.
timeout = int(os.environ.get("YORDAM_WORKER_TIMEOUT", "60"))
graceful_timeout = 30
# Each worker opens its own database pool after the fork (a pool shared across a fork mixes up connections).
preload_app = False
# Yordam logs every request itself, as structured lines (engine/logs.py); gunicorn's own log goes to stderr.
accesslog = None
errorlog = "-"
# Behind a reverse proxy that terminates TLS, set FORWARDED_ALLOW_IPS to its address (gunicorn reads it) so
# that secure cookies and HSTS see the original scheme.
max_requests = int(os.environ.get("YORDAM_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
