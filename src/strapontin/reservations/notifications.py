"""E-mails: written to the outbox inside the transaction that causes them (I4), sent after
commit by the worker, with retries and backoff, so no e-mail is lost when SMTP is down.

The worker looks at the outbox every second: a booking queues no task of its own (one INSERT
and one commit fewer on the busiest path), unless ``OUTBOX_SEND_AFTER_COMMIT`` asks for it.
The e-mails of a booking are written by the worker that sends them (``writer``): rendering
three templates, a calendar file and a link token is most of what an e-mail costs, and the
request that books has better things to do."""

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import DatabaseError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from strapontin.core.clock import now
from strapontin.core.rows import insert, insert_later
from strapontin.reservations.models import OutboxMessage, OutboxState, Reservation
from strapontin.reservations.tokens import without_link_tokens

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12


def sending_timeout() -> timedelta:
    """How long a claimed message stays a worker's: one that died while sending (SIGKILL,
    power cut) leaves it "sending", and another worker takes it back after this delay."""
    return timedelta(seconds=settings.OUTBOX_STALE_LOCK_SECONDS)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str
    mimetype: str


def absolute_url(path: str) -> str:
    return f"{settings.BASE_URL}{path}"


@dataclass(frozen=True)
class Written:
    """An e-mail's subject, bodies and attachments."""

    subject: str
    body_text: str
    body_html: str
    attachments: tuple[Attachment, ...] = ()


