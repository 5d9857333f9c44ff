"""An API call costs the same number of SQL queries whatever the number of places and
reservations (issue 7): the cost of a request must follow the request, not the library."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from strapontin.core.clock import now
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues.models import Resource
from tests.api.conftest import TUESDAY_10, Api
from tests.factories import AreaFactory, ResourceFactory


def verified(email: str) -> Patron:
    return Patron.objects.create(email=email, verified_at=now() - timedelta(days=30))


def history(place: Resource, patron: Patron, days: int) -> None:
    """One finished reservation a day for ``days`` days before the frozen Monday."""
    for back in range(1, days + 1):
        start = TUESDAY_10 - timedelta(days=back + 1)
        Reservation.objects.create(
            establishment=place.establishment,
            resource=place,
            patron=patron,
            start=start,
            end=start + timedelta(hours=1),
            state=ReservationState.CHECKED_IN,
            created_at=start - timedelta(days=1),
            checkin_opens_at=start - timedelta(minutes=15),
            checkin_closes_at=start + timedelta(minutes=30),
            checked_in_at=start,
        )


def many_places_and_reservations(place: Resource) -> None:
    """Another floor, thirty more places (some with features), and a busy Tuesday."""
    other_floor = AreaFactory(establishment=place.establishment)
    crowd = [verified(f"crowd{i}@example.org") for i in range(6)]
    for i in range(30):
        extra = ResourceFactory(area=other_floor if i % 2 else place.area)
        if i % 3 == 0:
            extra.features.create(code=f"feature-{i}", name_fr=f"Option {i}", name_en=f"Extra {i}")
        for k, patron in enumerate(crowd[: 1 + i % 3]):
            start = TUESDAY_10 + timedelta(hours=k * 2)
            Reservation.objects.create(
                establishment=extra.establishment,
                resource=extra,
                patron=patron,
                start=start,
                end=start + timedelta(hours=1),
                state=ReservationState.CONFIRMED,
                created_at=now(),
                confirmed_at=now(),
                checkin_opens_at=start - timedelta(minutes=15),
                checkin_closes_at=start + timedelta(minutes=30),
            )


def queries_of(call) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        answer = call()
    assert answer.status_code in {200, 201}, answer.json()
    return len(captured.captured_queries)


def test_availability_costs_the_same_queries_for_one_place_or_many(api: Api, place):
    url = f"/establishments/{place.establishment.slug}/availability"
    day = {"date": "2026-03-03"}
    api.get(url, **day)  # warm
    one = queries_of(lambda: api.get(url, **day))
    many_places_and_reservations(place)
    history(place, verified("regular@example.org"), 40)
    assert queries_of(lambda: api.get(url, **day)) == one
    assert queries_of(lambda: api.get(url, per_page=200, **day)) == one
    assert queries_of(lambda: api.get(url, available_only=True, **day)) == one
    answer = api.get(url, per_page=200, **day).json()
    assert answer["total_places"] == 31
    assert len(answer["places"]) == 31


def test_a_booking_costs_the_same_queries_whatever_the_history_of_the_place_and_patron(
    api: Api, place
):
    verified("first@example.org")
    api.book(place, email="first@example.org", start=TUESDAY_10 + timedelta(hours=6))  # warm
    quiet = ResourceFactory(area=place.area)
    verified("second@example.org")
    few = queries_of(lambda: api.book(quiet, email="second@example.org"))

    busy = ResourceFactory(area=place.area)
    regular = verified("regular@example.org")
    history(busy, regular, 40)
    many_places_and_reservations(place)
    booked = queries_of(lambda: api.book(busy, email="regular@example.org"))
    assert booked == few
