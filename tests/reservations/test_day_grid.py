"""The day's availability as the grid and the API compute it (``selectors.day_grid``): which
starts are free and selectable, and which places the filters keep."""

import random
import re
from datetime import date, time, timedelta

import pytest

from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.reservations.selectors import GridFilters, chosen, day_grid
from strapontin.venues.models import Feature, OpeningHours, Resource
from tests.conftest import paris
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory

TUESDAY = date(2026, 3, 3)

pytestmark = pytest.mark.usefixtures("clock")


def _hold(place: Resource, start_hour: int, end_hour: int, **fields: object) -> Reservation:
    start, end = paris(2026, 3, 3, start_hour, 0), paris(2026, 3, 3, end_hour, 0)
    values: dict[str, object] = {
        "state": ReservationState.CONFIRMED,
        "checkin_opens_at": start,
        "checkin_closes_at": start + timedelta(minutes=15),
        **fields,
    }
    return Reservation.objects.create(
        establishment=place.establishment,
        resource=place,
        patron=Patron.objects.create(email=f"p{Reservation.objects.count()}@example.org"),
        start=start,
        end=end,
        created_at=paris(2026, 3, 2, 8, 0),
        **values,
    )


def _starts(row_cells: list, flag: str) -> list[str]:
    return [f"{cell.start:%H:%M}" for cell in row_cells if getattr(cell, flag)]


def test_chosen_picks_the_values_of_the_slots_set():
    assert chosen("abcd", 0b1010) == ["b", "d"]
    assert chosen("abcd", 0) == []
    values = list(range(70))
    for slots in [random.getrandbits(70) for _ in range(50)] + [(1 << 70) - 1, 1 << 69]:
        assert chosen(values, slots) == [v for v in values if slots >> v & 1]


def test_a_start_is_selectable_only_when_its_whole_duration_fits_in_one_opening(db):
    establishment = EstablishmentFactory(open_every_day=False)
    OpeningHours.objects.bulk_create(
        OpeningHours(establishment=establishment, weekday=1, opens=opens, closes=closes)
        for opens, closes in [(time(9), time(12)), (time(14), time(16))]
    )
    place = ResourceFactory(area=AreaFactory(establishment=establishment))
    _hold(place, 10, 11)
    grid = day_grid(establishment, TUESDAY, GridFilters(duration_minutes=90))
    (row,) = grid.rows
    free = ["09:00", "09:30", "11:00", "11:30", "14:00", "14:30", "15:00", "15:30"]
    assert _starts(row.cells, "free") == free
    # 09:30 + 90 minutes runs into the reservation, 11:00 into the lunch closure, 15:00 past
    # closing time.
    assert _starts(row.cells, "selectable") == ["14:00", "14:30"]
    assert row.free_count == 2
    assert [f"{c.start:%H:%M}" for c in row.cells][:7] == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "14:00",
    ]
    assert all(c.end - c.start == timedelta(minutes=30) for c in row.cells)


def test_started_slots_are_free_but_never_selectable(db, clock):
    place = ResourceFactory()
    clock.move_to(paris(2026, 3, 3, 10, 10))
    (row,) = day_grid(place.establishment, TUESDAY, GridFilters()).rows
    assert "10:00" in _starts(row.cells, "free")
    assert _starts(row.cells, "past")[-1] == "10:00"
    assert _starts(row.cells, "selectable")[0] == "10:30"


def test_a_reservation_without_its_deadline_still_holds_its_place(db):
    place = ResourceFactory()
    _hold(place, 10, 12, state=ReservationState.PENDING, confirmation_deadline=None)
    (row,) = day_grid(place.establishment, TUESDAY, GridFilters()).rows
    assert "10:00" not in _starts(row.cells, "free")
    assert "11:30" not in _starts(row.cells, "free")
    assert "12:00" in _starts(row.cells, "selectable")


def test_an_overdue_reservation_frees_its_place_at_once(db, clock):
    place = ResourceFactory()
    _hold(place, 10, 12, state=ReservationState.PENDING, confirmation_deadline=paris(2026, 3, 2, 8))
    (row,) = day_grid(place.establishment, TUESDAY, GridFilters()).rows
    assert "10:00" in _starts(row.cells, "selectable")