def render(
    *,
    template: str,
    context: dict[str, Any],
    language: str,
    reservation: Reservation | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> Written:
    """``emails/<template>.*`` in the patron's language and the establishment's zone."""
    tz = reservation.establishment.tz if reservation else timezone.get_default_timezone()
    with translation.override(language), timezone.override(tz):
        context = {"base_url": settings.BASE_URL, **context}
        subject = render_to_string(f"emails/{template}.subject.txt", context).strip()
        body_text = render_to_string(f"emails/{template}.txt", context)
        body_html = render_to_string(f"emails/{template}.html", context)
    return Written(" ".join(subject.split()), body_text, body_html, attachments)


def queue_email(
    *,
    cause: str,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str,
    reservation: Reservation | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> OutboxMessage:
    """Render ``emails/<template>.*`` in the patron's language and zone, and queue it."""
    written = render(
        template=template,
        context=context,
        language=language,
        reservation=reservation,
        attachments=attachments,
    )
    moment = now()
    message = insert(
        OutboxMessage(
            cause=cause,
            reservation=reservation,
            to=to,
            subject=written.subject,
            body_text=written.body_text,
            body_html=written.body_html,
            attachments=[a.__dict__ for a in written.attachments],
            created_at=moment,
            next_attempt_at=moment,
        )
    )
    if settings.OUTBOX_SEND_AFTER_COMMIT:
        transaction.on_commit(_deliver_soon)
    return message


#: Who writes the e-mails left to the worker, by name: ``reservations.emails`` registers its
#: own (imported by ``deliver_due``), each taking the reservation, read afresh.
WRITERS: dict[str, Callable[[Reservation], Written]] = {}


def queue_written_at_sending(*, cause: str, reservation: Reservation, writer: str) -> OutboxMessage:
    """Queue an e-mail about ``reservation`` that ``WRITERS[writer]`` writes when a worker
    sends it. Still in the transaction of its cause (I4): the row is the promise; its words,
    links and attachments come from the reservation, as they would have at once."""
    moment = now()
    message = insert_later(
        OutboxMessage(
            cause=cause,
            reservation=reservation,
            to=reservation.patron.email,
            subject="",
            body_text="",
            writer=writer,
            created_at=moment,
            next_attempt_at=moment,
        )
    )
    if settings.OUTBOX_SEND_AFTER_COMMIT:
        transaction.on_commit(_deliver_soon)
    return message


def _write(message: OutboxMessage) -> bool:
    """Write a claimed message left to the worker, and keep what it wrote: a worker that dies
    before sending leaves it written, and the next one sends the same words and links."""
    importlib.import_module("strapontin.reservations.emails")  # registers the writers
    reservation = (
        Reservation.objects.select_related("patron", "resource__area", "establishment")
        .filter(pk=message.reservation_id or 0)
        .first()
    )
    if reservation is None or message.writer not in WRITERS:
        OutboxMessage.objects.filter(pk=message.pk).update(
            state=OutboxState.FAILED, locked_until=None, last_error="nothing to write it from"
        )
        return False
    with transaction.atomic():
        written = WRITERS[message.writer](reservation)
        message.subject = written.subject
        message.body_text = written.body_text
        message.body_html = written.body_html
        message.attachments = [a.__dict__ for a in written.attachments]
        message.writer = ""
        message.save(update_fields=["subject", "body_text", "body_html", "attachments", "writer"])
    return True


def _deliver_soon() -> None:
    from strapontin.reservations.tasks import deliver_outbox

    try:
        deliver_outbox.enqueue()
    except Exception:  # the worker's periodic pass delivers it anyway
        logger.exception("Could not enqueue outbox delivery")


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _claim(limit: int) -> list[OutboxMessage]:
    """Take due messages for this worker; SKIP LOCKED lets several workers share the outbox."""
    moment = now()
    with transaction.atomic():
        due = OutboxMessage.objects.filter(
            state=OutboxState.PENDING, next_attempt_at__lte=moment
        ) | OutboxMessage.objects.filter(state=OutboxState.SENDING, locked_until__lte=moment)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        messages = list(due.order_by("next_attempt_at", "id")[:limit])
        for message in messages:
            message.state = OutboxState.SENDING
            message.attempts += 1
            message.locked_until = moment + sending_timeout()
        OutboxMessage.objects.bulk_update(messages, ["state", "attempts", "locked_until"])
    return messages


def message_id(message: OutboxMessage) -> str:
    """The same Message-ID on every attempt: a worker killed between the SMTP server's "250"
    and marking the message sent sends it again, and mail clients fold such a copy into the
    first."""
    domain = urlsplit(settings.BASE_URL).hostname or "strapontin.localhost"
    return f"<outbox.{message.pk}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def _to_email(message: OutboxMessage) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message_id(message)},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for attachment in message.attachments:
        email.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return email


def _record_failure(message: OutboxMessage, error: Exception) -> None:
    logger.warning("E-mail %s to %s failed: %s", message.pk, message.to, error)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxState.FAILED if message.attempts >= MAX_ATTEMPTS else OutboxState.PENDING,
        next_attempt_at=now() + backoff(message.attempts),
        locked_until=None,
        last_error=str(error)[:2000],
    )


#: Messages this process sent but could not mark sent (the database went away right then):
#: marked first thing on the next pass, before the stale lock would let them go out again.
_sent_unrecorded: dict[int, OutboxMessage] = {}


def _mark_sent(message: OutboxMessage) -> None:
    """Sent: the stored copy keeps no working link token."""
    # Matched on the address too: one erased meanwhile keeps its anonymised copy.
    OutboxMessage.objects.filter(pk=message.pk, to=message.to).update(
        state=OutboxState.SENT,
        sent_at=now(),
        locked_until=None,
        last_error="",
        body_text=without_link_tokens(message.body_text),
        body_html=without_link_tokens(message.body_html),
    )


def _record_sent_unrecorded() -> None:
    for pk in sorted(_sent_unrecorded):
        _mark_sent(_sent_unrecorded.pop(pk))


def deliver_due(limit: int = 50) -> int:
    """Send what is due; a failure puts the message back with a growing delay."""
    _record_sent_unrecorded()
    messages = _claim(limit)
    if not messages:
        return 0
    mail = mailers.default
    try:
        mail.open()
    except Exception as error:
        for message in messages:
            _record_failure(message, error)
        return 0
    sent = 0
    try:
        for message in messages:
            try:
                if message.writer and not _write(message):
                    continue
                mail.send_messages([_to_email(message)])
            except Exception as error:
                _record_failure(message, error)
                continue
            try:
                _mark_sent(message)
            except DatabaseError:
                _sent_unrecorded[message.pk] = message
                raise
            sent += 1
    finally:
        try:
            mail.close()
        except Exception:  # a broken connection at QUIT does not undo what was sent
            logger.warning("Closing the mail connection failed", exc_info=True)
    return sent
