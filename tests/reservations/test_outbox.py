"""The outbox: an e-mail claimed by a worker that died is sent again after a timeout, once."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from strapontin.reservations import notifications, services
from strapontin.reservations.models import (
    AccessToken,
    OutboxMessage,
    OutboxState,
    Reservation,
    TokenPurpose,
)
from tests.conftest import MONDAY_MORNING, paris

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def queued(place) -> OutboxMessage:
    services.reservation_create(
        resource=place,
        email="alice@example.org",
        start=paris(2026, 3, 3, 10, 0),
        end=paris(2026, 3, 3, 11, 0),
    )
    return OutboxMessage.objects.get()


def test_a_message_stuck_in_sending_is_retried_after_the_timeout(queued):
    # A worker claims the message, then dies before sending it.
    (claimed,) = notifications._claim(limit=10)
    assert claimed.state == OutboxState.SENDING
    assert notifications.deliver_due() == 0  # still locked by the dead worker
    later = MONDAY_MORNING + timedelta(minutes=5, seconds=1)  # the default delay
    with time_machine.travel(later, tick=False):
        assert notifications.deliver_due() == 1
        assert notifications.deliver_due() == 0
    queued.refresh_from_db()
    assert (queued.state, queued.attempts) == (OutboxState.SENT, 2)
    assert len(mail.outbox) == 1


def test_the_delay_before_taking_back_a_dead_workers_message_is_a_setting(queued, settings):
    settings.OUTBOX_STALE_LOCK_SECONDS = 2
    notifications._claim(limit=10)
    with time_machine.travel(MONDAY_MORNING + timedelta(seconds=1), tick=False):
        assert notifications.deliver_due() == 0
    with time_machine.travel(MONDAY_MORNING + timedelta(seconds=2), tick=False):
        assert notifications.deliver_due() == 1
    assert len(mail.outbox) == 1


def test_a_message_sent_again_keeps_its_message_id(queued, settings):
    """A worker killed after the server's "250" but before marking the message sent sends it
    again; the copy carries the same Message-ID, which mail clients fold into the first."""
    settings.BASE_URL = "https://bu.example.org"
    assert notifications.deliver_due() == 1
    OutboxMessage.objects.update(state=OutboxState.SENDING, locked_until=MONDAY_MORNING)
    assert notifications.deliver_due() == 1
    first, again = mail.outbox
    assert first.extra_headers["Message-ID"] == again.extra_headers["Message-ID"]
    assert first.extra_headers["Message-ID"] == notifications.message_id(queued)
    assert first.extra_headers["Message-ID"].endswith("@bu.example.org>")
    assert first.message()["Message-ID"] == first.extra_headers["Message-ID"]


def test_a_message_that_keeps_failing_ends_failed_not_lost(queued, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.reservations.test_outbox.BrokenBackend"}}
    moment = MONDAY_MORNING
    for _ in range(notifications.MAX_ATTEMPTS):
        with time_machine.travel(moment, tick=False):
            notifications.deliver_due()
        moment += timedelta(hours=2)
    queued.refresh_from_db()
    assert queued.state == OutboxState.FAILED
    assert queued.attempts == notifications.MAX_ATTEMPTS
    assert "refused" in queued.last_error


def test_backoff_grows_and_is_capped():
    delays = [notifications.backoff(n).total_seconds() for n in range(1, 12)]
    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 3600


class BrokenBackend:
    """A mail server that refuses everything, as a mailer Django can build from settings."""

    def __init__(self, **kwargs: object) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send_messages(self, messages: list) -> int:
        raise ConnectionRefusedError("refused")


class LosesTheDatabaseAfterSending:
    """A mail server that accepts the message, while the database goes away at that very
    moment (really: the connection is closed and pointed at a port nobody listens on)."""

    sent: list[str] = []
    saved: dict = {}

    def __init__(self, **kwargs: object) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send_messages(self, messages: list) -> int:
        from django.db import connection

        self.sent.extend(m.extra_headers["Message-ID"] for m in messages)
        type(self).saved = dict(connection.settings_dict)
        connection.close()
        if connection.vendor == "postgresql":
            connection.settings_dict["PORT"] = "1"
        else:
            connection.settings_dict["NAME"] = "/nonexistent-directory/x.sqlite3"
        return len(messages)


@pytest.mark.django_db(transaction=True)
def test_a_message_sent_while_the_database_went_away_is_not_sent_again(queued, settings):
    from django.db import DatabaseError, connection

    settings.MAILERS = {
        "default": {"BACKEND": "tests.reservations.test_outbox.LosesTheDatabaseAfterSending"}
    }
    settings.OUTBOX_STALE_LOCK_SECONDS = 0
    LosesTheDatabaseAfterSending.sent = []
    # (With transaction=True, the booking's own commit already delivered it: once more.)
    OutboxMessage.objects.update(state=OutboxState.PENDING)
    with pytest.raises(DatabaseError):
        notifications.deliver_due()
    connection.close()
    connection.settings_dict.update(LosesTheDatabaseAfterSending.saved)  # the database is back

    # The lock has expired at once, yet the message is not sent again: it is marked sent.
    assert notifications.deliver_due() == 0
    queued.refresh_from_db()
    assert queued.state == OutboxState.SENT
    assert len(LosesTheDatabaseAfterSending.sent) == 1


def test_a_bookings_email_is_written_by_the_worker_that_sends_it(queued):
    """The booking's transaction queues the e-mail; its words, links and tokens come when it
    is sent (the request that books does not render templates)."""
    assert (queued.writer, queued.subject, queued.body_text) == ("confirmation_request", "", "")
    assert not AccessToken.objects.filter(purpose__in=[TokenPurpose.CONFIRM, TokenPurpose.CANCEL])

    assert notifications.deliver_due() == 1

    (sent,) = mail.outbox
    assert "/confirmer/" in sent.body
    assert "/annuler/" in sent.body
    assert queued.reservation.reference in sent.body
    assert AccessToken.objects.filter(purpose=TokenPurpose.CONFIRM).count() == 1
    queued.refresh_from_db()
    assert queued.writer == ""
    assert queued.subject == sent.subject
    assert "/r/-/" in queued.body_text  # the stored copy keeps no working link


def test_a_message_written_by_a_worker_that_died_goes_out_with_the_same_links(queued):
    (claimed,) = notifications._claim(limit=10)
    assert notifications._write(claimed)  # written, then the worker dies before sending
    written = OutboxMessage.objects.get().body_text
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=5, seconds=1), tick=False):
        assert notifications.deliver_due() == 1
    (sent,) = mail.outbox
    assert sent.body == written
    assert AccessToken.objects.filter(purpose=TokenPurpose.CONFIRM).count() == 1


def test_a_message_left_to_write_without_its_reservation_fails_at_once(queued):
    Reservation.objects.all().delete()  # the outbox keeps the row (SET_NULL)

    assert notifications.deliver_due() == 0

    queued.refresh_from_db()
    assert (queued.state, queued.last_error) == (OutboxState.FAILED, "nothing to write it from")
    assert mail.outbox == []
    assert notifications.deliver_due() == 0  # not retried
