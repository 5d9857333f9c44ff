"""The front desk through the test client: today's list, search, validate presence, cancel with
a reason, lift a suspension; and the managers' settings of the check-in codes."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from strapontin.core.audit import entries_for
from strapontin.core.clock import now
from strapontin.reservations.models import (
    CancelCause,
    CheckinMethod,
    Reservation,
    ReservationState,
    Suspension,
)
from strapontin.venues import codes
from strapontin.venues.models import CheckinMode
from tests.conftest import paris
from tests.desk.conftest import TODAY_10, at, book_confirmed, signed_in
from tests.factories import ResourceFactory

pytestmark = pytest.mark.usefixtures("clock")


def reload(reservation: Reservation) -> Reservation:
    return Reservation.objects.get(pk=reservation.pk)


def levels(response) -> list[str]:
    return [m.level_tag for m in get_messages(response.wsgi_request)]


def test_the_desk_lists_todays_reservations_of_its_establishment_only(place_a, place_b, agent):
    today = book_confirmed(place_a, "today@example.org")
    tomorrow = book_confirmed(place_a, "tomorrow@example.org", start=TODAY_10 + timedelta(days=1))
    elsewhere = book_confirmed(place_b, "elsewhere@example.org")
    html = signed_in(agent).get("/desk/bib-a/").content.decode()
    assert today.reference in html
    assert "today@example.org" in html
    assert tomorrow.reference not in html
    assert elsewhere.reference not in html
    assert "10:00–11:00" in html


def test_another_day_is_one_link_away(place_a, agent):
    tomorrow = book_confirmed(place_a, start=TODAY_10 + timedelta(days=1))
    client = signed_in(agent)
    html = client.get("/desk/bib-a/").content.decode()
    assert 'href="/desk/bib-a/?date=2026-03-03"' in html
    assert tomorrow.reference in client.get("/desk/bib-a/?date=2026-03-03").content.decode()
    # A malformed or far-off date falls back to today rather than failing.
    for odd in ("yesterday", "0001-01-01", "9999-12-31", "2026-02-30"):
        response = client.get("/desk/bib-a/", {"date": odd})
        assert response.status_code == 200, odd
        assert response.context["day"] == date(2026, 3, 2), odd


def test_the_day_is_the_establishments_local_day(agent, a):
    """At 00:30 in Paris it is still the previous day in UTC: the desk follows Paris."""
    with at(paris(2026, 3, 3, 0, 30)):
        response = signed_in(agent).get("/desk/bib-a/")
    assert response.context["day"] == date(2026, 3, 3)


def test_search_finds_by_email_reference_or_place(place_a, agent):
    alice = book_confirmed(place_a, "alice@example.org")
    other_place = ResourceFactory(area=place_a.area, label="Carrel 12")
    bob = book_confirmed(other_place, "bob@example.org")
    client = signed_in(agent)
    for query, found, hidden in [
        ("ALICE@", alice, bob),
        (bob.reference.lower(), bob, alice),
        ("carrel 12", bob, alice),
    ]:
        html = client.get("/desk/bib-a/", {"q": query}).content.decode()
        assert found.reference in html, query
        assert hidden.reference not in html, query
    html = client.get("/desk/bib-a/", {"q": "nobody"}).content.decode()
    assert alice.reference not in html


def test_the_desk_validates_presence_in_the_window(place_a, agent):
    reservation = book_confirmed(place_a)
    with at(TODAY_10 - timedelta(minutes=5)):
        response = signed_in(agent).post(
            f"/desk/bib-a/reservations/{reservation.reference}/valider/", {"q": "alice"}
        )
    assert response.status_code == 302
    assert response["Location"] == "/desk/bib-a/?q=alice"
    stored = reload(reservation)
    assert (stored.state, stored.checkin_method) == (
        ReservationState.CHECKED_IN,
        CheckinMethod.DESK,
    )
    entry = entries_for(reservation).get(action="reservation.checked_in")
    assert entry.actor == agent
    assert levels(response) == ["success"]


def test_too_early_the_desk_says_so_and_nothing_changes(place_a, agent):
    reservation = book_confirmed(place_a)
    response = signed_in(agent).post(f"/desk/bib-a/reservations/{reservation.reference}/valider/")
    assert reload(reservation).state == ReservationState.CONFIRMED
    assert levels(response) == ["error"]


def test_a_validated_reservation_shows_as_present(place_a, agent):
    reservation = book_confirmed(place_a)
    client = signed_in(agent)
    book_confirmed(place_a, "bob@example.org", start=TODAY_10 + timedelta(hours=2))
    with at(TODAY_10 + timedelta(minutes=1)):
        client.post(f"/desk/bib-a/reservations/{reservation.reference}/valider/")
        response = client.get("/desk/bib-a/")
    desk = response.context["desk"]
    assert (desk.present, desk.expected) == (1, 1)
    assert f"/reservations/{reservation.reference}/valider/" not in response.content.decode()


def test_the_desk_cancels_with_a_reason_that_reaches_the_patron(
    place_a, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book_confirmed(place_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(agent).post(
            f"/desk/bib-a/reservations/{reservation.reference}/annuler/",
            {"reason": "  Fermeture exceptionnelle (dégât des eaux)  "},
        )
    assert response.status_code == 302
    stored = reload(reservation)
    assert stored.state == ReservationState.CANCELLED
    assert stored.cancel_cause == CancelCause.STAFF
    assert stored.cancel_reason == "Fermeture exceptionnelle (dégât des eaux)"
    assert stored.cancelled_by == agent
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "Fermeture exceptionnelle (dégât des eaux)" in mail.outbox[0].body
    assert entries_for(reservation).get(action="reservation.cancelled_by_staff").actor == agent


def test_cancelling_without_a_reason_is_refused(place_a, agent):
    reservation = book_confirmed(place_a)
    response = signed_in(agent).post(
        f"/desk/bib-a/reservations/{reservation.reference}/annuler/", {"reason": "   "}
    )
    assert reload(reservation).state == ReservationState.CONFIRMED
    assert levels(response) == ["error"]


def test_the_desk_forms_need_a_post(place_a, agent):
    reservation = book_confirmed(place_a)
    client = signed_in(agent)
    for action in ("valider", "annuler"):
        response = client.get(f"/desk/bib-a/reservations/{reservation.reference}/{action}/")
        assert response.status_code == 405
    assert reload(reservation).state == ReservationState.CONFIRMED


def test_the_desk_lists_active_suspensions_and_lifts_them(place_a, agent):
    reservation = book_confirmed(place_a)
    active = Suspension.objects.create(
        patron=reservation.patron,
        establishment=place_a.establishment,
        starts_at=now() - timedelta(days=1),
        ends_at=now() + timedelta(days=6),
        no_shows=3,
    )
    client = signed_in(agent)
    html = client.get("/desk/bib-a/").content.decode()
    assert f"/desk/bib-a/suspensions/{active.pk}/lever/" in html
    response = client.post(f"/desk/bib-a/suspensions/{active.pk}/lever/")
    assert response.status_code == 302
    active.refresh_from_db()
    assert active.lifted_at == now()
    assert active.lifted_by == agent
    html = client.get("/desk/bib-a/").content.decode()
    assert f"/desk/bib-a/suspensions/{active.pk}/lever/" not in html


def test_a_finished_suspension_is_not_listed(place_a, agent):
    reservation = book_confirmed(place_a)
    over = Suspension.objects.create(
        patron=reservation.patron,
        establishment=place_a.establishment,
        starts_at=now() - timedelta(days=8),
        ends_at=now() - timedelta(days=1),
        no_shows=3,
    )
    html = signed_in(agent).get("/desk/bib-a/").content.decode()
    assert f"/suspensions/{over.pk}/lever/" not in html


def test_a_manager_chooses_which_codes_count(a, manager):
    client = signed_in(manager)
    response = client.post("/desk/bib-a/code/mode/", {"checkin_mode": "rotating"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.checkin_mode == CheckinMode.ROTATING
    assert entries_for(a).get(action="establishment.checkin_mode_changed").data == {
        "old": "both",
        "new": "rotating",
    }
    response = client.post("/desk/bib-a/code/mode/", {"checkin_mode": "anything"})
    a.refresh_from_db()
    assert a.checkin_mode == CheckinMode.ROTATING
    assert levels(response)[-1] == "error"


def test_a_manager_replaces_the_printed_code_after_confirming(a, manager):
    old = a.checkin_code
    client = signed_in(manager)
    page = client.get("/desk/bib-a/code/nouveau/")
    assert page.status_code == 200
    a.refresh_from_db()
    assert a.checkin_code == old
    response = client.post("/desk/bib-a/code/nouveau/")
    assert response["Location"] == "/desk/bib-a/affiche/"
    a.refresh_from_db()
    assert a.checkin_code != old
    assert codes.matches(a, old, now()) is None
    assert codes.matches(a, a.checkin_code, now()) == "static"
    assert entries_for(a).get(action="establishment.checkin_code_regenerated").actor == manager


def test_the_kiosk_link_is_shown_once_and_a_new_one_revokes_it(a, manager):
    client = signed_in(manager)
    first = client.post("/desk/bib-a/kiosque/")
    assert first.status_code == 200
    assert first["Cache-Control"].startswith("max-age=0")
    link = re.search(r'value="(http://[^"]+/kiosk/bib-a/[^"/]+/)"', first.content.decode()).group(1)
    path = link.removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200
    a.refresh_from_db()
    assert link.split("/")[-2] not in a.kiosk_key_hash  # only its hash is stored
    second = client.post("/desk/bib-a/kiosque/").content.decode()
    assert client.get(path).status_code == 404
    new_path = re.search(r'value="http://[^"]+(/kiosk/bib-a/[^"/]+/)"', second).group(1)
    assert client.get(new_path).status_code == 200
    assert entries_for(a).filter(action="establishment.kiosk_link_issued").count() == 2


def test_desk_agents_see_the_code_but_not_the_managers_controls(a, agent, manager):
    html = signed_in(agent).get("/desk/bib-a/").content.decode()
    assert a.checkin_code in html
    assert "/desk/bib-a/kiosque/" not in html
    assert "/desk/bib-a/code/mode/" not in html
    html = signed_in(manager).get("/desk/bib-a/").content.decode()
    assert "/desk/bib-a/kiosque/" in html
    assert "/desk/bib-a/code/mode/" in html


def test_the_desk_page_costs_the_same_queries_for_one_or_many_reservations(place_a, agent):
    client = signed_in(agent)
    book_confirmed(place_a, "first@example.org")
    client.get("/desk/bib-a/")  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get("/desk/bib-a/")
    for i in range(5):
        place = ResourceFactory(area=place_a.area)
        book_confirmed(place, f"patron{i}@example.org")
    with CaptureQueriesContext(connection) as many:
        html = client.get("/desk/bib-a/").content.decode()
    assert html.count('class="desk-row card"') == 6
    assert len(many.captured_queries) == len(one.captured_queries)
