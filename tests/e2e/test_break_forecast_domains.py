"""Issue 9's short break, forecast and domain rules in a real Chromium: the pages that show
them pass the same audit as the journeys (axe WCAG 2.1 A/AA, reflow at 320 and 640 CSS px),
and say in words what they show — "en pause jusqu'à …", the forecast as a table, the allowed
domains before the form."""

from datetime import timedelta

import pytest
import time_machine
from django.core.mail import EmailMessage
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from strapontin.reservations import services
from strapontin.reservations.models import CheckinMethod, Patron, Reservation, ReservationState
from strapontin.reservations.presence import reservation_check_in, reservation_start_break
from tests.conftest import MONDAY_MORNING, paris
from tests.e2e.audit import DESKTOP, PHONE, Journey
from tests.e2e.conftest import Devices
from tests.e2e.test_staff_journeys import demo_library, signed_in
from tests.factories import BookingPolicyFactory, StaffRoleFactory

pytestmark = pytest.mark.e2e


def past_mondays(places) -> None:
    """Presence on the last Mondays, so that the forecast has something to say."""
    patron = Patron.objects.create(email="regular@example.org")
    for week in range(1, 4):
        for n, place in enumerate(places[:week]):
            start = paris(2026, 3, 2, 9 + n, 0) - timedelta(weeks=week)
            Reservation.objects.create(
                establishment=place.establishment,
                resource=place,
                patron=patron,
                start=start,
                end=start + timedelta(hours=1),
                state=ReservationState.CHECKED_IN,
                created_at=start - timedelta(days=1),
                confirmed_at=start - timedelta(days=1),
                checkin_opens_at=start - timedelta(minutes=15),
                checkin_closes_at=start + timedelta(minutes=30),
                checked_in_at=start,
            )


def test_break_forecast_and_domains_are_said_in_words_and_pass_the_audit(
    devices: Devices, live_server: LiveServer, mailoutbox: list[EmailMessage]
) -> None:
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=50), tick=True):
        library, places = demo_library()
        BookingPolicyFactory(establishment=library, allowed_email_domains="example.org")
        past_mondays(places)
        agent = StaffRoleFactory(establishment=library, role="desk").user
        walk_in = services.reservation_create(
            resource=places[0],
            email="alice@example.org",
            start=paris(2026, 3, 2, 9, 30),
            end=paris(2026, 3, 2, 11, 30),
            booked_by=agent,
        )
        reservation_check_in(reservation=walk_in, method=CheckinMethod.DESK, actor=agent)
        reservation_start_break(reservation=walk_in, actor=agent)

        phone = devices.open(language="fr", screen=PHONE)
        journey = Journey("break-forecast-fr-phone")
        phone.goto("/demo-bu/")
        expect(phone.locator(".domains")).to_contain_text("@example.org")
        forecast = phone.get_by_role("table", name="Affluence prévue par heure")
        expect(forecast.get_by_role("rowheader", name="09:00")).to_be_visible()
        journey.step(phone, "establishment with its forecast")
        phone.goto("/demo-bu/reservation/")
        legend = phone.locator("fieldset.place legend").first
        expect(legend).to_contain_text("en pause jusqu'à 10:20")
        journey.step(phone, "grid with a place on a break")
        phone.goto("/demo-bu/reservation/?vue=liste")
        expect(phone.locator(".on-break-notice").first).to_have_text("en pause jusqu'à 10:20")
        journey.step(phone, "list with a place on a break")

        office = devices.open(language="en", screen=DESKTOP)
        signed_in(office, agent, live_server)
        desk = Journey("break-desk-en-desktop")
        office.goto("/desk/demo-bu/")
        expect(office.locator(".desk-counts")).to_contain_text("1 on a break")
        expect(office.get_by_role("button", name="Back from the break")).to_be_visible()
        desk.step(office, "desk with a patron on a break")
        office.get_by_role("button", name="Back from the break").click()
        expect(office.get_by_role("button", name="Back from the break")).to_have_count(0)
    assert Reservation.objects.get(pk=walk_in.pk).state == ReservationState.CHECKED_IN
