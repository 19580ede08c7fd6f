"""Idempotency keys: a request retried with the same key is carried out once and answered the same way.

A client that sends a changing request and gets no answer (a timeout, a dropped connection, a server that died)
cannot know whether it was carried out. With a key it may simply send it again: the key, the request's
fingerprint and the answer are written in the very transaction of the work, so

- a crash before the commit leaves neither the work nor the key, and the retry does the work (once);
- a crash after the commit leaves both, and the retry gets the stored answer without doing anything;
- two copies sent at once: the second waits for the first (SQLite serialises writers; on PostgreSQL the second
  insert of the key waits for the first transaction) and then gets its answer.

Only successful answers are kept: a refused request changed nothing and may be tried again. Keys are per user
and expire after ``TTL``; a user's expired keys are removed when they use a new one, everyone's by the nightly
job (the answers hold personal data).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ..db.models import IdempotencyKey
from ..errors import Conflict, InvalidInput
from ..i18n import N_

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict | None
    replayed: bool = False  # True: the stored answer of an earlier request with this key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body (JSON compared by content, not spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not all("\x21" <= c <= "\x7e" for c in key):
        raise InvalidInput(N_("The Idempotency-Key header must be 1 to 200 visible ASCII characters, such as a UUID."))
    return key


class _KeyTaken(Exception):
    """A concurrent request committed the same key first."""


def run(engine, user_id: int, key: str, fingerprint_: str, work) -> Answer:
    """Carry out ``work()`` → ``(status, body)`` once for ``(user_id, key)``: in one transaction with the key, or
    not at all when the key is known (then the stored answer)."""
    check_key(key)
    now = engine.now()
    try:
        with engine.db.unit_of_work() as session:
            known = session.get(IdempotencyKey, (user_id, key), populate_existing=True)
            if known is not None and known.expires_at > now:
                return _replay(known, fingerprint_)
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                         IdempotencyKey.expires_at <= now))
            row = IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint_, created_at=now,
                                 expires_at=now + TTL)
            session.add(row)
            try:
                session.flush()  # PostgreSQL: a concurrent insert of the same key waits here for the other
            except IntegrityError:
                raise _KeyTaken() from None
            status, body = work()
            row.status, row.response = status, body
            return Answer(status, body)
    except _KeyTaken:
        pass
    with engine.db.read() as session:
        known = session.get(IdempotencyKey, (user_id, key))
        if known is None or known.status is None:
            raise Conflict(N_("A request with this Idempotency-Key is being carried out; try again in a moment."))
        return _replay(known, fingerprint_)


def purge_expired(engine) -> int:
    """Remove every expired key with its answer; returns how many."""
    with engine.db.write() as session:
        return session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= engine.now())).rowcount


def _replay(known: IdempotencyKey, fingerprint_: str) -> Answer:
    if known.fingerprint != fingerprint_:
        raise InvalidInput(N_("This Idempotency-Key was already used for a different request; "
                              "send a new key with a new request."))
    return Answer(known.status, known.response, replayed=True)
