"""The API's booking under a rush of apps, each signed in with its own patron token used for
the first time: on SQLite and PostgreSQL, every answer is a booking or a clear "taken", never
a 5xx (the token's last use is written in the same request as the booking's reads)."""

import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from pytest_django.live_server_helper import LiveServer

from strapontin.api.credentials import hash_secret
from strapontin.api.models import PatronToken
from strapontin.core.clock import now
from strapontin.reservations.models import Patron, Reservation
from tests.concurrency.rush import tomorrow_at_ten
from tests.factories import AreaFactory, ResourceFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("transactional_db")]

APPS = 24


def signed_in_apps(count: int) -> list[str]:
    """Raw patron tokens of ``count`` verified patrons, never used yet."""
    moment = now()
    raws = []
    for n in range(count):
        patron = Patron.objects.create(email=f"app{n}@example.org", verified_at=moment)
        raw = secrets.token_urlsafe(32)
        PatronToken.objects.create(
            patron=patron,
            token_hash=hash_secret(raw),
            created_at=moment,
            expires_at=moment + timedelta(days=365),
        )
        raws.append(raw)
    return raws


def test_apps_booking_at_once_with_new_tokens_get_a_place_or_taken_never_a_5xx(
    live_server: LiveServer,
) -> None:
    places = ResourceFactory.create_batch(APPS // 3, area=AreaFactory())
    tokens = signed_in_apps(APPS)
    start = tomorrow_at_ten().isoformat()
    barrier = threading.Barrier(APPS, timeout=30)

    def book(n: int) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            barrier.wait()
            return client.post(
                "/api/v1/reservations",
                json={"place": places[n % len(places)].pk, "start": start, "duration": 60},
                headers={"Authorization": f"Bearer {tokens[n]}"},
            )

    with ThreadPoolExecutor(max_workers=APPS) as pool:
        answers = list(pool.map(book, range(APPS)))

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: len(places), 409: APPS - len(places)}, [
        a.text[:200] for a in answers if a.status_code not in (201, 409)
    ]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"slot_taken"}
    assert Reservation.objects.filter(state="confirmed").count() == len(places)
    assert PatronToken.objects.filter(last_used_at__isnull=True).count() == 0
