"""The patron's whole journey through the API alone: the same services as the web, no rule
added, none skipped."""

from datetime import timedelta

import time_machine
from django.core import mail

from strapontin.reservations.models import (
    AccessToken,
    CheckinMethod,
    ReservationState,
    TokenPurpose,
)
from strapontin.venues.models import ConfirmationMode
from tests.api.conftest import (
    TUESDAY_10,
    Api,
    error_of,
    last_mail_to,
    link_token,
    reservation,
)
from tests.conftest import paris
from tests.factories import BookingPolicyFactory


def test_book_confirm_by_the_email_link_check_in_and_leave_early(api: Api, place):
    booked = api.book(place, email="Alice@Example.org")
    assert booked.status_code == 201
    body = booked.json()
    ref, token = body["reservation"]["reference"], body["token"]
    assert body["reservation"]["state"] == "pending"
    assert body["reservation"]["email"] == "alice@example.org"
    assert body["reservation"]["start"] == "2026-03-03T10:00:00+01:00"

    confirm = link_token(last_mail_to("alice@example.org"), "confirmer")
    confirmed = api.post("/email-links/confirm", {"token": confirm})
    assert confirmed.status_code == 200
    assert confirmed.json()["state"] == "confirmed"
    assert ".ics" in mail.outbox[-1].attachments[0].filename  # the confirmation e-mail

    with time_machine.travel(paris(2026, 3, 3, 9, 50), tick=False):
        checked = api.post(
            f"/reservations/{ref}/check-in", {"code": place.establishment.checkin_code}, token=token
        )
        assert checked.status_code == 200, checked.json()
        assert checked.json()["state"] == "checked_in"
        assert reservation(ref).checkin_method == CheckinMethod.CODE
        again = api.post(
            f"/reservations/{ref}/check-in", {"code": place.establishment.checkin_code}, token=token
        )
        assert again.status_code == 200  # a repeated check-in is a no-op
    with time_machine.travel(paris(2026, 3, 3, 10, 20), tick=False):
        left = api.post(f"/reservations/{ref}/leave", token=token)
        assert left.status_code == 200
        assert left.json()["state"] == "released"
        assert api.get(f"/reservations/{ref}", token=token).json()["state"] == "released"


def test_a_booking_with_a_patron_token_is_confirmed_at_once_and_listed_as_mine(api: Api, place):
    patron_token = api.sign_in("bob@example.org")
    mail.outbox.clear()
    booked = api.book(place, email=None, token=patron_token)
    assert booked.status_code == 201, booked.json()
    assert booked.json()["reservation"]["state"] == "confirmed"
    assert booked.json()["reservation"]["email"] == "bob@example.org"
    assert "/confirmer/" not in mail.outbox[-1].body
    ref = booked.json()["reservation"]["reference"]

    mine = api.get("/me/reservations", token=patron_token).json()
    assert [r["reference"] for r in mine["upcoming"]] == [ref]
    assert mine["verified"] is True

    cancelled = api.post(f"/reservations/{ref}/cancel", token=patron_token)
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["cancelled_by"] == "patron"
    mine = api.get("/me/reservations", token=patron_token).json()
    assert mine["upcoming"] == []
    assert mine["past"][0]["reference"] == ref


def test_without_a_token_a_new_address_follows_the_confirmation_policy(api: Api, place):
    booked = api.book(place, email="new@example.org")
    assert booked.json()["reservation"]["state"] == "pending"
    assert booked.json()["reservation"]["confirmation_deadline"] is not None
    assert "/confirmer/" in last_mail_to("new@example.org")


def test_without_a_token_even_a_verified_address_confirms_by_email(api: Api, place):
    """Whoever books without proving the address gets the same answer, known or not."""
    api.sign_in("carol@example.org")
    booked = api.book(place, email="carol@example.org")
    assert booked.json()["reservation"]["state"] == "pending"
    assert "/confirmer/" in last_mail_to("carol@example.org")


