"""Structured logs: one JSON object per line on standard error, for a log collector to read across many
processes (``YORDAM_LOG_FORMAT=json``), or plain lines for a person at a terminal (the default).

Every line carries the time (UTC), level, logger, process id and message, plus the fields a caller passes in
``extra=`` (a request's method, path, status and duration; a tick's counts). Log lines never carry personal
data: requests are logged by path without their query string, users by id.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

#: Attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field of the line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "pid": record.process,
                "message": record.getMessage()}
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-11-23 09:00:00,123 INFO yordam.request [pid 42] GET /tasks 200 12.3 ms``: the extra fields after the
    message, so that a person sees the same facts the JSON carries."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        return text + ("" if not extra else " " + " ".join(f"{k}={v}" for k, v in extra.items()))


_HANDLER_NAME = "yordam"


class _StandardError(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each line (a test harness or a daemon may swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(log_format: str | None = None, level: str | None = None) -> None:
    """Send the process's logs to standard error in the chosen format (``YORDAM_LOG_FORMAT``: text or json;
    ``YORDAM_LOG_LEVEL``: INFO by default). Calling it again replaces Yordam's handler, never adds a second."""
    log_format = (log_format or os.environ.get("YORDAM_LOG_FORMAT") or "text").strip().lower()
    level = (level or os.environ.get("YORDAM_LOG_LEVEL") or "INFO").strip().upper()
    if log_format not in {"text", "json"}:
        raise ValueError(f"YORDAM_LOG_FORMAT must be text or json, not {log_format!r}")
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"YORDAM_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = _StandardError()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Yordam logs every request itself (yordam.request); the development server's own line would say it twice.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # SpiffWorkflow's INFO lines carry each task's data, that is a person's answers: never into a log. The
    # ticker's own line per tick says what fired; APScheduler's two lines a second would bury it.
    for noisy in ("spiff", "SpiffWorkflow", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
