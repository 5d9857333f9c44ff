"""Closures and reduced hours: what they affect, and that applying one cancels and notifies."""

from datetime import date, time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations import services
from strapontin.reservations.closures import (
    ScheduleChange,
    affected_reservations,
    schedule_change_apply,
)
from strapontin.reservations.models import CancelCause, ReservationState
from strapontin.reservations.selectors import GridFilters, day_grid
from tests.conftest import paris
from tests.factories import AreaFactory, ResourceFactory

pytestmark = pytest.mark.usefixtures("clock")
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("manager", is_staff=True)


def _book(place, email, start_hour, end_hour, day=3):
    return services.reservation_create(
        resource=place,
        email=email,
        start=paris(2026, 3, day, start_hour, 0),
        end=paris(2026, 3, day, end_hour, 0),
    )


def test_a_closure_lists_then_cancels_every_reservation_of_those_days_with_the_reason(
    place, staff, django_capture_on_commit_callbacks
):
    morning = _book(place, "a@example.org", 9, 10)
    other_day = _book(place, "b@example.org", 9, 10, day=4)
    change = ScheduleChange(
        establishment=place.establishment,
        first_day=TUESDAY,
        last_day=TUESDAY,
        reason="Fermeture exceptionnelle",
    )
    assert list(affected_reservations(change)) == [morning]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = schedule_change_apply(change=change, user=staff)
    assert [r.pk for r in cancelled] == [morning.pk]
    morning.refresh_from_db()
    other_day.refresh_from_db()
    assert (morning.state, morning.cancel_cause) == (ReservationState.CANCELLED, CancelCause.STAFF)
    assert other_day.state == ReservationState.PENDING
    assert [m.to for m in mail.outbox if "Fermeture exceptionnelle" in m.body] == [
        ["a@example.org"]
    ]
    assert entries_for(place.establishment).get().action == "establishment.closed"
    with pytest.raises(DomainError) as caught:
        _book(place, "c@example.org", 14, 15)
    assert caught.value.code == "outside_opening_hours"


def test_reduced_hours_cancel_only_what_falls_outside(place, staff):
    inside = _book(place, "a@example.org", 10, 11)
    outside = _book(place, "b@example.org", 17, 18)
    change = ScheduleChange(
        establishment=place.establishment,
        first_day=TUESDAY,
        last_day=TUESDAY,
        reason="Journée d'étude",
        opens=time(9),
        closes=time(13),
    )
    assert list(affected_reservations(change)) == [outside]
    schedule_change_apply(change=change, user=staff)
    inside.refresh_from_db()
    assert inside.state == ReservationState.PENDING


def test_closing_one_area_leaves_the_others_bookable(place, staff):
    other_area = AreaFactory(establishment=place.establishment)
    elsewhere = ResourceFactory(area=other_area)
    here = _book(place, "a@example.org", 9, 10)
    there = _book(elsewhere, "b@example.org", 9, 10)
    change = ScheduleChange(
        establishment=place.establishment,
        first_day=TUESDAY,
        last_day=TUESDAY,
        reason="Travaux",
        area=place.area,
    )
    assert list(affected_reservations(change)) == [here]
    schedule_change_apply(change=change, user=staff)
    there.refresh_from_db()
    assert there.state == ReservationState.PENDING
    grid = day_grid(place.establishment, TUESDAY, GridFilters())
    by_place = {row.resource.pk: row for row in grid.rows}
    assert not any(cell.selectable for cell in by_place[place.pk].cells)
    assert any(cell.selectable for cell in by_place[elsewhere.pk].cells)
    assert _book(elsewhere, "c@example.org", 14, 15).pk


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"reason": " "}, "reason_required"),
        ({"last_day": date(2026, 3, 1)}, "invalid_interval"),
        ({"opens": time(9)}, "invalid_interval"),
        ({"opens": time(14), "closes": time(9)}, "invalid_interval"),
        ({"last_day": date(2027, 6, 1)}, "too_long"),
    ],
)
def test_bad_schedule_changes_are_refused(place, staff, kwargs, code):
    values = {
        "establishment": place.establishment,
        "first_day": TUESDAY,
        "last_day": TUESDAY,
        "reason": "Motif",
    } | kwargs
    with pytest.raises(DomainError) as caught:
        schedule_change_apply(change=ScheduleChange(**values), user=staff)
    assert caught.value.code == code