def test_with_the_patron_token_a_verified_address_needs_no_confirmation(api: Api, place):
    patron_token = api.sign_in("carol@example.org")
    booked = api.book(place, email=None, token=patron_token)
    assert booked.json()["reservation"]["state"] == "confirmed"


def test_confirmation_every_time_holds_even_with_a_patron_token(api: Api, place):
    BookingPolicyFactory(
        establishment=place.establishment, confirmation_mode=ConfirmationMode.ALWAYS
    )
    patron_token = api.sign_in()
    booked = api.book(place, token=patron_token)
    assert booked.json()["reservation"]["state"] == "pending"


def test_a_patron_token_proves_the_address_and_a_bare_address_does_not(api: Api, place):
    BookingPolicyFactory(
        establishment=place.establishment, confirmation_mode=ConfirmationMode.FIRST_RESERVATION
    )
    patron_token = api.sign_in()
    assert api.book(place, token=patron_token).json()["reservation"]["state"] == "confirmed"
    later = api.book(place, start=TUESDAY_10 + timedelta(hours=3))
    assert later.json()["reservation"]["state"] == "pending"


def test_the_reservation_token_is_hashed_single_purpose_and_ends_with_the_reservation(
    api: Api, place
):
    body = api.book(place).json()
    ref, token = body["reservation"]["reference"], body["token"]
    assert len(token) >= 22  # ≥ 128 bits of URL-safe base64
    stored = AccessToken.objects.get(purpose=TokenPurpose.API)
    assert stored.token_hash != token
    assert token not in stored.token_hash
    assert stored.expires_at == reservation(ref).end
    assert body["token_expires_at"] == "2026-03-03T11:00:00+01:00"
    assert api.get(f"/reservations/{ref}", token=token).status_code == 200
    # It is not a confirmation link: proving the address needs the e-mail.
    assert error_of(api.post("/email-links/confirm", {"token": token})) == "token_invalid"
    with time_machine.travel(paris(2026, 3, 3, 11, 0), tick=False):
        gone = api.get(f"/reservations/{ref}", token=token)
        assert gone.status_code == 401
        assert error_of(gone) == "unauthorized"


def test_a_reservation_token_reaches_its_reservation_only(api: Api, place):
    first = api.book(place).json()
    other = api.book(place, email="other@example.org", start=TUESDAY_10 + timedelta(hours=2))
    other_ref = other.json()["reservation"]["reference"]
    answer = api.get(f"/reservations/{other_ref}", token=first["token"])
    assert answer.status_code == 404
    assert error_of(answer) == "not_found"
    mine = api.get(
        f"/reservations/{first['reservation']['reference'].lower()}", token=first["token"]
    )
    assert mine.status_code == 200


def test_a_patron_token_reaches_its_patrons_reservations_only(api: Api, place):
    someone_else = api.book(place, email="other@example.org").json()["reservation"]["reference"]
    patron_token = api.sign_in()
    assert api.get(f"/reservations/{someone_else}", token=patron_token).status_code == 404
    assert api.post(f"/reservations/{someone_else}/cancel", token=patron_token).status_code == 404
    assert reservation(someone_else).state == ReservationState.PENDING


def test_the_email_cancel_link_cancels_through_the_api(api: Api, place):
    ref = api.book(place).json()["reservation"]["reference"]
    cancel = link_token(last_mail_to("alice@example.org"), "annuler")
    answer = api.post("/email-links/cancel", {"token": cancel})
    assert answer.status_code == 200
    assert answer.json()["state"] == "cancelled"
    assert reservation(ref).state == ReservationState.CANCELLED


def test_a_late_confirmation_is_refused_and_the_reservation_expires(api: Api, place):
    api.book(place)
    confirm = link_token(last_mail_to("alice@example.org"), "confirmer")
    with time_machine.travel(paris(2026, 3, 2, 11, 1), tick=False):
        late = api.post("/email-links/confirm", {"token": confirm})
    assert late.status_code == 410
    assert error_of(late) == "confirmation_expired"


