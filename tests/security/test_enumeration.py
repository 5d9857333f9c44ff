"""Point 5: whoever has not proven an address learns nothing about it. Booking and signing in
answer the same — status, headers, body — for an address that is a verified patron's and for
one never seen; only the e-mails sent to the address itself may tell them apart."""

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase

from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation
from strapontin.reservations.notifications import deliver_due
from tests.factories import ResourceFactory
from tests.security.helpers import TUESDAY_10, book

pytestmark = pytest.mark.usefixtures("clock")

KNOWN = "known@example.org"
UNKNOWN = "stranger@example.org"
#: What differs by construction: the addresses themselves, references, CSRF tokens, dates.
VARYING = re.compile(
    r"known@example\.org|stranger@example\.org|\b[A-Z2-9]{8}\b"
    r"|csrfmiddlewaretoken\" value=\"[^\"]+|[A-Za-z0-9_-]{32,}"
)


@pytest.fixture
def known_patron(place) -> Patron:
    """A regular: booked, confirmed from the e-mail, signed in, at this very library."""
    elsewhere = ResourceFactory(area=place.area)
    first = services.reservation_create(
        resource=elsewhere, email=KNOWN, start=TUESDAY_10, end=TUESDAY_10 + timedelta(hours=1)
    )
    services.reservation_confirm(reservation=first)
    patron = Patron.objects.get(email=KNOWN)
    assert patron.is_verified
    deliver_due()
    mail.outbox.clear()
    return patron


def comparable(response) -> tuple[int, dict[str, str], str]:
    headers = {
        k: VARYING.sub("", v)
        for k, v in response.headers.items()
        if k not in {"Set-Cookie", "Content-Length", "Date"}
    }
    return response.status_code, headers, VARYING.sub("", response.content.decode())


def test_booking_on_the_web_answers_the_same_for_a_regular_and_a_stranger(place, known_patron):
    later = TUESDAY_10 + timedelta(hours=3)
    answers = {}
    states = []
    for email in (KNOWN, UNKNOWN):
        browser = Client()
        posted = book(browser, place, email, start=later)
        page = browser.get(posted["Location"])
        answers[email] = (comparable(posted)[:2], VARYING.sub("", posted["Location"]))
        answers[email] += (comparable(page),)
        # The same place and time for both: the first one is freed again.
        booked = Reservation.objects.get(start=later, patron__email=email)
        states.append(booked.state)
        services.reservation_cancel_by_patron(reservation=booked)
    assert answers[KNOWN] == answers[UNKNOWN]
    # Both must confirm: a stranger could otherwise book confirmed places in someone's name.
    assert states == ["pending", "pending"]
    assert sorted(m.to[0] for m in mail.outbox if "/confirmer/" in m.body) == [KNOWN, UNKNOWN]


def test_booking_through_the_api_answers_the_same_for_a_regular_and_a_stranger(place, known_patron):
    later = TUESDAY_10 + timedelta(hours=3)
    answers = {}
    for email in (KNOWN, UNKNOWN):
        with TestCase.captureOnCommitCallbacks(execute=True):
            answer = Client().post(
                "/api/v1/reservations",
                {"place": place.pk, "start": later.isoformat(), "duration": 60, "email": email},
                content_type="application/json",
            )
        booked = Reservation.objects.get(start=later, patron__email=email)
        services.reservation_cancel_by_patron(reservation=booked)
        body = answer.json()
        reservation = body["reservation"]
        for varying in ("reference", "email", "created_at"):
            reservation.pop(varying)
        body.pop("token")
        answers[email] = (answer.status_code, comparable(answer)[1], json.dumps(body))
    assert answers[KNOWN] == answers[UNKNOWN]
    assert answers[KNOWN][0] == 201


def test_signing_in_on_the_web_answers_the_same_for_a_regular_and_a_stranger(place, known_patron):
    answers = {}
    for email in (KNOWN, UNKNOWN):
        with TestCase.captureOnCommitCallbacks(execute=True):
            posted = Client().post("/mes-reservations/", {"email": email})
        answers[email] = comparable(posted)
    assert answers[KNOWN] == answers[UNKNOWN]
    # Only the regular's inbox gets a link.
    assert [m.to for m in mail.outbox] == [[KNOWN]]


def test_signing_in_through_the_api_answers_the_same_for_a_regular_and_a_stranger(
    place, known_patron
):
    answers = {}
    for email in (KNOWN, UNKNOWN):
        with TestCase.captureOnCommitCallbacks(execute=True):
            answer = Client().post(
                "/api/v1/auth/code", {"email": email}, content_type="application/json"
            )
        answers[email] = comparable(answer)
    assert answers[KNOWN] == answers[UNKNOWN]
    assert answers[KNOWN][0] == 202
