"""The forecast: per open hour of today and tomorrow, the places in use on average in that hour
on the same weekday over the last six weeks, from validated presence; checked against a data
set built by hand, with its arithmetic written out."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from strapontin.reservations.forecast import forecast_rows, occupancy_forecast
from strapontin.reservations.models import CancelCause, Patron, Reservation, ReservationState
from strapontin.venues.models import Resource
from strapontin.venues.schedule import opening_hours_of
from tests.conftest import paris
from tests.factories import ResourceFactory

pytestmark = pytest.mark.usefixtures("clock")

S = ReservationState
MONDAY = paris(2026, 3, 2, 0, 0).date()  # the frozen clock's day
TUESDAY = MONDAY + timedelta(days=1)


def past(
    place: Resource,
    start: datetime,
    end: datetime,
    state: str = S.CHECKED_IN,
    *,
    ended_at: datetime | None = None,
    cause: str = "",
    break_ends_at: datetime | None = None,
) -> Reservation:
    """A reservation of the past as it was stored when it ended."""
    patron, _created = Patron.objects.get_or_create(email=f"p{start:%m%d%H%M}@example.org")
    return Reservation.objects.create(
        establishment=place.establishment,
        resource=place,
        patron=patron,
        start=start,
        end=end,
        state=state,
        created_at=start - timedelta(days=1),
        confirmed_at=start - timedelta(days=1),
        checkin_opens_at=start - timedelta(minutes=15),
        checkin_closes_at=start + timedelta(minutes=30),
        checked_in_at=start if state != S.NO_SHOW else None,
        ended_at=ended_at,
        cancel_cause=cause,
        break_ends_at=break_ends_at,
    )


@pytest.fixture
def history(place):
    """Two places; Mondays and a Tuesday of the last weeks."""
    other = ResourceFactory(area=place.area)
    # Monday 23 February: A 10:00–12:00; B 10:30–11:00, left at 10:45.
    past(place, paris(2026, 2, 23, 10, 0), paris(2026, 2, 23, 12, 0))
    past(
        other,
        paris(2026, 2, 23, 10, 30),
        paris(2026, 2, 23, 11, 0),
        S.RELEASED,
        ended_at=paris(2026, 2, 23, 10, 45),
    )
    # Monday 16 February: A 10:00–11:00.
    past(place, paris(2026, 2, 16, 10, 0), paris(2026, 2, 16, 11, 0))
    # Monday 9 February: closed, nobody came (left out of the average, not counted as 0).
    # Monday 2 February: only a no-show, which is no presence.
    past(place, paris(2026, 2, 2, 10, 0), paris(2026, 2, 2, 11, 0), S.NO_SHOW)
    # Monday 19 January, six weeks ago: A 14:00–15:00.
    past(place, paris(2026, 1, 19, 14, 0), paris(2026, 1, 19, 15, 0))
    # Monday 12 January, seven weeks ago: too old.
    past(place, paris(2026, 1, 12, 10, 0), paris(2026, 1, 12, 11, 0))
    # Another establishment's Monday: not ours.
    past(ResourceFactory(), paris(2026, 2, 23, 10, 0), paris(2026, 2, 23, 11, 0))
    # Tuesday 24 February: A from 09:00, on a break until 09:40 and not back (swept at 09:55).
    past(
        place,
        paris(2026, 2, 24, 9, 0),
        paris(2026, 2, 24, 11, 0),
        S.RELEASED,
        ended_at=paris(2026, 2, 24, 9, 55),
        cause=CancelCause.BREAK_OVER,
        break_ends_at=paris(2026, 2, 24, 9, 40),
    )
    return place


def forecasts_of(place):
    establishment = place.establishment
    days = [opening_hours_of(establishment, day) for day in (MONDAY, TUESDAY)]
    return occupancy_forecast(establishment, days, places=2)


def test_the_forecast_matches_the_hand_built_history(history):
    monday, tuesday = forecasts_of(history)
    # Mondays with presence: 23 Feb, 16 Feb, 19 Jan.
    assert monday.days_counted == 3
    by_hour = {h.start.hour: h for h in monday.hours}
    assert sorted(by_hour) == list(range(8, 22))  # open 08:00–22:00
    # 10:00: (1 + 0.25) on 23 Feb, 1 on 16 Feb, 0 on 19 Jan → 2.25 / 3.
    assert by_hour[10].expected == pytest.approx(0.75)
    assert (by_hour[10].expected_places, by_hour[10].percent) == (1, 38)
    # 11:00: 1 on 23 Feb → 1 / 3; 14:00: 1 on 19 Jan → 1 / 3.
    assert by_hour[11].expected == pytest.approx(1 / 3)
    assert by_hour[14].expected == pytest.approx(1 / 3)
    assert by_hour[9].expected == by_hour[12].expected == 0
    # Tuesdays with presence: 24 Feb only; used until the break's end, 09:40.
    assert tuesday.days_counted == 1
    tuesday_by_hour = {h.start.hour: h for h in tuesday.hours}
    assert tuesday_by_hour[9].expected == pytest.approx(40 / 60)
    assert tuesday_by_hour[10].expected == 0


def test_without_history_there_is_no_forecast(place):
    monday, tuesday = forecasts_of(place)
    assert monday.hours == tuesday.hours == []
    assert forecast_rows([monday, tuesday]) == []


def test_a_closed_day_has_no_hours_and_the_table_says_so(history):
    establishment = history.establishment
    establishment.opening_hours.filter(weekday=TUESDAY.weekday()).delete()
    monday, tuesday = forecasts_of(history)
    assert tuesday.hours == []
    rows = forecast_rows([monday, tuesday])
    assert [row.hour for row in rows] == list(range(8, 22))
    assert all(row.cells[0] is not None and row.cells[1] is None for row in rows)


def test_the_forecast_costs_one_query_however_long_the_history(history, django_assert_num_queries):
    establishment = history.establishment
    days = [opening_hours_of(establishment, day) for day in (MONDAY, TUESDAY)]
    with django_assert_num_queries(1):
        occupancy_forecast(establishment, days, places=2)
    for week in range(1, 7):
        for hour in (9, 13, 17):
            start = paris(2026, 3, 2, hour, 0) - timedelta(weeks=week)
            past(ResourceFactory(area=history.area), start, start + timedelta(hours=2))
    with django_assert_num_queries(1):
        occupancy_forecast(establishment, days, places=2)


def test_the_establishment_page_shows_it_next_to_the_live_figure(history):
    client = Client()
    url = f"/{history.establishment.slug}/"
    page = client.get(url, headers={"accept-language": "fr"}).content.decode()
    assert "Affluence prévue" in page
    assert '<table class="forecast"' in page
    assert '<th scope="row">10:00</th>' in page
    assert "1 place (38\u00a0%)" in page  # French typography, and not colour alone
    assert "D'habitude à cette heure-ci" in page  # 09:00 now: 0 places usually


def test_the_page_costs_the_same_queries_with_more_history(history):
    client = Client()
    url = f"/{history.establishment.slug}/"
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for week in range(1, 7):
        start = paris(2026, 3, 2, 15, 0) - timedelta(weeks=week)
        past(ResourceFactory(area=history.area), start, start + timedelta(hours=1))
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_live_feed_carries_the_forecast(history):
    figures = Client().get(f"/{history.establishment.slug}/affluence.json").json()
    assert figures["on_break"] == 0
    today, tomorrow = figures["forecast"]["days"]
    assert (today["date"], tomorrow["date"]) == ("2026-03-02", "2026-03-03")
    ten = next(h for h in today["hours"] if h["start"].startswith("2026-03-02T10:00"))
    assert (ten["expected"], ten["percent"]) == (0.8, 38)
    assert figures["forecast"]["weeks"] == 6
