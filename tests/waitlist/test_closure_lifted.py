"""A lifted closure gives its places back, and the waitlist gets them first (issue 9, point 1:
"when a place frees (…, closure lifted)")."""

from datetime import date

import pytest
from django.core import mail
from django.test import TestCase

from strapontin.core.models import AuditEntry
from strapontin.reservations.closures import ScheduleChange, schedule_change_apply
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import (
    Reservation,
    ReservationState,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.venues.models import ScheduleException
from tests.desk.conftest import signed_in
from tests.factories import ResourceFactory, StaffRoleFactory
from tests.waitlist.conftest import TUESDAY_10, ask

TUESDAY = date(2026, 3, 3)


@pytest.fixture
def manager(place):
    return StaffRoleFactory(establishment=place.establishment, role="manager").user


@pytest.fixture
def closed_tuesday(clock, place, taken, manager) -> ScheduleException:
    """Ada waits for Tuesday 10:00–11:00; then the library closes that Tuesday."""
    assert ask(place, "ada@example.org") is not None
    with TestCase.captureOnCommitCallbacks(execute=True):
        schedule_change_apply(
            change=ScheduleChange(
                establishment=place.establishment,
                first_day=TUESDAY,
                last_day=TUESDAY,
                reason="Panne de chauffage",
            ),
            user=manager,
        )
    mail.outbox.clear()
    return ScheduleException.objects.get(establishment=place.establishment, date=TUESDAY)


def lift_url(exception: ScheduleException) -> str:
    return f"/desk/{exception.establishment.slug}/fermetures/{exception.pk}/lever/"


def test_lifting_a_closure_holds_its_places_for_the_waitlist(closed_tuesday, place, manager):
    assert not Reservation.objects.filter(state=ReservationState.OFFERED).exists()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = signed_in(manager).post(lift_url(closed_tuesday))
    assert response.status_code == 302
    assert not ScheduleException.objects.filter(pk=closed_tuesday.pk).exists()
    offer = Reservation.objects.get(state=ReservationState.OFFERED)
    assert (offer.patron.email, offer.resource, offer.start) == (
        "ada@example.org",
        place,
        TUESDAY_10,
    )
    assert WaitlistRequest.objects.get(offer=offer).state == WaitlistState.OFFERED
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    entry = AuditEntry.objects.get(action="establishment.closure_lifted")
    assert (entry.actor, entry.reason) == (manager, "Panne de chauffage")
    assert find_violations() == []


def test_a_lifted_closure_with_nobody_waiting_just_reopens(clock, place, manager):
    ScheduleException.objects.create(
        establishment=place.establishment, date=TUESDAY, is_closed=True, reason="Inventaire"
    )
    exception = ScheduleException.objects.get()
    response = signed_in(manager).post(lift_url(exception))
    assert response.status_code == 302
    assert not ScheduleException.objects.exists()
    assert not Reservation.objects.exists()


def test_only_a_manager_of_the_establishment_lifts_a_closure(closed_tuesday, place):
    agent = StaffRoleFactory(establishment=place.establishment, role="desk").user
    elsewhere = StaffRoleFactory(establishment=ResourceFactory().establishment, role="manager").user
    manager = StaffRoleFactory(establishment=place.establishment, role="manager").user
    assert signed_in(agent).post(lift_url(closed_tuesday)).status_code == 403
    assert signed_in(elsewhere).post(lift_url(closed_tuesday)).status_code in (403, 404)
    assert signed_in(manager).get(lift_url(closed_tuesday)).status_code == 405
    assert ScheduleException.objects.filter(pk=closed_tuesday.pk).exists()
