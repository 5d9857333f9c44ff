"""The waitlist's pages: asking from the reservation page (without telling what an address has
asked), the held place in "Mes réservations", the e-mail links, and the desk's view of it."""

from datetime import timedelta

import pytest
from django.test import Client, TestCase
from django.utils.translation import override

from strapontin.reservations import services
from strapontin.reservations.models import Reservation, ReservationState, WaitlistRequest
from tests.desk.conftest import signed_in
from tests.factories import StaffRoleFactory, UserFactory
from tests.security.helpers import link_of
from tests.waitlist.conftest import TUESDAY_10, ask

pytestmark = pytest.mark.usefixtures("clock")


def join(client: Client, place, email: str, start: str = "10:00", **extra: object):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            f"/{place.establishment.slug}/reservation/liste-attente/",
            {"date": "2026-03-03", "start": start, "duration": 60, "email": email, **extra},
        )


def test_the_reservation_page_leads_to_the_waitlist_form_prefilled_with_its_filters(place):
    grid = Client().get(f"/{place.establishment.slug}/reservation/?date=2026-03-03")
    assert f"/{place.establishment.slug}/reservation/liste-attente/?date=2026-03-03" in (
        grid.content.decode()
    )
    page = Client().get(f"/{place.establishment.slug}/reservation/liste-attente/?date=2026-03-03")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="2026-03-03"' in html
    assert 'type="email"' in html
    assert 'autocomplete="email"' in html


def test_asking_answers_the_same_whether_the_request_was_recorded_or_the_inbox_is_full(place):
    answers = []
    for hour in range(10, 14):
        answer = join(Client(), place, "ada@example.org", start=f"{hour}:00")
        assert answer.status_code == 200
        answers.append(answer.context["done"])
    assert answers == [True] * 4
    assert WaitlistRequest.objects.count() == 3
    assert link_of("liste-attente")


def test_a_wish_off_the_grid_or_malformed_is_a_form_error_not_a_crash(place):
    off_grid = join(Client(), place, "ada@example.org", start="10:10")
    assert off_grid.status_code == 400
    assert 'data-code="off_grid"' in off_grid.content.decode()
    malformed = join(Client(), place, "not-an-address", start="25:99", area="x")
    assert malformed.status_code == 400
    assert not WaitlistRequest.objects.exists()


def test_the_waitlist_is_rate_limited_per_client(place, monkeypatch):
    from strapontin.public import waitlist_views

    monkeypatch.setattr(waitlist_views, "WAITLIST_REQUESTS_PER_CLIENT", 2)
    statuses = [join(Client(), place, f"p{n}@example.org").status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_leaving_the_waitlist_from_the_email_link_takes_a_post(place):
    join(Client(), place, "ada@example.org")
    browser = Client()
    page_address = browser.get(link_of("liste-attente"))["Location"]
    assert browser.get(page_address).status_code == 200
    assert WaitlistRequest.objects.get().state == "waiting"
    browser.post(page_address)
    assert WaitlistRequest.objects.get().state == "cancelled"


def test_my_reservations_shows_the_held_place_with_its_deadline_and_takes_it(place):
    holder = services.reservation_create(
        resource=place,
        email="holder@example.org",
        start=TUESDAY_10,
        end=TUESDAY_10 + timedelta(hours=1),
    )
    wish = ask(place, "ada@example.org")
    assert wish is not None
    later = ask(place, "ada@example.org", start=TUESDAY_10 + timedelta(hours=3))
    assert later is not None
    services.reservation_cancel_by_patron(reservation=holder)
    browser = Client()
    session = browser.session
    session["patron_id"] = wish.patron_id
    session.save()
    with override("fr"):
        html = browser.get("/mes-reservations/").content.decode()
    offer = Reservation.objects.get(state=ReservationState.OFFERED)
    assert "09:10" in html  # held ten minutes from Monday 09:00
    assert f"/mes-reservations/{offer.reference}/place-gardee/" in html
    assert f"/mes-reservations/liste-attente/{later.reference}/quitter/" in html
    browser.post(f"/mes-reservations/{offer.reference}/place-gardee/", {"action": "take"})
    offer.refresh_from_db()
    assert offer.state == ReservationState.CONFIRMED
    browser.post(f"/mes-reservations/liste-attente/{later.reference}/quitter/")
    later.refresh_from_db()
    assert later.state == "cancelled"
    # Another browser cannot act on them.
    assert Client().post(f"/mes-reservations/{offer.reference}/place-gardee/").status_code == 404


def test_the_desk_shows_a_held_place_as_held_for_the_waitlist(place):
    today_10 = TUESDAY_10 - timedelta(days=1)
    holder = services.reservation_create(
        resource=place,
        email="holder@example.org",
        start=today_10,
        end=today_10 + timedelta(hours=1),
    )
    ask(place, "ada@example.org", start=today_10)
    services.reservation_cancel_by_patron(reservation=holder)
    agent = UserFactory()
    StaffRoleFactory(user=agent, establishment=place.establishment)
    html = signed_in(agent).get(f"/desk/{place.establishment.slug}/").content.decode()
    assert "Proposée, à accepter" in html
    assert "proposée à une personne de la liste d'attente" in html
    assert "09:10" in html
