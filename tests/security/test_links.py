"""Point 4: the tokens of e-mail links — long, hashed, single-purpose, expiring — and their
pages: a GET or HEAD never changes anything, the token never reaches a Referer or a cache."""

import base64
import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase

from strapontin.reservations import services, waitlist
from strapontin.reservations.models import (
    AccessToken,
    Reservation,
    ReservationState,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.reservations.notifications import deliver_due
from strapontin.reservations.sweeps import run_sweeps
from tests.conftest import paris
from tests.security.helpers import (
    TUESDAY_10,
    book,
    database_snapshot,
    link_of,
    links_in,
    text_in_database,
)

pytestmark = pytest.mark.usefixtures("clock")


def every_kind_of_link(place) -> list[str]:
    """Confirm, cancel and sign-in links, live, used, expired and forged."""
    book(Client(), place, "alice@example.org")
    book(Client(), place, "bob@example.org", start=TUESDAY_10 + timedelta(hours=2))
    confirmed = Reservation.objects.get(patron__email="bob@example.org")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.reservation_confirm(reservation=confirmed)
        services.patron_request_sign_in(email="bob@example.org", language="fr")
    used = link_of("connexion")
    Client().post(Client().get(used)["Location"])  # spent at once: a used link
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.patron_request_sign_in(email="bob@example.org", language="en")
    # The waitlist's: leave the line, and take the place held when Alice cancels.
    with TestCase.captureOnCommitCallbacks(execute=True):
        waitlist.waitlist_request_create(
            establishment=place.establishment,
            email="carol@example.org",
            start=TUESDAY_10,
            end=TUESDAY_10 + timedelta(hours=1),
        )
        services.reservation_cancel_by_patron(
            reservation=Reservation.objects.get(patron__email="alice@example.org")
        )
    paths = sorted({path for m in mail.outbox for path, _t, _a in links_in(m.body)})
    assert {action for m in mail.outbox for _p, _t, action in links_in(m.body)} >= {
        "place-gardee",
        "liste-attente",
    }
    assert len(paths) >= 8, paths
    return [*paths, "/r/forged-token-forged-token-forged/confirmer/", "/r/x/annuler/"]


def test_emailed_tokens_carry_at_least_128_random_bits_and_only_their_hash_is_stored(place):
    for path in every_kind_of_link(place)[:-2]:
        token = path.split("/")[2]
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16, path
        stored = AccessToken.objects.get(token_hash=hashlib.sha256(token.encode()).hexdigest())
        assert stored.token_hash != token
    # Once the e-mails are sent, the outbox keeps copies without their working links.
    deliver_due()
    for path in every_kind_of_link(place)[:-2]:
        token = path.split("/")[2]
        assert text_in_database(token) == [], path


def test_get_and_head_on_every_email_link_and_its_page_change_nothing(place, clock):
    """Mail scanners open every link, with GET and HEAD, and follow redirects."""
    links = every_kind_of_link(place)
    clock.shift(timedelta(minutes=1))
    before = database_snapshot()
    for path in links:
        for method in ("get", "head"):
            browser = Client()
            answer = getattr(browser, method)(path)
            assert answer.status_code == 302, (method, path)
            page = getattr(browser, method)(answer["Location"])
            assert page.status_code in (200, 404, 410), (method, path, page.status_code)
    # Past their deadlines too (only the sweeps may move reservations, not a GET).
    with time_machine.travel(paris(2026, 3, 4, 12, 0), tick=False):
        for path in links:
            browser = Client()
            browser.head(browser.get(path)["Location"])
            browser.get(browser.get(path)["Location"])
    assert database_snapshot() == before


def test_the_token_address_sends_no_referrer_no_store_and_only_a_redirect(place):
    for path in every_kind_of_link(place):
        answer = Client().get(path)
        assert answer.status_code == 302
        assert answer["Referrer-Policy"] == "no-referrer"
        assert "no-store" in answer["Cache-Control"]
        assert answer.content == b""
        token = path.split("/")[2]
        assert token not in answer["Location"]
        for cookie in answer.cookies.values():
            assert token not in cookie.value
            assert cookie["path"] == "/r/"
            assert cookie["httponly"]
            assert cookie["samesite"] == "Lax"


def test_the_token_free_page_keeps_the_site_policy_so_its_form_passes_csrf(place):
    """Under no-referrer, Chromium sends ``Origin: null`` with a form's POST and Django's CSRF
    check refuses it: the page with the form must not be under no-referrer."""
    book(Client(), place, "alice@example.org")
    browser = Client(enforce_csrf_checks=True)
    page_address = browser.get(link_of("confirmer"))["Location"]
    page = browser.get(page_address)
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"]
    token = page.context["csrf_token"]
    without = browser.post(page_address)
    assert without.status_code == 403
    assert Reservation.objects.get().state == ReservationState.PENDING
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = browser.post(
            page_address,
            {"csrfmiddlewaretoken": str(token)},
            headers={"Origin": "http://testserver"},
        )
    assert done.status_code == 200
    assert Reservation.objects.get().state == ReservationState.CONFIRMED


def test_each_token_serves_its_own_purpose_only(place):
    book(Client(), place, "alice@example.org")
    cancel = link_of("annuler")
    token = cancel.split("/")[2]
    for other in ("confirmer", "connexion", "place-gardee", "liste-attente"):
        answer = Client().get(f"/r/{token}/{other}/")
        assert answer["Location"] == "/r/lien-invalide/"
    # Nor through the API's e-mail-link operations.
    answer = Client().post(
        "/api/v1/email-links/confirm", {"token": token}, content_type="application/json"
    )
    assert answer.status_code == 404
    assert Reservation.objects.get().state == ReservationState.PENDING


def test_a_cancel_link_expires_with_its_reservation(place, clock):
    book(Client(), place, "alice@example.org")
    browser = Client()
    page_address = browser.get(link_of("annuler"))["Location"]
    clock.move_to(paris(2026, 3, 3, 11, 0))
    answer = browser.post(page_address)
    assert answer.status_code == 404
    assert Reservation.objects.get().cancel_cause == ""


def test_a_confirmation_link_expires_at_the_deadline(place, clock):
    book(Client(), place, "alice@example.org")
    browser = Client()
    page_address = browser.get(link_of("confirmer"))["Location"]
    clock.shift(timedelta(hours=2))
    assert browser.get(page_address).status_code == 410
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert browser.post(page_address).status_code == 410
    run_sweeps()
    assert Reservation.objects.get().state == ReservationState.EXPIRED


def test_a_sign_in_link_works_once(place):
    book(Client(), place, "alice@example.org")
    services.reservation_confirm(reservation=Reservation.objects.get())
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.patron_request_sign_in(email="alice@example.org", language="fr")
    link = link_of("connexion")
    first = Client()
    assert first.post(first.get(link)["Location"]).status_code == 302
    second = Client()
    assert second.post(second.get(link)["Location"]).status_code == 404
    assert "patron_id" not in second.session


def test_a_held_place_link_takes_the_place_only_with_a_post_and_only_before_its_deadline(
    place, clock
):
    book(Client(), place, "alice@example.org")
    with TestCase.captureOnCommitCallbacks(execute=True):
        waitlist.waitlist_request_create(
            establishment=place.establishment,
            email="carol@example.org",
            start=TUESDAY_10,
            end=TUESDAY_10 + timedelta(hours=1),
        )
        services.reservation_cancel_by_patron(
            reservation=Reservation.objects.get(patron__email="alice@example.org")
        )
    browser = Client()
    page_address = browser.get(link_of("place-gardee"))["Location"]
    assert browser.get(page_address).status_code == 200
    held = Reservation.objects.get(state=ReservationState.OFFERED)
    clock.shift(timedelta(minutes=10))
    answer = browser.post(page_address, {"action": "take"})
    assert answer.status_code == 410
    held.refresh_from_db()
    assert held.state == ReservationState.EXPIRED


def test_a_leave_the_waitlist_link_expires_with_its_request(place, clock):
    with TestCase.captureOnCommitCallbacks(execute=True):
        waitlist.waitlist_request_create(
            establishment=place.establishment,
            email="carol@example.org",
            start=TUESDAY_10,
            end=TUESDAY_10 + timedelta(hours=1),
        )
    browser = Client()
    page_address = browser.get(link_of("liste-attente"))["Location"]
    clock.move_to(TUESDAY_10 + timedelta(hours=1))
    assert browser.post(page_address).status_code == 404
    assert WaitlistRequest.objects.get().state == WaitlistState.WAITING
