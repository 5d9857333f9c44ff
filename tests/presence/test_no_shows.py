"""Repeated no-shows: by default 3 within 30 days suspend booking at that establishment for
7 days; the patron is told by e-mail and in "Mes réservations"; staff can lift it; no-shows
that led to a suspension never count again."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations.models import OutboxMessage, Patron, ReservationState, Suspension
from strapontin.reservations.presence import suspension_lift
from strapontin.reservations.services import active_suspension
from strapontin.reservations.sweeps import sweep_no_shows
from strapontin.venues.models import BookingPolicy, Resource
from tests.conftest import paris
from tests.factories import ResourceFactory
from tests.presence.conftest import at, book, book_confirmed, reload

pytestmark = pytest.mark.usefixtures("clock")

#: Booked on Monday 2 March at 09:00: Monday, Tuesday and Wednesday at 10:00.
DAYS = [paris(2026, 3, d, 10, 0) for d in (2, 3, 4)]
THIRD_CLOSE = paris(2026, 3, 4, 10, 30)


def miss(place: Resource, start: datetime, email: str = "alice@example.org") -> None:
    """Book ``start`` now, let its window close without validation, sweep."""
    reservation = book_confirmed(place, email=email, start=start)
    with at(reservation.checkin_closes_at):
        assert sweep_no_shows() == 1


def miss_three(place: Resource) -> list:
    reservations = [book_confirmed(place, start=start) for start in DAYS]
    for reservation in reservations:
        with at(reservation.checkin_closes_at):
            assert sweep_no_shows() == 1
    return reservations


def staff():
    return get_user_model().objects.create_user("desk", is_staff=True)


def test_two_no_shows_do_not_suspend(place):
    reservations = [book_confirmed(place, start=start) for start in DAYS[:2]]
    for reservation in reservations:
        with at(reservation.checkin_closes_at):
            sweep_no_shows()
    assert not Suspension.objects.exists()


def test_the_third_no_show_in_thirty_days_suspends_for_seven_days_with_an_email(place, capture):
    reservations = [book_confirmed(place, start=start) for start in DAYS]
    for reservation in reservations[:2]:
        with at(reservation.checkin_closes_at), capture():
            sweep_no_shows()
    mail.outbox.clear()
    with at(THIRD_CLOSE), capture():
        assert sweep_no_shows() == 1
    suspension = Suspension.objects.get()
    assert suspension.patron.email == "alice@example.org"
    assert suspension.establishment == place.establishment
    assert (suspension.starts_at, suspension.ends_at) == (THIRD_CLOSE, paris(2026, 3, 11, 10, 30))
    assert suspension.no_shows == 3
    assert entries_for(suspension).filter(action="patron.suspended").count() == 1
    assert OutboxMessage.objects.filter(cause="patron.suspended").count() == 1
    no_show, suspended = mail.outbox  # the no-show, then the suspension
    assert no_show.to == suspended.to == ["alice@example.org"]
    assert place.establishment.name in suspended.subject
    assert "11 mars 2026" in suspended.body
    assert "10:30" in suspended.body


def test_a_suspended_patron_cannot_book_here_until_it_ends(place):
    miss_three(place)
    with at(THIRD_CLOSE + timedelta(minutes=1)), pytest.raises(DomainError) as caught:
        book(place, start=paris(2026, 3, 5, 10, 0))
    assert caught.value.code == "suspended"
    assert "11 mars 2026, 10:30" in caught.value.message
    with at(paris(2026, 3, 11, 10, 30)):
        assert book_confirmed(place, start=paris(2026, 3, 12, 10, 0)).pk


def test_a_suspension_holds_for_every_alias_of_the_inbox_and_ends_when_lifted(place):
    miss_three(place)
    with at(THIRD_CLOSE + timedelta(minutes=1)), pytest.raises(DomainError) as caught:
        book(place, email="Alice+BU@example.org", start=paris(2026, 3, 5, 10, 0))
    assert caught.value.code == "suspended"
    Suspension.objects.update(lifted_at=THIRD_CLOSE)
    with at(THIRD_CLOSE + timedelta(minutes=2)):
        assert book(place, email="alice+bu@example.org", start=paris(2026, 3, 5, 10, 0)).pk


def test_the_suspension_is_per_establishment(place):
    miss_three(place)
    elsewhere = ResourceFactory()
    with at(THIRD_CLOSE + timedelta(minutes=1)):
        other = book_confirmed(elsewhere, start=paris(2026, 3, 5, 10, 0))
    assert other.pk


def test_my_reservations_shows_when_the_suspension_ends(place, client):
    miss_three(place)
    session = client.session
    session["patron_id"] = Patron.objects.get().pk
    session.save()
    with at(THIRD_CLOSE + timedelta(minutes=1)):
        page = client.get(reverse("public:my_reservations"))
    assert page.status_code == 200
    (notice,) = re.findall(r'<p class="notice" role="status">(.*?)</p>', page.text, re.S)
    assert place.establishment.name in notice
    assert "11 mars" in notice
    assert "10:30" in notice


def test_another_browser_does_not_see_the_suspension(place, client):
    miss_three(place)
    with at(THIRD_CLOSE + timedelta(minutes=1)):
        page = client.get(reverse("public:my_reservations"))
    assert 'class="notice"' not in page.text


def test_lifting_the_suspension_lets_the_patron_book_again(place):
    miss_three(place)
    suspension = Suspension.objects.get()
    user = staff()
    with at(THIRD_CLOSE + timedelta(hours=1)):
        suspension_lift(suspension=suspension, user=user, reason="Malade")
        suspension_lift(suspension=suspension, user=user)  # twice: harmless
        assert active_suspension(suspension.patron, place.establishment.pk, THIRD_CLOSE) is None
        again = book_confirmed(place, start=paris(2026, 3, 5, 10, 0))
    assert again.pk
    lifted = Suspension.objects.get()
    assert (lifted.lifted_at, lifted.lifted_by) == (THIRD_CLOSE + timedelta(hours=1), user)
    (entry,) = entries_for(lifted).filter(action="patron.suspension_lifted")
    assert (entry.actor, entry.reason) == (user, "Malade")


def test_no_shows_before_a_suspension_do_not_count_again_after_it(place):
    miss_three(place)
    with at(THIRD_CLOSE + timedelta(minutes=30)):
        suspension_lift(suspension=Suspension.objects.get(), user=staff())
        for day in (5, 6):
            miss(place, paris(2026, 3, day, 10, 0))
    # Five no-shows within 30 days, but only two since the suspension.
    assert Suspension.objects.count() == 1
    with at(THIRD_CLOSE + timedelta(minutes=30)):
        miss(place, paris(2026, 3, 7, 10, 0))
    assert Suspension.objects.count() == 2
    latest = Suspension.objects.order_by("-starts_at").first()
    assert (latest.starts_at, latest.no_shows) == (paris(2026, 3, 7, 10, 30), 3)


def test_no_shows_older_than_the_period_do_not_count(place):
    for start in DAYS[:2]:  # 2 and 3 March, 10:00
        miss(place, start)
    # On 2 April at 10:30, 2 March 10:00 is more than 30 days ago, 3 March 10:00 is not.
    with at(paris(2026, 4, 2, 9, 0)):
        miss(place, paris(2026, 4, 2, 10, 0))
    assert not Suspension.objects.exists()


def test_no_limit_means_no_suspension(place):
    BookingPolicy.objects.create(establishment=place.establishment, noshow_limit=0)
    reservations = miss_three(place)
    assert not Suspension.objects.exists()
    assert all(reload(r).state == ReservationState.NO_SHOW for r in reservations)


def test_the_area_policy_sets_the_limit_and_the_length(place):
    BookingPolicy.objects.create(
        establishment=place.establishment,
        area=place.area,
        noshow_limit=2,
        noshow_period_days=10,
        noshow_suspension_days=3,
    )
    for start in DAYS[:2]:
        miss(place, start)
    suspension = Suspension.objects.get()
    assert suspension.ends_at - suspension.starts_at == timedelta(days=3)
    assert suspension.no_shows == 2
