"""A library with fair opening: on Monday 2 March 2026 at 09:00 (the frozen clock) the day
a week ahead, Monday 9 March, opens with requests collected until 09:05, then drawn."""

from datetime import time, timedelta

import pytest
from django.test import Client, TestCase

from strapontin.public.forms import slot_value
from strapontin.reservations import lottery
from strapontin.reservations.models import DrawRequest, Patron
from strapontin.venues.models import BookingPolicy, Establishment, Resource
from tests.conftest import paris
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory

#: The day opening by lottery, and a slot on it.
DRAWN_DAY = paris(2026, 3, 9, 10, 0).date()
SLOT = paris(2026, 3, 9, 10, 0)
#: The window: 09:00 to 09:05 on Monday 2 March.
WINDOW_CLOSES = paris(2026, 3, 2, 9, 5)


@pytest.fixture
def fair(db: None) -> Establishment:
    establishment = EstablishmentFactory(slug="bu-fair")
    BookingPolicy.objects.create(
        establishment=establishment,
        horizon_days=7,
        day_opens_at=time(9, 0),
        fair_opening=True,
        fair_window_minutes=5,
    )
    return establishment


@pytest.fixture
def seats(fair: Establishment) -> list[Resource]:
    area = AreaFactory(establishment=fair, name="Étage 1")
    return [ResourceFactory(area=area, label=f"Place {n}", position=n) for n in range(1, 4)]


def ask(client: Client, seat: Resource, email: str, *, start=SLOT, flexible: bool = False):
    """The web's "Réserver" POST during the window; e-mails leave after the commit."""
    data = {"slot": slot_value(seat.pk, start), "duration": 60, "email": email}
    if flexible:
        data["flexible"] = "on"
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/{seat.establishment.slug}/reservation/reserver/", data)


def entered(seat: Resource, email: str, *, start=SLOT, flexible: bool = False) -> DrawRequest:
    """A request of an address proven on this browser (it enters the draw at once)."""
    patron, _created = Patron.objects.get_or_create(
        email=email, defaults={"verified_at": paris(2026, 2, 1, 12, 0)}
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        made = lottery.draw_request_create(
            resource=seat,
            email=email,
            start=start,
            end=start + timedelta(hours=1),
            known_patron_id=patron.pk,
            flexible=flexible,
        )
    assert made is not None
    return made
