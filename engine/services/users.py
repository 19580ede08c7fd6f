"""Users, passwords (argon2) and API tokens."""
from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from ..db.models import ApiToken, LoginAttempt, OrgUnit, Task, User
from ..errors import InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from .actors import Actor
from .audit import record
from .inputs import text_problem
from .views import iso

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


def login(engine, username: str, password: str, origin: str | None = None, *, kind: str = "api",
          user_agent: str | None = None) -> tuple[str, Actor]:
    """Check the password; return a new session token ("web") or bearer token ("api") and the actor.
    Raises ``NotAuthenticated``, or ``TooManyAttempts`` after repeated failures."""
    username = (username or "")[:64]
    if text_problem(username) or text_problem(password or ""):
        raise NotAuthenticated("Wrong username or password.")  # no database keeps such text: nothing to look up
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
        session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now, last_seen_at=now,
                             expires_at=now + timedelta(hours=engine.settings.token_ttl_hours),
                             kind=kind, origin=(origin or None) and origin[:64],
                             user_agent=(user_agent or None) and user_agent[:200]))
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
    """The actor behind a session or bearer token that is neither revoked, expired nor (for a browser) idle."""
    now = engine.now()
    with engine.db.read() as session:
        row = session.get(ApiToken, _digest(token or ""))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise NotAuthenticated("The token is unknown or expired; log in again.")
        if _idle_ended(engine, row, now):
            raise NotAuthenticated("The session ended after a while without use; sign in again.")
        user = session.scalar(select(User).where(User.id == row.user_id).options(selectinload(User.mahallas)))
        if not user.is_active:
            raise NotAuthenticated("The account is deactivated.")
        seen = row.last_seen_at
        actor = Actor.of(user)
        if user.role == "admin":
            from .breakglass import granted_case_ids
            actor = dataclasses.replace(actor, granted_case_ids=granted_case_ids(session, user.id, now))
    if seen is None or now - seen >= _SEEN_GRANULARITY:
        _touch(engine, row.token_hash, now)
    return actor


#: "Last seen" is written at most this often per session, so reading pages does not mean writing rows.
_SEEN_GRANULARITY = timedelta(minutes=1)


def _idle_ended(engine, row: ApiToken, now) -> bool:
    if row.kind != "web":
        return False  # bearer tokens of integrations live to their absolute expiry, unless revoked
    return (row.last_seen_at or row.created_at) + timedelta(minutes=engine.settings.session_idle_minutes) <= now


def _touch(engine, token_hash: str, now) -> None:
    with engine.db.write() as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == token_hash).values(last_seen_at=now))


def public_session_id(token_hash: str) -> str:
    """A session's name in lists and URLs: a prefix of the token's digest, which reveals nothing of the token."""
    return token_hash[:16]


def list_sessions(engine, actor: Actor, current_token: str | None = None) -> list[dict]:
    """The actor's own sessions that still work, newest first, the current one marked."""
    now = engine.now()
    current = _digest(current_token) if current_token else None
    with engine.db.read() as session:
        rows = session.scalars(select(ApiToken).where(
            ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
            .order_by(ApiToken.created_at.desc())).all()
        return [{"id": public_session_id(r.token_hash), "kind": r.kind, "created_at": iso(r.created_at),
                 "last_seen_at": iso(r.last_seen_at or r.created_at), "expires_at": iso(r.expires_at),
                 "origin": r.origin,
                 "user_agent": r.user_agent, "current": r.token_hash == current}
                for r in rows if not _idle_ended(engine, r, now)]


def end_session(engine, actor: Actor, session_id: str) -> None:
    """Revoke one of the actor's own sessions by its public id. Another user's session is simply not found."""
    if not session_id or len(session_id) != 16 or not all(c in "0123456789abcdef" for c in session_id):
        raise NotFound("There is no such session of yours.")
    with engine.db.write() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash.startswith(session_id),
                                                    ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None)))
        if row is None:
            raise NotFound("There is no such session of yours.")
        row.revoked_at = engine.now()
        record(session, engine.now(), "user.session_ended", actor_id=actor.id, session_id=session_id)


def end_other_sessions(engine, actor: Actor, current_token: str) -> int:
    """Revoke every session of the actor but the current one; return how many ended."""
    keep = _digest(current_token or "")
    with engine.db.write() as session:
        ended = session.execute(update(ApiToken).where(
            ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None), ApiToken.token_hash != keep)
            .values(revoked_at=engine.now())).rowcount
        record(session, engine.now(), "user.sessions_ended", actor_id=actor.id, count=ended)
        return ended


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
