"""E-mail bodies in the patron's language: what each one must say (the guide's words)."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from strapontin.reservations import services
from tests.conftest import paris

pytestmark = pytest.mark.usefixtures("clock")


def _book(place, language, email="alice@example.org", day=3):
    return services.reservation_create(
        resource=place,
        email=email,
        language=language,
        start=paris(2026, 3, day, 10, 0),
        end=paris(2026, 3, day, 11, 0),
    )


@pytest.mark.parametrize(
    ("language", "confirm_words", "cancel_words", "spam_free_deadline"),
    [
        ("fr", "Confirmer ma réservation", "Annuler ma réservation", "11:00"),
        ("en", "Confirm my reservation", "Cancel my reservation", "11:00"),
    ],
)
def test_confirmation_request_speaks_the_patrons_language(
    place,
    django_capture_on_commit_callbacks,
    language,
    confirm_words,
    cancel_words,
    spam_free_deadline,
):
    with django_capture_on_commit_callbacks(execute=True):
        _book(place, language)
    (message,) = mail.outbox
    html = message.alternatives[0].content
    for body in (message.body, html):
        assert confirm_words in body
        assert cancel_words in body
        assert spam_free_deadline in body
        assert "/confirmer/" in body
        assert "/annuler/" in body
    assert place.establishment.name in message.subject


@pytest.mark.parametrize(
    ("language", "words"), [("fr", "Annuler ma réservation"), ("en", "Cancel my reservation")]
)
def test_confirmed_email_has_details_ics_and_cancel_link(
    place, django_capture_on_commit_callbacks, language, words
):
    with django_capture_on_commit_callbacks(execute=True):
        reservation = _book(place, language)
        services.reservation_confirm(reservation=reservation)
    message = mail.outbox[-1]
    assert words in message.body
    assert reservation.reference in message.body
    assert place.label in message.body
    (ics,) = message.attachments
    assert ics.mimetype == "text/calendar"
    assert "DTSTART:20260303T090000Z" in ics.content
    assert f"UID:{reservation.reference}@strapontin" in ics.content


@pytest.mark.parametrize(
    ("language", "why"), [("fr", "Fermeture exceptionnelle"), ("en", "Fermeture exceptionnelle")]
)
def test_cancellation_email_says_why(place, django_capture_on_commit_callbacks, language, why):
    staff = get_user_model().objects.create_user("desk", is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        reservation = _book(place, language)
        services.reservation_cancel_by_staff(reservation=reservation, user=staff, reason=why)
    message = mail.outbox[-1]
    assert why in message.body
    staff_words = {"fr": "personnel", "en": "staff"}[language]
    assert staff_words in message.body


def test_expiry_email_explains_the_missing_confirmation_in_french(
    place, django_capture_on_commit_callbacks
):
    import time_machine

    from strapontin.reservations.sweeps import sweep_unconfirmed

    with django_capture_on_commit_callbacks(execute=True):
        _book(place, "fr")
    with time_machine.travel(paris(2026, 3, 2, 11, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_unconfirmed()
    message = mail.outbox[-1]
    assert "Confirmer ma réservation" in message.body
    assert "annulée" in message.subject.lower() or "annulée" in message.body
