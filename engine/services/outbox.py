"""Sending the e-mail outbox. Off by default (``YORDAM_EMAIL_OUTBOX``); with no ``YORDAM_SMTP_URL`` the outbox
is kept but nothing is sent. A transport is any callable ``(to, subject, body, key)``, so tests use a fake;
``key`` is the mail's stable key, the same on every attempt (SMTP makes the Message-ID of it).

Delivery is at least once: a sender that dies after the mail server accepted a mail but before marking it sent
sends it again later, with the same Message-ID, so the copy can be recognised and dropped."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, urlparse

from datetime import timedelta

from sqlalchemy import select

from .. import faults
from ..db.models import OutboxEmail

MAX_ATTEMPTS = 5


def smtp_transport(url: str):
    parts = urlparse(url)
    sender = parse_qs(parts.query).get("from", ["yordam@localhost"])[0]

    domain = sender.rpartition("@")[2] or "localhost"

    def send(to, subject, body, key):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, subject
        message["Message-ID"] = f"<{key}@{domain}>"
        message.set_content(body)
        with smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=30) as smtp:
            if parts.username:
                smtp.starttls()
                smtp.login(parts.username, parts.password or "")
            smtp.send_message(message)
    return send


def send_pending(engine, transport=None, limit: int = 100) -> tuple[int, int]:
    """Send what waits in the outbox. Each mail is claimed (``sending``) in a short transaction, sent with no
    transaction open (a slow mail server never holds the database), then marked in another. A sender that
    dies mid-way leaves ``sending`` rows that are retried after ``STALE_SENDING``."""
    if transport is None:
        if not engine.settings.smtp_url:
            return 0, 0
        transport = smtp_transport(engine.settings.smtp_url)
    sent = failed = 0
    for mail_id in _claim(engine, limit):
        with engine.db.read() as session:
            row = session.get(OutboxEmail, mail_id)
            to, subject, body = row.to_address, row.subject, row.body
            key = mail_key(row)
        try:
            transport(to, subject, body, key)
        except Exception as err:  # noqa: BLE001 - a mail server's refusal is kept and retried
            _finish(engine, mail_id, error=str(err))
            failed += 1
        else:
            faults.point("outbox_after_send", mail_id=mail_id)
            _finish(engine, mail_id)
            sent += 1
    return sent, failed


def mail_key(row: OutboxEmail) -> str:
    """The mail's key, the same on every attempt to send it: its row and the instant it was written."""
    return f"yordam.outbox.{row.id}.{row.created_at:%Y%m%d%H%M%S%f}"


STALE_SENDING = timedelta(minutes=15)


def _claim(engine, limit) -> list[int]:
    now = engine.now()
    with engine.db.write() as session:
        query = (select(OutboxEmail.id).where((OutboxEmail.status == "pending") | (
            (OutboxEmail.status == "sending") & (OutboxEmail.sent_at < now - STALE_SENDING)))
            .order_by(OutboxEmail.id).limit(limit))
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        for row in session.scalars(select(OutboxEmail).where(OutboxEmail.id.in_(ids))):
            row.status, row.sent_at, row.attempts = "sending", now, row.attempts + 1  # sent_at: claimed at
        return ids


def _finish(engine, mail_id, error: str | None = None) -> None:
    with engine.db.write() as session:
        row = session.get(OutboxEmail, mail_id)
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", engine.now(), None
        else:
            row.last_error = error[:500]
            row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
