"""Sending the e-mail outbox. Off by default (``YORDAM_EMAIL_OUTBOX``); with no ``YORDAM_SMTP_URL`` the outbox
is kept but nothing is sent. A transport is any callable ``(to, subject, body)``, so tests use a fake."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from ..db.models import OutboxEmail

MAX_ATTEMPTS = 5


def smtp_transport(url: str):
    parts = urlparse(url)
    sender = parse_qs(parts.query).get("from", ["yordam@localhost"])[0]

    def send(to, subject, body):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, subject
        message.set_content(body)
        with smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=30) as smtp:
            if parts.username:
                smtp.starttls()
                smtp.login(parts.username, parts.password or "")
            smtp.send_message(message)
    return send


def send_pending(engine, transport=None, limit: int = 100) -> tuple[int, int]:
    if transport is None:
        if not engine.settings.smtp_url:
            return 0, 0
        transport = smtp_transport(engine.settings.smtp_url)
    sent = failed = 0
    with engine.db.write() as session:
        rows = session.scalars(select(OutboxEmail).where(OutboxEmail.status == "pending")
                               .order_by(OutboxEmail.id).limit(limit).with_for_update(skip_locked=True)).all()
        for row in rows:
            row.attempts += 1
            try:
                transport(row.to_address, row.subject, row.body)
            except Exception as err:  # noqa: BLE001 - a mail server's refusal is kept and retried
                row.last_error = str(err)[:500]
                row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
                failed += 1
            else:
                row.status, row.sent_at = "sent", engine.now()
                sent += 1
    return sent, failed
