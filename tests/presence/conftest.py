"""Reservations ready for presence tests, built through the services on the frozen Monday.

The default reservation is Tuesday 3 March 2026, 10:00–11:00 in Paris: its check-in window
opens at 09:45 and closes at 10:30 (defaults 15 and 30 minutes)."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from strapontin.core.clock import now
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues.models import Resource
from tests.conftest import paris

TUESDAY_10 = paris(2026, 3, 3, 10, 0)
SECOND = timedelta(seconds=1)


def at(moment: datetime) -> time_machine.travel:
    """Stop the clock at ``moment`` (nested inside the ``clock`` fixture's travel)."""
    return time_machine.travel(moment, tick=False)


def book(
    place: Resource,
    email: str = "alice@example.org",
    start: datetime = TUESDAY_10,
    minutes: int = 60,
    known_patron_id: int | None = None,
) -> Reservation:
    """Book through the service; its e-mail leaves at once (tests assert on later ones)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.reservation_create(
            resource=place,
            email=email,
            start=start,
            end=start + timedelta(minutes=minutes),
            known_patron_id=known_patron_id,
        )


def book_confirmed(
    place: Resource,
    email: str = "alice@example.org",
    start: datetime = TUESDAY_10,
    minutes: int = 60,
) -> Reservation:
    """A verified address books from a browser it proved: confirmed at once, no link to click."""
    patron, _created = Patron.objects.get_or_create(email=email, defaults={"verified_at": now()})
    reservation = book(place, email, start, minutes, known_patron_id=patron.pk)
    assert reservation.state == ReservationState.CONFIRMED
    return reservation


@pytest.fixture
def confirmed(clock: time_machine.Traveller, place: Resource) -> Reservation:
    reservation = book_confirmed(place)
    mail.outbox.clear()
    return reservation


@pytest.fixture
def pending(clock: time_machine.Traveller, place: Resource) -> Reservation:
    reservation = book(place)
    assert reservation.state == ReservationState.PENDING
    mail.outbox.clear()
    return reservation


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Callable) -> Callable:
    """``with capture(): …`` runs the after-commit callbacks, so e-mails reach mail.outbox."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def reload(reservation: Reservation) -> Reservation:
    return Reservation.objects.get(pk=reservation.pk)