def test_check_in_keeps_the_web_rules(api: Api, place):
    body = api.book(place).json()
    ref, token = body["reservation"]["reference"], body["token"]
    code = place.establishment.checkin_code
    pending = api.post(f"/reservations/{ref}/check-in", {"code": code}, token=token)
    assert error_of(pending) == "not_confirmed"
    api.post(
        "/email-links/confirm",
        {"token": link_token(last_mail_to("alice@example.org"), "confirmer")},
    )
    early = api.post(f"/reservations/{ref}/check-in", {"code": code}, token=token)
    assert early.status_code == 400
    assert error_of(early) == "checkin_not_open"
    with time_machine.travel(paris(2026, 3, 3, 9, 50), tick=False):
        wrong = api.post(f"/reservations/{ref}/check-in", {"code": "WRONG1"}, token=token)
        assert wrong.status_code == 400
        assert error_of(wrong) == "invalid_code"
    with time_machine.travel(paris(2026, 3, 3, 10, 30), tick=False):
        late = api.post(f"/reservations/{ref}/check-in", {"code": code}, token=token)
        assert error_of(late) == "checkin_window_closed"
    assert reservation(ref).state == ReservationState.NO_SHOW


def test_scanning_the_qr_code_is_recorded_as_such(api: Api, place):
    patron_token = api.sign_in()
    ref = api.book(place, token=patron_token).json()["reservation"]["reference"]
    with time_machine.travel(paris(2026, 3, 3, 9, 50), tick=False):
        body = {"code": place.establishment.checkin_code.lower(), "via": "qr"}
        assert (
            api.post(f"/reservations/{ref}/check-in", body, token=patron_token).status_code == 200
        )
    assert reservation(ref).checkin_method == CheckinMethod.QR


def test_booking_keeps_every_rule_of_the_web(api: Api, place):
    assert api.book(place).status_code == 201
    taken = api.book(place, email="late@example.org")
    assert taken.status_code == 409
    assert error_of(taken) == "slot_taken"
    closed = api.book(place, start=paris(2026, 3, 3, 22, 0))
    assert closed.status_code == 400
    assert error_of(closed) == "outside_opening_hours"
    assert error_of(api.book(place, start=paris(2026, 3, 3, 12, 10))) == "off_grid"
    assert error_of(api.book(place, start=paris(2026, 3, 3, 12, 0), duration=600)) == "too_long"
    assert error_of(api.book(place, start=paris(2026, 3, 2, 8, 0))) == "slot_in_past"
    assert error_of(api.book(place, start=paris(2026, 3, 20, 10, 0))) == "beyond_horizon"
    overlap = api.book(place.__class__.objects.create(area=place.area, label="Autre"))
    assert overlap.status_code == 409
    assert error_of(overlap) == "patron_overlap"
    api.book(place, start=paris(2026, 3, 3, 14, 0))
    limit = api.book(place, start=paris(2026, 3, 3, 16, 0))
    assert limit.status_code == 409
    assert error_of(limit) == "limit_reached"
    assert error_of(api.book(place, email="not-an-address")) == "invalid_email"


def test_messages_follow_accept_language_codes_do_not(api: Api, place):
    api.book(place)
    taken = {
        language: api.post(
            "/reservations",
            {
                "place": place.pk,
                "start": TUESDAY_10.isoformat(),
                "duration": 60,
                "email": "z@example.org",
            },
            language=language,
        ).json()
        for language in ("fr", "en")
    }
    assert taken["fr"]["code"] == taken["en"]["code"] == "slot_taken"
    assert taken["fr"]["message"] != taken["en"]["message"]


def test_the_email_is_sent_again_on_request(api: Api, place):
    body = api.book(place).json()
    mail.outbox.clear()
    resent = api.post(
        f"/reservations/{body['reservation']['reference']}/resend-email", token=body["token"]
    )
    assert resent.status_code == 200
    assert "/confirmer/" in last_mail_to("alice@example.org")
