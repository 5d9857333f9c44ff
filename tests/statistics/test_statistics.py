"""Statistics checked against a small data set built by hand (figures worked out below)."""

from datetime import date

import pytest

from strapontin.reservations.models import Patron, ReservationState
from strapontin.reservations.statistics import establishment_statistics, statistics_csv_rows
from tests.conftest import paris
from tests.factories import ResourceFactory, reservation_in_march_2026

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def stats(place):
    other = ResourceFactory(area=place.area)
    patron = Patron.objects.create(email="p@example.org")
    s = ReservationState
    reservation_in_march_2026(place, patron, 2, 10, 12, s.CHECKED_IN)  # 2 h used
    reservation_in_march_2026(
        other, patron, 2, 14, 16, s.RELEASED, ended_at=paris(2026, 3, 2, 15, 0)
    )  # 1 h
    reservation_in_march_2026(place, patron, 3, 9, 10, s.NO_SHOW)
    reservation_in_march_2026(place, patron, 3, 10, 11, s.CANCELLED, cancel_cause="staff")
    reservation_in_march_2026(place, patron, 3, 11, 12, s.CANCELLED, cancel_cause="patron")
    reservation_in_march_2026(place, patron, 3, 12, 13, s.EXPIRED)
    reservation_in_march_2026(place, patron, 4, 10, 11, s.CHECKED_IN)  # outside the period
    return establishment_statistics(place.establishment, date(2026, 3, 2), date(2026, 3, 3))


def test_counts_and_rates_match_the_hand_built_data(stats, place):
    # Open 08:00–22:00: 2 days × 14 h × 2 places = 56 place-hours; 3 of them used.
    assert stats.open_place_hours == 56
    assert stats.used_place_hours == 3
    assert stats.occupancy == pytest.approx(3 / 56)
    assert (stats.reservations, stats.used, stats.no_shows) == (6, 2, 1)
    assert stats.no_show_rate == pytest.approx(1 / 3)
    assert dict(stats.cancellations) == {"no_show": 1, "staff": 1, "patron": 1, "expired": 1}
    assert stats.by_day == {date(2026, 3, 2): 2, date(2026, 3, 3): 4}
    assert stats.by_hour == {9: 1, 10: 2, 11: 1, 12: 1, 14: 1}
    assert stats.by_area == {place.area.name: 6}


def test_heat_map_spreads_used_hours_over_weekday_and_hour(stats):
    monday = stats.heat[0]
    assert (monday[10], monday[11], monday[14], monday[15]) == (1, 1, 1, 0)
    assert sum(map(sum, stats.heat)) == stats.used_place_hours


def test_csv_has_the_same_numbers(stats):
    rows = dict(tuple(r) for r in statistics_csv_rows(stats)[1:])
    assert rows["2026-03-03"] == "4"
    assert rows["occupancy"] == f"{3 / 56:.4f}"
    assert rows["cancelled_staff"] == "1"
