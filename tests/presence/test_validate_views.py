"""/reservation/validate through the test client: a GET (a QR scan, a mail scanner) only
shows; the POST validates with the establishment code and the address, or with one tap in a
browser that knows the patron. Wrong codes are rate-limited; unknown and known addresses get
the same answer. "Mes réservations" shows the window and "Libérer ma place"."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from strapontin.core.audit import entries_for
from strapontin.core.clock import now
from strapontin.public import checkin_views
from strapontin.public.checkin_views import checkin_url
from strapontin.public.forms import slot_value
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues import codes
from strapontin.venues.models import CheckinMode
from tests.conftest import paris
from tests.presence.conftest import TUESDAY_10, at, book_confirmed, reload

pytestmark = pytest.mark.usefixtures("clock")

VALIDATE = reverse("public:validate")
IN_THE_WINDOW = TUESDAY_10 - timedelta(minutes=10)


def qr_path(establishment) -> str:
    """What the phone opens after scanning the poster (without the host of BASE_URL)."""
    url = urlsplit(checkin_url(establishment))
    return f"{url.path}?{url.query}"


def error_code(response) -> str | None:
    found = re.search(r'data-code="([^"]*)"', response.text)
    return found.group(1) if found else None


def error_text(response) -> str:
    found = re.search(r'<p class="errors" role="alert"[^>]*>(.*?)</p>', response.text, re.S)
    return found.group(1) if found else ""


def template_names(response) -> set[str]:
    return {t.name for t in response.templates}


def knows(client, patron: Patron) -> None:
    """The browser proved this address (a sign-in or confirmation link)."""
    session = client.session
    session["patron_id"] = patron.pk
    session.save()


def post(client, **data):
    return client.post(VALIDATE, data)


# --- GET only shows ----------------------------------------------------------------------------


def test_opening_the_qr_url_changes_nothing(confirmed, client):
    knows(client, confirmed.patron)
    with at(IN_THE_WINDOW):
        page = client.get(qr_path(confirmed.establishment) + "&email=alice%40example.org")
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")
    assert 'name="via" value="qr"' in page.text
    stored = reload(confirmed)
    assert (stored.state, stored.checkin_method) == (ReservationState.CONFIRMED, "")
    assert not entries_for(confirmed).filter(action="reservation.checked_in").exists()


def test_a_stranger_opening_the_qr_url_is_asked_for_the_address(confirmed, client):
    with at(IN_THE_WINDOW):
        page = client.get(qr_path(confirmed.establishment))
    assert page.status_code == 200
    assert 'name="email"' in page.text
    assert f'value="{confirmed.establishment.checkin_code}"' in page.text
    assert reload(confirmed).state == ReservationState.CONFIRMED


# --- POST validates ----------------------------------------------------------------------------


def test_the_code_and_the_address_validate_presence_by_code(confirmed, client):
    with at(IN_THE_WINDOW):
        answer = post(client, code=confirmed.establishment.checkin_code, email="Alice@Example.org")
    assert answer.status_code == 200
    assert "public/validated.html" in template_names(answer)
    stored = reload(confirmed)
    assert (stored.state, stored.checkin_method) == (ReservationState.CHECKED_IN, "code")
    assert stored.checked_in_at == IN_THE_WINDOW


def test_the_code_is_typed_loosely(confirmed, client):
    code = confirmed.establishment.checkin_code
    loose = "-".join(code[i : i + 3] for i in range(0, len(code), 3)).lower()
    with at(IN_THE_WINDOW):
        answer = post(client, code=f" {loose} ", email="alice@example.org")
    assert answer.status_code == 200
    assert reload(confirmed).state == ReservationState.CHECKED_IN


def test_the_scanned_qr_code_records_the_method_qr(confirmed, client):
    with at(IN_THE_WINDOW):
        answer = post(
            client, code=confirmed.establishment.checkin_code, via="qr", email="alice@example.org"
        )
    assert answer.status_code == 200
    assert reload(confirmed).checkin_method == "qr"


def test_the_rotating_code_of_the_entrance_screen_records_the_method_kiosk(confirmed, client):
    establishment = confirmed.establishment
    with at(IN_THE_WINDOW):
        code = codes.current_rotating_code(establishment, now())
        answer = post(client, code=code, email="alice@example.org")
    assert answer.status_code == 200
    assert reload(confirmed).checkin_method == "kiosk"


def test_the_rotating_code_of_the_previous_minute_still_works_not_older(place, client):
    first = book_confirmed(place)
    second = book_confirmed(place, email="bob@example.org", start=paris(2026, 3, 3, 11, 0))
    establishment = place.establishment
    with at(IN_THE_WINDOW):
        shown = codes.current_rotating_code(establishment, now())
    with at(IN_THE_WINDOW + timedelta(seconds=60)):
        assert post(client, code=shown, email="alice@example.org").status_code == 200
    with at(second.checkin_opens_at + timedelta(seconds=120)):
        stale = codes.rotating_code(establishment, codes.time_step(now()) - 2)
        answer = post(client, code=stale, email="bob@example.org")
    assert answer.status_code == 400
    assert reload(first).checkin_method == "kiosk"
    assert reload(second).state == ReservationState.CONFIRMED


def test_a_static_only_establishment_refuses_rotating_codes(confirmed, client):
    establishment = confirmed.establishment
    establishment.checkin_mode = CheckinMode.STATIC
    establishment.save()
    with at(IN_THE_WINDOW):
        code = codes.current_rotating_code(establishment, now())
        answer = post(client, code=code, email="alice@example.org")
    assert answer.status_code == 400
    assert reload(confirmed).state == ReservationState.CONFIRMED


def test_the_browser_that_booked_gets_a_one_tap_page(place, client):
    booked = client.post(
        reverse("public:book", kwargs={"slug": place.establishment.slug}),
        {"slot": slot_value(place.pk, TUESDAY_10), "duration": 60, "email": "alice@example.org"},
    )
    assert booked.status_code == 302
    # Confirmed from the e-mail, read on another device.
    reservation = services.reservation_confirm(reservation=Reservation.objects.get())
    assert reservation.state == ReservationState.CONFIRMED
    with at(IN_THE_WINDOW):
        page = client.get(qr_path(place.establishment))
        assert page.status_code == 200
        assert 'name="email"' not in page.text
        assert reservation.reference in page.text
        assert reload(reservation).state == ReservationState.CONFIRMED
        answer = post(client, code=place.establishment.checkin_code, via="qr")
    assert answer.status_code == 200
    assert "public/validated.html" in template_names(answer)
    stored = reload(reservation)
    assert (stored.state, stored.checkin_method) == (ReservationState.CHECKED_IN, "qr")


def test_a_signed_in_browser_validates_with_one_tap(confirmed, client):
    knows(client, confirmed.patron)
    with at(IN_THE_WINDOW):
        answer = post(client, code=confirmed.establishment.checkin_code)
    assert answer.status_code == 200
    assert reload(confirmed).checkin_method == "code"


def test_a_browser_that_knows_nobody_must_give_the_address(confirmed, client):
    with at(IN_THE_WINDOW):
        answer = post(client, code=confirmed.establishment.checkin_code)
    assert answer.status_code == 400
    assert 'id="email-error"' in answer.text
    assert reload(confirmed).state == ReservationState.CONFIRMED


def test_too_early_the_page_says_when_the_window_opens(confirmed, client):
    with at(confirmed.checkin_opens_at - timedelta(minutes=1)):
        answer = post(client, code=confirmed.establishment.checkin_code, email="alice@example.org")
    assert answer.status_code == 400
    assert error_code(answer) == "checkin_not_open"
    assert "09:45" in error_text(answer)
    assert reload(confirmed).state == ReservationState.CONFIRMED


def test_too_late_the_page_says_the_window_closed_and_the_place_went_back(confirmed, client):
    with at(confirmed.checkin_closes_at):
        answer = post(client, code=confirmed.establishment.checkin_code, email="alice@example.org")
    assert answer.status_code == 400
    assert error_code(answer) == "checkin_window_closed"
    assert reload(confirmed).state == ReservationState.NO_SHOW


# --- Wrong codes, enumeration ------------------------------------------------------------------


def test_wrong_codes_answer_400_then_429_with_retry_after_for_that_client(confirmed, client):
    with at(IN_THE_WINDOW):
        for _attempt in range(checkin_views.WRONG_CODES_PER_CLIENT):
            answer = post(client, code="ZZZZZZZZ", email="alice@example.org")
            assert answer.status_code == 400
        blocked = post(client, code="ZZZZZZZZ", email="alice@example.org")
        other = client.post(
            VALIDATE, {"code": "ZZZZZZZZ", "email": "bob@example.org"}, REMOTE_ADDR="10.1.2.3"
        )
    assert blocked.status_code == 429
    wait = int(blocked["Retry-After"])
    assert 0 < wait <= 600
    assert 'role="alert"' in blocked.text
    assert other.status_code == 400  # another client is not blocked
    with at(IN_THE_WINDOW + timedelta(seconds=wait)):
        again = post(client, code=confirmed.establishment.checkin_code, email="alice@example.org")
    assert again.status_code == 200
    assert reload(confirmed).state == ReservationState.CHECKED_IN


def test_guessing_addresses_is_limited_per_establishment(confirmed, client, monkeypatch):
    monkeypatch.setattr(checkin_views, "WRONG_CODES_PER_ESTABLISHMENT", 3)
    code = confirmed.establishment.checkin_code
    with at(IN_THE_WINDOW):
        statuses = [
            client.post(
                VALIDATE,
                {"code": code, "email": f"guess{n}@example.org"},
                REMOTE_ADDR=f"10.0.0.{n}",
            ).status_code
            for n in range(5)
        ]
    assert statuses == [400, 400, 400, 429, 429]


def test_unknown_and_known_addresses_without_a_reservation_get_the_same_answer(
    confirmed, place, client
):
    carol = book_confirmed(place, email="carol@example.org", start=paris(2026, 3, 2, 14, 0))
    services.reservation_cancel_by_patron(reservation=carol)
    code = confirmed.establishment.checkin_code
    with at(IN_THE_WINDOW):
        unknown = post(client, code=code, email="nobody@example.org")
        known = post(client, code=code, email="carol@example.org")
    assert unknown.status_code == known.status_code == 400
    assert error_code(unknown) == error_code(known) == "no_reservation_now"
    assert error_text(unknown) == error_text(known)


# --- Mes réservations ---------------------------------------------------------------------------


def test_my_reservations_shows_the_window_and_how_to_validate(confirmed, client):
    knows(client, confirmed.patron)
    with at(confirmed.checkin_opens_at - timedelta(minutes=30)):
        before = client.get(reverse("public:my_reservations"))
    hint = re.search(r'<p class="checkin-hint">(.*?)</p>', before.text, re.S)
    assert hint
    assert "09:45" in hint.group(1)
    assert "10:30" in hint.group(1)
    assert f'href="{VALIDATE}"' not in hint.group(1)  # not yet open
    with at(IN_THE_WINDOW):
        during = client.get(reverse("public:my_reservations"))
    hint = re.search(r'<p class="checkin-hint">(.*?)</p>', during.text, re.S)
    assert hint
    assert f'href="{VALIDATE}"' in hint.group(1)


def test_a_checked_in_reservation_can_be_released_from_my_reservations(confirmed, client):
    knows(client, confirmed.patron)
    leave = reverse("public:leave_early", kwargs={"reference": confirmed.reference})
    with at(IN_THE_WINDOW):
        post(client, code=confirmed.establishment.checkin_code)
    with at(TUESDAY_10 + timedelta(minutes=20)):
        page = client.get(reverse("public:my_reservations"))
        assert f'action="{leave}"' in page.text
        assert "checkin-hint" not in page.text
        assert client.get(leave).status_code == 405  # a GET never changes state
        answer = client.post(leave)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("public:my_reservations")
    stored = reload(confirmed)
    assert (stored.state, stored.ended_at) == (
        ReservationState.RELEASED,
        TUESDAY_10 + timedelta(minutes=20),
    )
    with at(TUESDAY_10 + timedelta(minutes=21)):
        page = client.get(reverse("public:my_reservations"))
    assert f'action="{leave}"' not in page.text
    assert 'data-state="released"' in page.text


def test_a_confirmed_reservation_shows_no_release_button_and_cannot_be_released(confirmed, client):
    knows(client, confirmed.patron)
    leave = reverse("public:leave_early", kwargs={"reference": confirmed.reference})
    with at(IN_THE_WINDOW):
        page = client.get(reverse("public:my_reservations"))
        assert f'action="{leave}"' not in page.text
        answer = client.post(leave)
    assert answer.status_code == 302
    assert reload(confirmed).state == ReservationState.CONFIRMED


def test_another_browser_cannot_release_someone_elses_place(confirmed, client):
    with at(IN_THE_WINDOW):
        post(client, code=confirmed.establishment.checkin_code, email="alice@example.org")
    client.cookies.clear()
    leave = reverse("public:leave_early", kwargs={"reference": confirmed.reference})
    with at(TUESDAY_10 + timedelta(minutes=20)):
        assert client.post(leave).status_code == 404
    assert reload(confirmed).state == ReservationState.CHECKED_IN


def test_forged_forwarded_for_is_ignored_unless_a_proxy_is_trusted(rf, settings):
    from strapontin.core.clients import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.7", REMOTE_ADDR="10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "10.0.0.7"
