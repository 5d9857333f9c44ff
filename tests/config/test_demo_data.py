"""The demo data the guide describes, created idempotently."""

from datetime import time

from django.core.management import call_command

from strapontin.reservations.models import Reservation
from strapontin.venues.models import Establishment, OpeningHours, ResourceKind


def test_seed_demo_builds_demo_bu_and_a_second_library_once(db):
    call_command("seed_demo")
    counts = (Establishment.objects.count(), Reservation.objects.count())
    call_command("seed_demo")
    assert (Establishment.objects.count(), Reservation.objects.count()) == counts

    bu = Establishment.objects.get(slug="demo-bu")
    assert bu.name == "Démo BU"
    assert [a.name for a in bu.areas.all()] == ["Étage 1", "Étage 2", "Étage 3"]
    assert bu.resources.filter(kind=ResourceKind.SEAT).count() >= 100
    assert bu.resources.filter(kind=ResourceKind.ROOM).count() == 4
    assert bu.resources.filter(features__isnull=False).distinct().count() > 50
    hours = set(
        OpeningHours.objects.filter(establishment=bu).values_list("weekday", "opens", "closes")
    )
    assert hours == {(d, time(8), time(22)) for d in range(6)}
    assert bu.timezone == "Europe/Paris"
    assert Establishment.objects.exclude(pk=bu.pk).exists()


def test_the_demo_data_passes_verify_data(db):
    """Its sample reservations have a history (audited as seeded) like any other."""
    from strapontin.reservations.integrity import find_violations

    call_command("seed_demo")
    assert Reservation.objects.exists()
    assert find_violations() == []


def test_the_demo_desk_has_patrons_arriving_now_and_nobody_present_before_their_start(db, clock):
    """At the desk of the demo, some reservations can be validated at once; none that has not
    started yet is already marked present."""
    from strapontin.core.clock import now
    from strapontin.reservations.models import ReservationState
    from strapontin.reservations.presence import reservation_check_in_at_desk
    from tests.factories import UserFactory

    call_command("seed_demo")
    bu = Reservation.objects.filter(establishment__slug="demo-bu")
    assert not bu.filter(state=ReservationState.CHECKED_IN, start__gt=now()).exists()
    assert bu.filter(state=ReservationState.CONFIRMED, start__gt=now()).exists()
    arriving = bu.filter(
        state=ReservationState.CONFIRMED, checkin_opens_at__lte=now(), checkin_closes_at__gt=now()
    )
    assert arriving.count() >= 3
    reservation_check_in_at_desk(reservation=arriving.first(), user=UserFactory(is_staff=True))


def test_the_demo_shows_a_break_a_forecast_and_a_domain_restricted_library(db, clock):
    """Issue 9's features have something to show from the first run: someone on a break at
    Démo BU (the library is open on the frozen Monday morning), weeks of validated presence
    for its forecast, and a library that admits only its university's addresses."""
    from strapontin.core.clock import now
    from strapontin.reservations.forecast import occupancy_forecast
    from strapontin.reservations.models import ReservationState
    from strapontin.venues.policy import effective_policy, email_domain_allowed
    from strapontin.venues.schedule import opening_hours_of

    call_command("seed_demo")
    bu = Establishment.objects.get(slug="demo-bu")
    (paused,) = Reservation.objects.filter(establishment=bu, state=ReservationState.ON_BREAK)
    assert paused.break_ends_at > now()
    assert paused.break_ends_at < paused.end
    today = now().astimezone(bu.tz).date()
    (forecast,) = occupancy_forecast(bu, [opening_hours_of(bu, today)], places=110)
    assert forecast.days_counted == 6
    assert max(hour.expected for hour in forecast.hours) > 10
    sciences = Establishment.objects.get(slug="bibliotheque-sciences")
    policy = effective_policy(sciences)
    assert email_domain_allowed(policy, "etudiant@etu.univ-demo.fr")
    assert not email_domain_allowed(policy, "someone@example.org")


def test_the_demo_has_a_waitlist_and_cancelling_a_group_room_offers_it_to_the_first(db, clock):
    from strapontin.reservations import services
    from strapontin.reservations.integrity import find_violations
    from strapontin.reservations.models import ReservationState, WaitlistRequest

    call_command("seed_demo")
    waiting = list(WaitlistRequest.objects.filter(establishment__slug="demo-bu"))
    assert [w.patron.email for w in waiting] == [
        "attente1@demo.strapontin.localhost",
        "attente2@demo.strapontin.localhost",
    ]
    room = Reservation.objects.filter(
        resource__kind=ResourceKind.ROOM, start=waiting[0].start
    ).first()
    assert room is not None
    services.reservation_cancel_by_patron(reservation=room)
    offer = Reservation.objects.get(state=ReservationState.OFFERED)
    assert offer.patron.email == "attente1@demo.strapontin.localhost"
    assert find_violations() == []
