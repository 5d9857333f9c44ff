"""E-mails through a real SMTP server (aiosmtpd, in this process): what a patron receives,
and what the outbox does while the server says "try later" (I4: nothing lost, nothing twice).
"""

import email
import email.policy
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from strapontin.core.clock import now
from strapontin.reservations import services
from strapontin.reservations.models import OutboxMessage, OutboxState, ReservationState
from strapontin.reservations.notifications import deliver_due
from strapontin.venues.models import Resource
from tests.conftest import paris

pytestmark = pytest.mark.usefixtures("clock")

TRY_LATER = "451 4.3.0 Try again later"
CONFIRM_PATH = re.compile(r"https?://[^/\s\"]+(/r/[^/\s\"]+/confirmer/)")


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it accepts and refuses every recipient while
    ``down`` (what a greylisting or overloaded server answers)."""

    down: bool = False
    refused: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.down:
            self.refused += 1
            return TRY_LATER
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(caplog: pytest.LogCaptureFixture) -> Iterator[SmtpServer]:
    caplog.set_level("WARNING", logger="mail.log")  # aiosmtpd tells every command at INFO
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller.port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer, settings: Settings) -> SmtpServer:
    """The default mailer sends to the test's SMTP server."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp_server.port, "timeout": 5},
        }
    }
    return smtp_server


def book(place: Resource, address: str, hour: int = 10) -> Any:
    return services.reservation_create(
        resource=place,
        email=address,
        start=paris(2026, 3, 3, hour, 0),
        end=paris(2026, 3, 3, hour + 1, 0),
    )


def parts(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_a_first_reservation_sends_its_confirmation_request_over_smtp(
    place: Resource, smtp: SmtpServer, client: Client
) -> None:
    reservation = book(place, "alice@example.org")
    assert reservation.state == ReservationState.PENDING

    assert deliver_due() == 1

    [message] = smtp.inbox.received
    assert smtp.inbox.recipients == ["alice@example.org"]
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == f"Confirmez votre réservation : {place.establishment.name}"
    assert message.get_content_type() == "multipart/alternative"
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert "Confirmer ma réservation" in body["text/plain"]
    assert "Annuler ma réservation" in body["text/plain"]
    assert "Annuler ma réservation" in body["text/html"]
    assert re.search(r">\s*Confirmer ma réservation\s*<", body["text/html"])
    text_link = CONFIRM_PATH.search(body["text/plain"])
    html_link = CONFIRM_PATH.search(body["text/html"])
    assert text_link
    assert html_link
    assert text_link.group(1) == html_link.group(1)
    # The link in the mail that arrived is the live one.
    opened = client.get(text_link.group(1), follow=True)
    assert opened.status_code == 200
    client.post(opened.redirect_chain[-1][0])
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED
    assert OutboxMessage.objects.get(cause="reservation.confirmation_requested").state == (
        OutboxState.SENT
    )


def test_while_the_server_says_try_later_mails_wait_then_leave_exactly_once(
    place: Resource,
    smtp: SmtpServer,
    clock: time_machine.Traveller,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    addresses = ["alice@example.org", "bob@example.org", "chloe@example.org"]
    smtp.inbox.down = True
    # The first attempt is the one after commit; the server's refusal never fails a booking.
    with django_capture_on_commit_callbacks(execute=True):
        for hour, address in zip((10, 12, 14), addresses, strict=True):
            book(place, address, hour)
    first_attempt = now()

    def outbox() -> list[OutboxMessage]:
        return list(OutboxMessage.objects.order_by("id"))

    assert smtp.inbox.refused == 3
    assert [(m.state, m.attempts) for m in outbox()] == [(OutboxState.PENDING, 1)] * 3
    assert {m.next_attempt_at for m in outbox()} == {first_attempt + timedelta(seconds=30)}
    assert all("451" in m.last_error and m.locked_until is None for m in outbox())

    clock.shift(timedelta(seconds=29))
    assert deliver_due() == 0
    assert smtp.inbox.refused == 3  # not due yet: the server was not even asked

    clock.shift(timedelta(seconds=2))
    assert deliver_due() == 0
    assert smtp.inbox.refused == 6
    assert [(m.state, m.attempts) for m in outbox()] == [(OutboxState.PENDING, 2)] * 3
    assert {m.next_attempt_at for m in outbox()} == {now() + timedelta(minutes=1)}

    smtp.inbox.down = False
    clock.shift(timedelta(seconds=59))
    assert deliver_due() == 0
    clock.shift(timedelta(seconds=2))
    assert deliver_due() == 3
    assert [(m.state, m.attempts, m.last_error) for m in outbox()] == [
        (OutboxState.SENT, 3, "")
    ] * 3

    clock.shift(timedelta(days=1))
    assert deliver_due() == 0
    assert sorted(smtp.inbox.recipients) == addresses
    assert smtp.inbox.refused == 6


# --- EMAIL_URL, read by the real settings module in a fresh interpreter ---------------------

SEND_WITH_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
from django.core.mail import EmailMessage, mailers
mailers.default.send_messages([EmailMessage("EMAIL_URL", "Bonjour", to=["it@example.org"])])
print(json.dumps({"mailers": settings.MAILERS, "demo_mailbox": settings.DEMO_MAILBOX}))
"""
READ_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({"mailers": settings.MAILERS, "demo_mailbox": settings.DEMO_MAILBOX}))
"""


def run_with_settings(code: str, email_url: str, var_dir: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "EMAIL_URL": email_url,
        "DJANGO_SETTINGS_MODULE": "strapontin.config.settings",
        "STRAPONTIN_VAR_DIR": str(var_dir),
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_email_url_makes_the_default_mailer_send_over_smtp(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    seen = run_with_settings(SEND_WITH_SETTINGS, f"smtp://127.0.0.1:{smtp_server.port}", tmp_path)

    mailer = seen["mailers"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"] == {
        "host": "127.0.0.1",
        "port": smtp_server.port,
        "username": "",
        "password": "",
        "use_ssl": False,
        "use_tls": False,
        "timeout": 20,
    }
    assert seen["demo_mailbox"] is False
    [message] = smtp_server.inbox.received
    assert smtp_server.inbox.recipients == ["it@example.org"]
    assert message["Subject"] == "EMAIL_URL"


@pytest.mark.parametrize(
    ("email_url", "expected"),
    [
        (
            "smtps://desk%40bu.example.org:p%2Fss%20word@mail.example.org",
            {
                "host": "mail.example.org",
                "port": 465,
                "username": "desk@bu.example.org",
                "password": "p/ss word",
                "use_ssl": True,
                "use_tls": False,
            },
        ),
        (
            "smtp+tls://relay.example.org:587",
            {
                "host": "relay.example.org",
                "port": 587,
                "username": "",
                "password": "",
                "use_ssl": False,
                "use_tls": True,
            },
        ),
    ],
)
def test_email_url_carries_credentials_and_tls(
    email_url: str, expected: dict[str, Any], tmp_path: Path
) -> None:
    options = run_with_settings(READ_SETTINGS, email_url, tmp_path)["mailers"]["default"]["OPTIONS"]
    assert {key: options[key] for key in expected} == expected
