"""An establishment's hours, closures and policies are read once per process, under its rules
version: every change gives a new version, and a booking reads it again under the place's
lock, so that a closure declared meanwhile still wins."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from strapontin.core.errors import DomainError
from strapontin.reservations import services
from strapontin.venues.models import BookingPolicy, OpeningHours, Resource, ScheduleException
from strapontin.venues.policy import effective_policy
from strapontin.venues.schedule import opening_hours_of
from tests.conftest import paris

pytestmark = pytest.mark.usefixtures("clock")

TUESDAY = date(2026, 3, 3)


def book(place: Resource, email: str, hour: int) -> None:
    services.reservation_create(
        resource=place,
        email=email,
        start=paris(2026, 3, 3, hour, 0),
        end=paris(2026, 3, 3, hour + 1, 0),
    )


def as_read_before(place: Resource) -> Resource:
    """The place and its establishment as a request read them, before a change."""
    return Resource.objects.select_related("area", "establishment").get(pk=place.pk)


def test_the_rules_are_read_once_until_they_change(place):
    establishment = place.establishment
    opening_hours_of(establishment, TUESDAY, place.area)
    effective_policy(establishment, place.area)
    with CaptureQueriesContext(connection) as again:
        opening_hours_of(establishment, TUESDAY, place.area)
        effective_policy(establishment, place.area)
    assert len(again.captured_queries) == 0

    BookingPolicy.objects.create(establishment=establishment, max_per_day=1)

    assert effective_policy(establishment, place.area).max_per_day == 1


def test_a_closure_declared_after_the_rules_were_read_still_refuses_the_booking(place):
    book(place, "first@example.org", 10)  # the day's rules are now kept by this process
    request_copy = as_read_before(place)
    ScheduleException.objects.create(
        establishment=place.establishment, date=TUESDAY, is_closed=True, reason="Inondation"
    )

    with pytest.raises(DomainError) as refused:
        book(request_copy, "second@example.org", 14)

    assert refused.value.code == "outside_opening_hours"


def test_a_policy_changed_after_the_rules_were_read_applies_to_the_booking(place):
    book(place, "alice@example.org", 10)
    request_copy = as_read_before(place)
    BookingPolicy.objects.create(establishment=place.establishment, max_per_day=1)

    with pytest.raises(DomainError) as refused:
        book(request_copy, "alice@example.org", 14)

    assert refused.value.code == "limit_reached"


def test_removed_opening_hours_close_the_day_for_the_next_reader(place):
    assert opening_hours_of(place.establishment, TUESDAY).is_open
    for hours in OpeningHours.objects.filter(establishment=place.establishment, weekday=1):
        hours.delete()

    assert not opening_hours_of(as_read_before(place).establishment, TUESDAY).is_open
    with pytest.raises(DomainError) as refused:
        book(as_read_before(place), "alice@example.org", 10)
    assert refused.value.code == "outside_opening_hours"


def test_a_new_establishment_never_reads_the_rules_of_an_older_one(place):
    """Versions are random: an id reused after a rollback (SQLite) meets no old entry."""
    establishment = place.establishment
    opening_hours_of(establishment, TUESDAY)
    establishment.rules_version = "another-version"
    OpeningHours.objects.filter(establishment=establishment).delete()  # as if another one

    assert not opening_hours_of(establishment, TUESDAY).is_open
    assert opening_hours_of(establishment, TUESDAY + timedelta(days=7)).openings == ()
