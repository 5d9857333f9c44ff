"""Staff of two establishments, A and B, and reservations built through the services on the
frozen Monday (2 March 2026, 09:00 in Paris)."""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
import zxingcpp
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image, ImageDraw

from strapontin.core.clock import now
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues.models import Establishment, Resource
from tests.conftest import paris
from tests.factories import ResourceFactory, StaffRoleFactory, UserFactory

#: Today at 10:00: the check-in window opens at 09:45 and closes at 10:30.
TODAY_10 = paris(2026, 3, 2, 10, 0)


def book_confirmed(
    place: Resource, email: str = "alice@example.org", start: datetime = TODAY_10
) -> Reservation:
    """A verified address books from a browser it proved: confirmed at once."""
    patron, _created = Patron.objects.get_or_create(email=email, defaults={"verified_at": now()})
    reservation = services.reservation_create(
        resource=place,
        email=email,
        start=start,
        end=start + timedelta(hours=1),
        known_patron_id=patron.pk,
    )
    assert reservation.state == ReservationState.CONFIRMED
    return reservation


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def place_a(db: None) -> Resource:
    return ResourceFactory(area__establishment__slug="bib-a", area__establishment__name="Bib A")


@pytest.fixture
def place_b(db: None) -> Resource:
    return ResourceFactory(area__establishment__slug="bib-b", area__establishment__name="Bib B")


@pytest.fixture
def a(place_a: Resource) -> Establishment:
    return place_a.establishment


@pytest.fixture
def b(place_b: Resource) -> Establishment:
    return place_b.establishment


@pytest.fixture
def agent(a: Establishment) -> User:
    """A desk agent of A only."""
    return StaffRoleFactory(establishment=a, role="desk", user__username="agent-a").user


@pytest.fixture
def manager(a: Establishment) -> User:
    """A manager of A only."""
    return StaffRoleFactory(establishment=a, role="manager", user__username="manager-a").user


@pytest.fixture
def superuser(db: None) -> User:
    return UserFactory(username="root", is_superuser=True)


def decode_qr_svg(html: str) -> list[str]:
    """Decode every inline QR code of a page, reading the SVG the page really contains.

    segno draws each row of dark modules as horizontal strokes one module thick: ``M x y``
    moves to an absolute point, ``m dx dy`` moves relatively, ``h dx`` draws. The strokes are
    painted module by module on a white image, which zxing-cpp then reads like a camera."""
    found = []
    for svg in re.findall(r"<svg[^>]*>.*?</svg>", html, flags=re.S):
        size = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
        path = re.search(r'<path[^>]* d="([^"]+)"', svg)
        assert size, svg[:200]
        assert path, svg[:200]
        scale = 8
        width, height = int(size.group(1)), int(size.group(2))
        image = Image.new("L", (width * scale, height * scale), 255)
        draw = ImageDraw.Draw(image)
        x = y = 0.0
        for command, numbers in re.findall(r"([A-Za-z])([^A-Za-z]*)", path.group(1)):
            values = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", numbers)]
            if command == "M":
                x, y = values
            elif command == "m":
                x, y = x + values[0], y + values[1]
            elif command == "h":
                row = int(y)
                draw.rectangle(
                    [x * scale, row * scale, (x + values[0]) * scale - 1, (row + 1) * scale - 1],
                    fill=0,
                )
                x += values[0]
            else:
                raise AssertionError(f"unexpected SVG path command {command!r}")
        found.extend(barcode.text for barcode in zxingcpp.read_barcodes(image))
    return found