def test_the_filters_keep_the_places_of_the_area_the_kind_and_every_feature(db):
    establishment = EstablishmentFactory()
    first, second = (AreaFactory(establishment=establishment, position=n) for n in (1, 2))
    power = Feature.objects.create(code="power", name_fr="Prise", name_en="Power")
    window = Feature.objects.create(code="window", name_fr="Fenêtre", name_en="Window")
    both = ResourceFactory(area=first, label="Both", position=2)
    both.features.set([power, window])
    ResourceFactory(area=first, label="Power only", position=1).features.set([power])
    ResourceFactory(area=second, label="Room", kind="room", capacity=6)

    def labels(**filters: object) -> list[str]:
        grid = day_grid(establishment, TUESDAY, GridFilters(**filters))  # type: ignore[arg-type]
        return [row.resource.label for row in grid.rows]

    assert labels() == ["Power only", "Both", "Room"]
    assert labels(area_id=second.pk) == ["Room"]
    assert labels(kind="room") == ["Room"]
    assert labels(feature_codes=("power",)) == ["Power only", "Both"]
    assert labels(feature_codes=("window", "power", "window")) == ["Both"]
    grid = day_grid(establishment, TUESDAY, GridFilters(feature_codes=("power",)))
    assert [[f.code for f in row.features] for row in grid.rows] == [
        ["power"],
        ["power", "window"],
    ]
    assert grid.rows[1].resource.area.name == first.name
    assert grid.total_places == 2


def test_available_only_keeps_the_places_with_a_selectable_start(db):
    establishment = EstablishmentFactory()
    area = AreaFactory(establishment=establishment)
    full, free = ResourceFactory(area=area), ResourceFactory(area=area)
    _hold(full, 8, 12)
    _hold(full, 12, 16)
    _hold(full, 16, 22)
    everything = day_grid(establishment, TUESDAY, GridFilters())
    assert [row.resource.pk for row in everything.rows] == [full.pk, free.pk]
    assert everything.rows[0].free_count == 0
    grid = day_grid(establishment, TUESDAY, GridFilters(available_only=True))
    assert [row.resource.pk for row in grid.rows] == [free.pk]
    assert grid.total_places == 1


def test_available_only_keeps_no_place_on_a_day_without_opening(db):
    place = ResourceFactory(
        area=AreaFactory(establishment=EstablishmentFactory(open_every_day=False))
    )
    assert len(day_grid(place.establishment, TUESDAY, GridFilters()).rows) == 1
    closed = day_grid(place.establishment, TUESDAY, GridFilters(available_only=True))
    assert (closed.rows, closed.total_places) == ([], 0)


def test_pages_follow_the_grid_order_and_the_last_page_is_shown_past_the_end(db):
    establishment = EstablishmentFactory()
    area = AreaFactory(establishment=establishment)
    places = [ResourceFactory(area=area, position=n) for n in range(5)]
    _hold(places[3], 9, 11)
    second = day_grid(establishment, TUESDAY, GridFilters(), page=2, per_page=2)
    assert [row.resource.pk for row in second.rows] == [places[2].pk, places[3].pk]
    assert "09:00" not in _starts(second.rows[1].cells, "free")
    beyond = day_grid(establishment, TUESDAY, GridFilters(), page=9, per_page=2)
    assert (beyond.page, beyond.pages) == (3, 3)
    assert [row.resource.pk for row in beyond.rows] == [places[4].pk]


def test_the_grid_page_says_each_slot_in_words(db, clock, client):
    place = ResourceFactory(label="P1")
    _hold(place, 11, 12)
    clock.move_to(paris(2026, 3, 3, 9, 10))
    html = client.get(f"/{place.establishment.slug}/reservation/?date=2026-03-03").content.decode()
    spoken = re.findall(
        r'<span class="slot ([\w -]+)"><span aria-hidden="true">[^<]*</span>'
        r'<span class="visually-hidden">P1, [^,]+, (\d\d:\d\d–\d\d:\d\d), ([^<]+)</span>',
        html,
    )
    assert ("past", "09:00–09:30", "passé") in spoken
    assert ("short", "10:30–11:00", "libre, mais trop court pour cette durée") in spoken
    assert ("busy", "11:00–11:30", "occupé") in spoken
    # A free start is named with the end of a reservation of the chosen duration (60 min).
    named = f'value="{place.pk}-20260303T0830Z" required aria-label="P1, {place.area.name}, '
    assert f"{named}09:30–10:30, libre" in html
    assert f'value="{place.pk}-20260303T0800Z"' not in html
