"""Every setting the engine reads from the environment, in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .errors import EngineError

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    #: SQLAlchemy URL; SQLite file in ./instance by default, PostgreSQL in production.
    database_url: str = "sqlite:///" + str(ROOT / "instance" / "yordam.sqlite")
    #: Folders holding the shipped default process (BPMN, DMN) and its forms.
    workflows_dir: Path = ROOT / "workflows"
    forms_dir: Path = ROOT / "forms"
    #: "production" refuses demo data and time travel.
    mode: str = "development"
    #: Time travel for demos and acceptance tests only (DESIGN §5).
    allow_time_travel: bool = False
    start_time: datetime | None = None
    #: Bearer tokens of the JSON API live this long.
    token_ttl_hours: int = 12
    #: A browser session unused this long ends (the absolute limit is ``token_ttl_hours``).
    session_idle_minutes: int = 30
    #: Largest request body accepted, in bytes.
    max_request_bytes: int = 2 * 1024 * 1024
    secret_key: str = field(default_factory=lambda: os.urandom(32).hex())
    secret_key_given: bool = False  # a random key is fine on a laptop, never in production (sessions would die)
    #: E-mail copies of notifications go to an outbox table, sent by ``yordam outbox send``. Off by default.
    email_outbox: bool = False
    smtp_url: str | None = None  # smtp://user:password@host:port?from=address ; unset: the outbox is only kept
    #: The scheduler inside ``yordam serve`` (the single-machine default); off when a separate
    #: ``yordam scheduler`` process runs.
    embedded_scheduler: bool = True
    #: How long a request waits for a case another request is changing before it answers "busy, try again".
    lock_timeout_seconds: float = 30
    #: How often the ticker looks for due timers, in seconds (an escalation appears within about this long).
    tick_seconds: float = 1.0

    @classmethod
    def from_env(cls) -> "Settings":
        s = cls()
        s.database_url = os.environ.get("DATABASE_URL", s.database_url)
        s.mode = os.environ.get("YORDAM_MODE", s.mode)
        s.allow_time_travel = _flag("YORDAM_ALLOW_TIME_TRAVEL") and s.mode != "production"
        s.secret_key = os.environ.get("YORDAM_SECRET_KEY", s.secret_key)
        s.secret_key_given = "YORDAM_SECRET_KEY" in os.environ
        s.email_outbox = _flag("YORDAM_EMAIL_OUTBOX")
        s.smtp_url = os.environ.get("YORDAM_SMTP_URL") or None
        s.embedded_scheduler = os.environ.get("YORDAM_EMBEDDED_SCHEDULER", "1").strip() != "0"
        s.session_idle_minutes = int(os.environ.get("YORDAM_SESSION_IDLE_MINUTES", s.session_idle_minutes))
        s.tick_seconds = float(os.environ.get("YORDAM_TICK_SECONDS", s.tick_seconds))
        s.lock_timeout_seconds = float(os.environ.get("YORDAM_LOCK_TIMEOUT_SECONDS", s.lock_timeout_seconds))
        now = os.environ.get("YORDAM_NOW")
        if now:
            if not s.allow_time_travel:
                raise EngineError("YORDAM_NOW is set but time travel is off: set YORDAM_ALLOW_TIME_TRAVEL=1 "
                                  "(never in production).")
            s.start_time = parse_instant(now)
        return s

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    def production_problems(self) -> list[str]:
        """What makes this configuration unfit for production (empty when fine or not in production)."""
        if not self.is_production:
            return []
        problems = []
        if not self.secret_key_given or len(self.secret_key) < 32:
            problems.append("set YORDAM_SECRET_KEY to a random value of at least 32 characters")
        if self.allow_time_travel or self.start_time is not None:
            problems.append("time travel is on (YORDAM_ALLOW_TIME_TRAVEL / YORDAM_NOW)")
        return problems


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; it must carry a zone (Z or an offset)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise EngineError(f"Not an ISO 8601 instant: {text!r} (example: 2026-12-01T09:00:00+05:00)") from None
    if value.tzinfo is None:
        raise EngineError(f"The instant {text!r} has no time zone; add Z or an offset such as +05:00")
    return value
