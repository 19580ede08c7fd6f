"""Users, passwords (argon2) and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from ..db.models import ApiToken, LoginAttempt, OrgUnit, Task, User
from ..errors import InvalidInput, NotAuthenticated, TooManyAttempts
from .actors import Actor
from .audit import record

ROLES = ("social_worker", "supervisor", "center_head", "specialist", "methodologist", "admin")
LANGUAGES = ("uz", "uz-Cyrl", "ru", "kk", "ky", "en")
_hasher = PasswordHasher()
# Verifying against a fixed hash when the user is unknown keeps the answer time the same (no user probing).
_DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(engine, *, username, full_name, password, role, district_id=None, mahalla_ids=(),
                language="uz", actor_id=None) -> User:
    problems = {}
    if role not in ROLES:
        problems["role"] = [f"Must be one of: {', '.join(ROLES)}."]
    if language not in LANGUAGES:
        problems["language"] = [f"Must be one of: {', '.join(LANGUAGES)}."]
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        problems["username"] = ["Use 1–64 letters, digits, dots or underscores."]
    if len(password or "") < 10 or (password or "").lower() == (username or "").lower():
        problems["password"] = ["Use at least 10 characters, not the username."]
    if problems:
        raise InvalidInput("The user is not valid.", fields=problems)
    with engine.db.write() as session:
        if session.scalar(select(User.id).where(User.username == username)):
            raise InvalidInput("The user exists.", fields={"username": ["This username is taken."]})
        mahallas = [session.get(OrgUnit, m) for m in mahalla_ids]
        if any(m is None or m.kind != "mahalla" or m.parent_id != district_id for m in mahallas):
            raise InvalidInput("Unknown mahalla.", fields={"mahalla_ids": ["Mahallas must be of the user's district."]})
        user = User(username=username, full_name=full_name, password_hash=hash_password(password), role=role,
                    district_id=district_id, language=language, is_active=True, created_at=engine.now())
        user.mahallas = mahallas
        session.add(user)
        session.flush()
        record(session, engine.now(), "user.created", actor_id=actor_id, user_id=user.id, role=role)
        return user


def deactivate_user(engine, user_id: int, *, actor_id=None) -> int:
    """Deactivate a user; their open tasks go to the district supervisors' queue at once. Returns how many."""
    with engine.db.write() as session:
        user = session.get(User, user_id)
        if user is None:
            raise InvalidInput("Unknown user.", fields={"user": ["There is no such user."]})
        user.is_active = False
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=engine.now()))
        from .progress import lock_case
        for case_id in sorted(set(session.scalars(select(Task.case_id).where(Task.assignee_id == user.id,
                                                                             Task.state == "open")))):
            lock_case(session, case_id)  # the one lock order: the case, then its tasks
        tasks = session.scalars(select(Task).where(Task.assignee_id == user.id, Task.state == "open")
                                .execution_options(populate_existing=True)).all()
        for task in tasks:
            task.assignee_id, task.role = None, "supervisor"
            record(session, engine.now(), "task.assigned", actor_id=actor_id, case_id=task.case_id,
                   task_id=task.id, from_user_id=user.id, to_user_id=None, to_queue="supervisor",
                   reason="the assignee was deactivated")
        record(session, engine.now(), "user.deactivated", actor_id=actor_id, user_id=user.id,
               tasks_moved=len(tasks))
        return len(tasks)


#: Sign-in throttling: this many failures in the window lock a username (whether it exists or not, so the answer
#: never tells which names exist), and many more lock an address that tries name after name.
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ORIGIN = 30
THROTTLE_WINDOW = timedelta(minutes=15)


def login(engine, username: str, password: str, origin: str | None = None) -> tuple[str, Actor]:
    """Check the password; return a new bearer token and the actor. Raises ``NotAuthenticated``."""
    username = (username or "")[:64]
    with engine.db.read() as session:
        if _throttled(session, engine.now(), username, origin):
            raise TooManyAttempts("Too many failed sign-ins; wait 15 minutes and try again.")
        user = session.scalar(select(User).where(User.username == username))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
        except (VerificationError, InvalidHashError):
            user = None
    if user is None or not user.is_active:
        _remember_failure(engine, username, origin)
        raise NotAuthenticated("Wrong username or password.")
    with engine.db.write() as session:
        user = session.get(User, user.id)
        session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
        token = secrets.token_urlsafe(32)
        now = engine.now()
        session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now,
                             expires_at=now + timedelta(hours=engine.settings.token_ttl_hours)))
        record(session, now, "user.logged_in", actor_id=user.id)
        return token, Actor.of(user)


def _throttled(session, now, username, origin) -> bool:
    since = now - THROTTLE_WINDOW
    by_name = session.scalar(select(func.count()).select_from(LoginAttempt)
                             .where(LoginAttempt.username == username, LoginAttempt.at > since))
    by_origin = session.scalar(select(func.count()).select_from(LoginAttempt)
                               .where(LoginAttempt.origin == origin, LoginAttempt.at > since)) if origin else 0
    return by_name >= MAX_FAILURES_PER_USERNAME or by_origin >= MAX_FAILURES_PER_ORIGIN


def _remember_failure(engine, username, origin) -> None:
    """Recorded in its own transaction: the sign-in's own transaction is rolled back by the refusal."""
    with engine.db.write() as session:
        session.add(LoginAttempt(username=username, origin=origin, at=engine.now()))
        record(session, engine.now(), "user.login_failed", username=username, origin=origin)


def authenticate(engine, token: str) -> Actor:
    with engine.db.read() as session:
        row = session.get(ApiToken, _digest(token or ""))
        if row is None or row.revoked_at is not None or row.expires_at <= engine.now():
            raise NotAuthenticated("The token is unknown or expired; log in again.")
        user = session.scalar(select(User).where(User.id == row.user_id).options(selectinload(User.mahallas)))
        if not user.is_active:
            raise NotAuthenticated("The account is deactivated.")
        return Actor.of(user)


def logout(engine, token: str) -> None:
    with engine.db.write() as session:
        row = session.get(ApiToken, _digest(token or ""))
        if row is not None and row.revoked_at is None:
            row.revoked_at = engine.now()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_language(engine, actor: Actor, language: str) -> Actor:
    """The user's own choice of UI language (also used for notifications and e-mails)."""
    from ..i18n import LANGUAGES
    if language not in LANGUAGES:
        raise InvalidInput("Unknown language.", fields={"language": ["Choose one of: " + ", ".join(LANGUAGES)]})
    with engine.db.write() as session:
        user = session.get(User, actor.id)
        previous, user.language = user.language, language
        record(session, engine.now(), "user.language_changed", actor_id=actor.id, before=previous, after=language)
        return Actor.of(user)


def demo_accounts_active(engine) -> list[str]:
    """Usernames of the demo accounts that are active and still open with the demo password."""
    from .demo import PASSWORD, USERS
    found = []
    with engine.db.read() as session:
        for user in session.scalars(select(User).where(User.username.in_([u[0] for u in USERS]),
                                                       User.is_active.is_(True))):
            try:
                _hasher.verify(user.password_hash, PASSWORD)
                found.append(user.username)
            except (VerificationError, InvalidHashError):
                pass
    return found
