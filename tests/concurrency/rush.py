"""Rushes of real HTTP clients on a live server: every client first GETs the booking page for
its own CSRF cookie and token, then all POSTs leave together from a barrier, each on its own
thread and its own keep-alive connection."""

import contextlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.public.forms import slot_value
from strapontin.reservations.models import HOLDING_STATES, Reservation
from strapontin.venues.models import Resource
from tests.conftest import PARIS

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Booking:
    place: Resource
    start: datetime
    email: str
    duration: int = 60

    @property
    def url(self) -> str:
        return reverse("public:book", kwargs={"slug": self.place.establishment.slug})

    @property
    def slot(self) -> str:
        return slot_value(self.place.pk, self.start)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str

    @property
    def code(self) -> str | None:
        found = re.search(r'data-code="([^"]*)"', self.body)
        return found.group(1) if found else None


def tomorrow_at_ten() -> datetime:
    """On the 30-minute grid, inside the default opening hours (08:00–22:00) and horizon."""
    tomorrow = now().astimezone(PARIS).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=PARIS)


def rush(live_server: LiveServer, bookings: list[Booking]) -> list[Answer]:
    """Open one client per booking (GET: cookie and token), then POST all at once."""
    clients = [httpx.Client(base_url=live_server.url, timeout=60) for _ in bookings]
    try:
        tokens = []
        for client, booking in zip(clients, bookings, strict=True):
            page = client.get(
                booking.url, params={"slot": booking.slot, "duration": booking.duration}
            )
            token = CSRF_INPUT.search(page.text)
            assert page.status_code == 200, page.text
            assert token, "the booking page carries no CSRF token"
            tokens.append(token.group(1))
        barrier = threading.Barrier(len(bookings), timeout=30)

        def post(index: int) -> Answer:
            booking = bookings[index]
            barrier.wait()
            answer = clients[index].post(
                booking.url,
                data={
                    "csrfmiddlewaretoken": tokens[index],
                    "slot": booking.slot,
                    "duration": booking.duration,
                    "email": booking.email,
                },
            )
            return Answer(answer.status_code, answer.text)

        with ThreadPoolExecutor(max_workers=len(bookings)) as pool:
            return list(pool.map(post, range(len(bookings))))
    finally:
        for client in clients:
            client.close()


class FirstArrivals:
    """The first ``parties`` threads to call ``wait`` go on together; later callers pass straight
    through. A race made certain rather than likely: a pause would only make it likely, and a
    loaded machine can spread a rush's requests over more than any pause (up to 30 s wait)."""

    def __init__(self, parties: int) -> None:
        self._arrivals = iter(range(parties))
        self._barrier = threading.Barrier(parties, timeout=30)
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            among_the_first = next(self._arrivals, None) is not None
        if among_the_first:
            with contextlib.suppress(threading.BrokenBarrierError):
                self._barrier.wait()


def unexpected(answers: list[Answer], *codes: str) -> list[tuple[int, str | None, str]]:
    """Answers that are neither a booking (302) nor a 409 with one of ``codes``."""
    return [
        (a.status, a.code, a.body[:300])
        for a in answers
        if a.status != 302 and not (a.status == 409 and a.code in codes)
    ]


def holding(**filters: object) -> int:
    return Reservation.objects.filter(state__in=HOLDING_STATES, **filters).count()
