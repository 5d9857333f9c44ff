"""Reminders: one e-mail N minutes before the start (policy, default 60), saying how to
validate presence; never twice, never for a reservation booked inside that lead, never when
N is 0, never for a cancelled reservation, never late."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from strapontin.reservations import services
from strapontin.reservations.models import OutboxMessage
from strapontin.reservations.presence import reservation_send_reminder
from strapontin.reservations.sweeps import sweep_reminders
from strapontin.venues.models import BookingPolicy
from tests.conftest import paris
from tests.presence.conftest import SECOND, TUESDAY_10, at, book, book_confirmed, reload

pytestmark = pytest.mark.usefixtures("clock")


def reminders():
    return OutboxMessage.objects.filter(cause="reservation.reminder")


def test_the_reminder_leaves_sixty_minutes_before_the_start_and_once(confirmed, capture):
    mail.outbox.clear()
    with at(TUESDAY_10 - timedelta(minutes=60) - SECOND):
        assert sweep_reminders() == 0
    with at(TUESDAY_10 - timedelta(minutes=60)), capture():
        assert sweep_reminders() == 1
        assert sweep_reminders() == 0
    with at(TUESDAY_10 - timedelta(minutes=10)):
        assert sweep_reminders() == 0
        assert reservation_send_reminder(reservation=confirmed) is False
    assert reload(confirmed).reminder_sent_at == TUESDAY_10 - timedelta(minutes=60)
    assert reminders().filter(reservation=confirmed).count() == 1
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]


def test_the_reminder_says_how_and_when_to_validate_presence(confirmed, capture):
    with at(TUESDAY_10 - timedelta(minutes=30)), capture():
        sweep_reminders()
    (message,) = mail.outbox
    body = message.body
    assert settings.BASE_URL + reverse("public:validate") in body
    assert "09:45" in body  # the window opens
    assert "10:30" in body  # and closes
    assert "QR" in body
    assert confirmed.resource.label in body


def test_the_lead_follows_the_policy(place):
    BookingPolicy.objects.create(
        establishment=place.establishment, area=place.area, reminder_minutes_before=30
    )
    reservation = book_confirmed(place)
    with at(TUESDAY_10 - timedelta(minutes=30) - SECOND):
        assert sweep_reminders() == 0
    with at(TUESDAY_10 - timedelta(minutes=30)):
        assert sweep_reminders() == 1
    assert reminders().filter(reservation=reservation).count() == 1


def test_no_reminder_for_a_reservation_booked_inside_the_lead(place):
    # Booked at 09:00 for 10:00: the reminder would have been due when it was booked.
    inside = book_confirmed(place, start=paris(2026, 3, 2, 10, 0))
    for minute in (0, 15, 59):
        with at(paris(2026, 3, 2, 9, minute)):
            assert sweep_reminders() == 0
    assert reload(inside).reminder_sent_at is None


def test_a_reservation_booked_just_outside_the_lead_is_reminded(place):
    outside = book_confirmed(place, start=paris(2026, 3, 2, 10, 30))  # due at 09:30
    with at(paris(2026, 3, 2, 9, 30)):
        assert sweep_reminders() == 1
    assert reminders().filter(reservation=outside).count() == 1


def test_no_reminder_when_the_lead_is_zero(place):
    BookingPolicy.objects.create(establishment=place.establishment, reminder_minutes_before=0)
    reservation = book_confirmed(place)
    for moment in (TUESDAY_10 - timedelta(minutes=60), TUESDAY_10 - SECOND):
        with at(moment):
            assert sweep_reminders() == 0
            assert reservation_send_reminder(reservation=reservation) is False
    assert not reminders().exists()


def test_no_reminder_for_a_cancelled_reservation(confirmed):
    services.reservation_cancel_by_patron(reservation=confirmed)
    with at(TUESDAY_10 - timedelta(minutes=60)):
        assert sweep_reminders() == 0
        assert reservation_send_reminder(reservation=confirmed) is False
    assert not reminders().exists()


def test_no_reminder_for_an_unconfirmed_reservation(place):
    pending = book(place, start=paris(2026, 3, 2, 10, 30))  # reminder due at 09:30
    with at(paris(2026, 3, 2, 9, 30)):
        assert sweep_reminders() == 0
        assert reservation_send_reminder(reservation=pending) is False
    assert not reminders().exists()


def test_no_late_reminder_once_the_reservation_has_started(confirmed):
    with at(TUESDAY_10):
        assert sweep_reminders() == 0
        assert reservation_send_reminder(reservation=confirmed) is False
    assert not reminders().exists()
