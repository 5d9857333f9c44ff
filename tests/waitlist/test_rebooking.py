"""Rebooking after a closure: the cancellation e-mail carries a one-tap link to an equivalent
free place at the same time — another area first, then another establishment of the same
organisation — held for the patron."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, TestCase

from strapontin.reservations.closures import ScheduleChange, schedule_change_apply
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import Reservation, ReservationState
from strapontin.venues.models import Feature
from tests.conftest import MONDAY_MORNING
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory
from tests.security.helpers import link_of
from tests.waitlist.conftest import book_confirmed

S = ReservationState
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("manager", is_staff=True)


def close(establishment, staff, area=None):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return schedule_change_apply(
            change=ScheduleChange(
                establishment=establishment,
                first_day=TUESDAY,
                last_day=TUESDAY,
                reason="Dégât des eaux",
                area=area,
            ),
            user=staff,
        )


def held_for(email: str) -> Reservation:
    return Reservation.objects.get(patron__email=email, state=S.OFFERED)


def test_an_area_closure_offers_a_place_of_another_area_in_the_cancellation_email(
    clock, place, staff
):
    power = Feature.objects.create(code="power", name_fr="Prise", name_en="Power")
    place.features.add(power)
    other_area = AreaFactory(establishment=place.establishment)
    ResourceFactory(area=other_area)  # no power socket: not equivalent
    equivalent = ResourceFactory(area=other_area)
    equivalent.features.add(power)
    original = book_confirmed(place, "ada@example.org")
    mail.outbox.clear()
    close(place.establishment, staff, area=place.area)

    offer = held_for("ada@example.org")
    assert (offer.resource, offer.start, offer.end) == (equivalent, original.start, original.end)
    # Held a day (declared on Monday at 09:00), as the slot begins later than that.
    assert offer.offer_deadline == MONDAY_MORNING + timedelta(days=1)
    (message,) = mail.outbox
    assert "Dégât des eaux" in message.body
    assert equivalent.label in message.body
    browser = Client()
    page = browser.get(browser.get(link_of("place-gardee"))["Location"])
    assert page.status_code == 200
    with TestCase.captureOnCommitCallbacks(execute=True):
        browser.post(page.request["PATH_INFO"], {"action": "take"})
    offer.refresh_from_db()
    assert offer.state == S.CONFIRMED
    assert find_violations() == []


def test_a_closure_of_the_whole_library_offers_a_place_in_another_library_of_the_organisation(
    clock, place, staff
):
    place.establishment.organisation = "Université de Paris"
    place.establishment.save()
    stranger = ResourceFactory(area=AreaFactory(establishment=EstablishmentFactory()))
    sister = EstablishmentFactory(organisation="Université de Paris")
    equivalent = ResourceFactory(area=AreaFactory(establishment=sister))
    book_confirmed(place, "ada@example.org")
    close(place.establishment, staff)
    offer = held_for("ada@example.org")
    assert offer.resource == equivalent != stranger
    assert offer.establishment == sister
    assert find_violations() == []


def test_without_an_equivalent_free_place_the_email_offers_none(clock, place, staff):
    other = ResourceFactory(area=AreaFactory(establishment=place.establishment))
    book_confirmed(other, "bob@example.org")  # the only other place is taken then
    book_confirmed(place, "ada@example.org")
    mail.outbox.clear()
    close(place.establishment, staff, area=place.area)
    assert not Reservation.objects.filter(state=S.OFFERED).exists()
    (message,) = mail.outbox
    assert "/place-gardee/" not in message.body
