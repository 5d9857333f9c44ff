"""Confirm, cancel, expire, sign in: each transition, its edges, its audit entry and e-mail."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations import services
from strapontin.reservations.models import (
    AccessToken,
    CancelCause,
    OutboxMessage,
    Patron,
    ReservationState,
    TokenPurpose,
)
from strapontin.reservations.sweeps import sweep_unconfirmed
from strapontin.reservations.tokens import find_token, hash_token
from tests.conftest import paris

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def pending(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.reservation_create(
            resource=place,
            email="alice@example.org",
            start=paris(2026, 3, 3, 10, 0),
            end=paris(2026, 3, 3, 11, 0),
        )


def test_confirming_before_the_deadline_confirms_and_verifies_the_address(pending):
    with time_machine.travel(pending.confirmation_deadline - timedelta(seconds=1), tick=False):
        confirmed = services.reservation_confirm(reservation=pending)
    assert confirmed.state == ReservationState.CONFIRMED
    assert Patron.objects.get().is_verified
    assert [e.action for e in entries_for(confirmed).order_by("id")] == [
        "reservation.requested",
        "reservation.confirmed",
    ]


def test_confirming_after_the_deadline_expires_and_says_so(pending):
    with time_machine.travel(pending.confirmation_deadline + timedelta(seconds=1), tick=False):
        with pytest.raises(DomainError) as caught:
            services.reservation_confirm(reservation=pending)
    assert caught.value.code == "confirmation_expired"
    pending.refresh_from_db()
    assert pending.state == ReservationState.EXPIRED
    assert not Patron.objects.get().is_verified


def test_confirming_twice_is_harmless(pending):
    services.reservation_confirm(reservation=pending)
    again = services.reservation_confirm(reservation=pending)
    assert again.state == ReservationState.CONFIRMED
    assert OutboxMessage.objects.filter(cause="reservation.confirmed").count() == 1


def test_a_cancelled_reservation_cannot_be_confirmed(pending):
    services.reservation_cancel_by_patron(reservation=pending)
    with pytest.raises(DomainError) as caught:
        services.reservation_confirm(reservation=pending)
    assert caught.value.code == "not_pending"


def test_sweep_expires_overdue_reservations_once_and_emails_why(
    pending, django_capture_on_commit_callbacks
):
    with time_machine.travel(pending.confirmation_deadline - timedelta(seconds=1), tick=False):
        assert sweep_unconfirmed() == 0
    mail.outbox.clear()
    with time_machine.travel(pending.confirmation_deadline, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert sweep_unconfirmed() == 1
            assert sweep_unconfirmed() == 0
    pending.refresh_from_db()
    assert pending.state == ReservationState.EXPIRED
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "confirm" in mail.outbox[0].body.lower() or "confirm" in mail.outbox[0].body


def test_patron_cancels_and_the_place_is_free_again(pending, place):
    cancelled = services.reservation_cancel_by_patron(reservation=pending)
    assert cancelled.state == ReservationState.CANCELLED
    assert cancelled.cancel_cause == CancelCause.PATRON
    again = services.reservation_create(
        resource=place, email="bob@example.org", start=pending.start, end=pending.end
    )
    assert again.state == ReservationState.PENDING


def test_cancelling_twice_is_harmless(pending):
    services.reservation_cancel_by_patron(reservation=pending)
    services.reservation_cancel_by_patron(reservation=pending)
    assert OutboxMessage.objects.filter(cause="reservation.cancelled").count() == 1


def test_a_finished_reservation_cannot_be_cancelled(pending):
    services.reservation_confirm(reservation=pending)
    with time_machine.travel(pending.end + timedelta(minutes=1), tick=False):
        with pytest.raises(DomainError) as caught:
            services.reservation_cancel_by_patron(reservation=pending)
    assert caught.value.code == "not_cancellable"


def test_staff_cancel_needs_a_reason_that_reaches_the_patron(
    pending, django_capture_on_commit_callbacks
):
    staff = get_user_model().objects.create_user("desk", is_staff=True)
    with pytest.raises(DomainError) as caught:
        services.reservation_cancel_by_staff(reservation=pending, user=staff, reason="  ")
    assert caught.value.code == "reason_required"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.reservation_cancel_by_staff(
            reservation=pending, user=staff, reason="Fermeture exceptionnelle"
        )
    assert cancelled.cancel_cause == CancelCause.STAFF
    assert "Fermeture exceptionnelle" in mail.outbox[0].body
    entry = entries_for(cancelled).filter(action="reservation.cancelled_by_staff").get()
    assert (entry.actor, entry.reason) == (staff, "Fermeture exceptionnelle")


def test_tokens_are_stored_hashed_single_purpose_and_long(pending):
    tokens = AccessToken.objects.filter(reservation=pending)
    assert {t.purpose for t in tokens} == {TokenPurpose.CONFIRM, TokenPurpose.CANCEL}
    confirm = tokens.get(purpose=TokenPurpose.CONFIRM)
    assert confirm.expires_at == pending.confirmation_deadline
    body = mail.outbox[0].body
    raw = body.split("/r/")[1].split("/")[0]
    assert len(raw) >= 32  # 24 random bytes, base64url: 192 bits
    assert raw not in {t.token_hash for t in tokens}
    assert hash_token(raw) in {t.token_hash for t in tokens}


def test_sign_in_link_is_sent_only_to_known_addresses_and_works_once(
    pending, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.patron_request_sign_in(email="nobody@example.org", language="fr")
        services.patron_request_sign_in(email="ALICE@example.org", language="en")
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    raw = mail.outbox[0].body.split("/r/")[1].split("/")[0]
    patron = services.patron_sign_in(token=find_token(raw, TokenPurpose.SIGN_IN))
    assert patron.email == "alice@example.org"
    assert patron.is_verified
    with pytest.raises(DomainError) as caught:
        services.patron_sign_in(token=find_token(raw, TokenPurpose.SIGN_IN))
    assert caught.value.code == "token_invalid"


def test_sign_in_link_expires_after_thirty_minutes(pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.patron_request_sign_in(email="alice@example.org", language="fr")
    raw = mail.outbox[-1].body.split("/r/")[1].split("/")[0]
    with time_machine.travel(paris(2026, 3, 2, 9, 30), tick=False):
        with pytest.raises(DomainError) as caught:
            services.patron_sign_in(token=find_token(raw, TokenPurpose.SIGN_IN))
    assert caught.value.code == "token_invalid"


def test_resending_is_limited(pending):
    for _ in range(3):
        services.reservation_resend_email(reservation=pending)
    with pytest.raises(DomainError) as caught:
        services.reservation_resend_email(reservation=pending)
    assert caught.value.code == "resend_limit"


def test_state_is_assigned_only_in_the_services_module():
    """A convention made a check (STYLE.md §10): transitions live in the service modules."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "src" / "strapontin"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"\.state\s*=[^=]", path.read_text())
        and path.name not in {"services.py", "presence.py", "notifications.py", "waitlist.py"}
        and "migrations" not in path.parts
    ]
    assert offenders == []


def test_sign_in_links_are_capped_per_address_and_hour(pending):
    for _ in range(5):
        services.patron_request_sign_in(email="alice@example.org", language="fr")
    assert AccessToken.objects.filter(purpose=TokenPurpose.SIGN_IN).count() == 3
    with time_machine.travel(paris(2026, 3, 2, 10, 1), tick=False):
        services.patron_request_sign_in(email="alice@example.org", language="fr")
    assert AccessToken.objects.filter(purpose=TokenPurpose.SIGN_IN).count() == 4
