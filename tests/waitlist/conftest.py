"""Places and patrons for the waitlist tests, built through the services on the frozen Monday:
the place under test is taken on Tuesday 3 March 2026, 10:00–11:00 in Paris."""

from datetime import datetime, timedelta

import pytest
from django.test import TestCase

from strapontin.core.clock import now
from strapontin.reservations import services, waitlist
from strapontin.reservations.models import Patron, Reservation, WaitlistRequest
from strapontin.venues.models import Area, Resource
from tests.conftest import paris

TUESDAY_10 = paris(2026, 3, 3, 10, 0)


def book_confirmed(
    place: Resource, email: str, start: datetime = TUESDAY_10, minutes: int = 60
) -> Reservation:
    patron, _created = Patron.objects.get_or_create(email=email, defaults={"verified_at": now()})
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.reservation_create(
            resource=place,
            email=email,
            start=start,
            end=start + timedelta(minutes=minutes),
            known_patron_id=patron.pk,
        )


def ask(
    place: Resource,
    email: str,
    start: datetime = TUESDAY_10,
    minutes: int = 60,
    area: Area | None = None,
    features: tuple[str, ...] = (),
) -> WaitlistRequest | None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return waitlist.waitlist_request_create(
            establishment=place.establishment,
            email=email,
            start=start,
            end=start + timedelta(minutes=minutes),
            area=area,
            feature_codes=features,
        )


@pytest.fixture
def taken(clock, place: Resource) -> Reservation:
    return book_confirmed(place, "holder@example.org")
