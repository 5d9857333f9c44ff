"""Point 6: rate limits and abuse. Past a threshold the answer is 429 with Retry-After; a
forged X-Forwarded-For dodges nothing; aliases of one inbox count as one patron; an address
cannot hold many unconfirmed places; the counters hold across processes, in the database
without Redis and atomically in Redis with it.

Also covered elsewhere (cited in docs/security.md): the web's check-in codes
(tests/presence/test_validate_views.py), the API's booking, check-in and sign-in throttles
(tests/api/test_errors.py, tests/api/test_sign_in.py)."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase

from strapontin.api import credentials
from strapontin.api import reservations as api_reservations
from strapontin.core import throttle
from strapontin.core.errors import DomainError
from strapontin.core.models import ThrottleCounter
from strapontin.public import throttling
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState, canonical_email
from strapontin.venues.models import BookingPolicy
from tests.factories import ResourceFactory, UserFactory
from tests.security.helpers import TUESDAY_10, book

pytestmark = pytest.mark.usefixtures("clock")

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/5")


def hours_later(hours: int):
    return TUESDAY_10 + timedelta(hours=hours)


# --- 429 with Retry-After --------------------------------------------------------------------


def test_web_booking_past_the_limit_is_429_with_retry_after(place, monkeypatch):
    monkeypatch.setattr(throttling, "BOOKINGS_PER_CLIENT", 2)
    browser = Client()
    assert book(browser, place, "a@example.org").status_code == 302
    assert book(browser, place, "b@example.org").status_code == 409  # counted too
    refused = book(browser, place, "c@example.org", start=hours_later(3))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    assert 'data-code="too_many_requests"' in refused.content.decode()
    assert not Patron.objects.filter(email="c@example.org").exists()
    # Another client is not concerned.
    elsewhere = Client(REMOTE_ADDR="10.9.9.9")
    assert book(elsewhere, place, "c@example.org", hours_later(3)).status_code == 302


def test_web_sign_in_requests_past_the_limit_are_429_with_retry_after(place, monkeypatch, clock):
    monkeypatch.setattr(throttling, "SIGN_IN_REQUESTS_PER_CLIENT", 3)
    browser = Client()
    for n in range(3):
        assert browser.post("/mes-reservations/", {"email": f"p{n}@example.org"}).status_code == 302
    refused = browser.post("/mes-reservations/", {"email": "p9@example.org"})
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 0 < wait <= 600
    clock.shift(timedelta(seconds=wait))
    assert browser.post("/mes-reservations/", {"email": "p9@example.org"}).status_code == 302


def test_a_forged_forwarded_for_dodges_no_limit_unless_a_proxy_is_trusted(
    place, monkeypatch, settings
):
    monkeypatch.setattr(throttling, "SIGN_IN_REQUESTS_PER_CLIENT", 2)

    def attempt(forwarded: str) -> int:
        return (
            Client(HTTP_X_FORWARDED_FOR=forwarded)
            .post("/mes-reservations/", {"email": "x@example.org"})
            .status_code
        )

    settings.TRUSTED_PROXY_COUNT = 0
    assert [attempt(f"203.0.113.{n}") for n in range(4)] == [302, 302, 429, 429]
    # Behind one trusted proxy, the address it appends is the client's own.
    settings.TRUSTED_PROXY_COUNT = 1
    assert [attempt(f"6.6.6.6, 198.51.100.{n}") for n in range(3)] == [302, 302, 302]
    assert [attempt("6.6.6.6, 198.51.100.7") for _ in range(3)] == [302, 302, 429]


# --- One inbox, many aliases -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("Alice+BU@Example.org", "alice@example.org"),
        ("alice+a+b@example.org", "alice@example.org"),
        ("a.l.i.c.e@gmail.com", "alice@gmail.com"),
        ("A.lice+x@googlemail.com", "alice@gmail.com"),
        ("a.lice@example.org", "a.lice@example.org"),  # dots matter outside gmail
    ],
)
def test_aliases_share_one_canonical_address(alias, canonical):
    assert canonical_email(alias) == canonical


def test_aliases_count_as_one_patron_for_the_daily_limit_and_mail_goes_to_each_alias(place):
    BookingPolicy.objects.create(establishment=place.establishment, max_per_day=2)
    book(Client(), place, "alice+one@example.org")
    book(Client(), ResourceFactory(area=place.area), "alice+two@example.org", hours_later(2))
    refused = book(Client(), ResourceFactory(area=place.area), "ALICE@example.org", hours_later(4))
    assert refused.status_code == 409
    assert refused.context["error_code"] == "limit_reached"
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice+one@example.org",
        "alice+two@example.org",
    ]


def test_gmail_dots_count_as_one_patron_for_overlaps(place):
    book(Client(), place, "jean.dupont@gmail.com")
    with pytest.raises(DomainError) as caught:
        services.reservation_create(
            resource=ResourceFactory(area=place.area),
            email="jeandupont+bu@gmail.com",
            start=TUESDAY_10,
            end=hours_later(1),
        )
    assert caught.value.code == "patron_overlap"


def test_sign_in_links_per_hour_count_the_whole_inbox(place):
    for alias in ("bob@example.org", "bob+1@example.org", "bob+2@example.org", "bob+3@example.org"):
        Patron.objects.create(email=alias)
    with TestCase.captureOnCommitCallbacks(execute=True):
        for alias in ("bob@example.org", "bob+1@example.org", "bob+2@example.org"):
            services.patron_request_sign_in(email=alias, language="fr")
        services.patron_request_sign_in(email="bob+3@example.org", language="fr")
    assert len(mail.outbox) == services.SIGN_IN_LINKS_PER_HOUR == 3


def test_api_sign_in_codes_per_hour_count_the_whole_inbox(db):
    with TestCase.captureOnCommitCallbacks(execute=True):
        for n in range(credentials.CODES_PER_ADDRESS + 2):
            credentials.sign_in_code_request(email=f"carol+{n}@example.org", language="fr")
    assert len(mail.outbox) == credentials.CODES_PER_ADDRESS


# --- Unconfirmed reservations per address ----------------------------------------------------


def test_an_address_holds_at_most_two_unconfirmed_reservations_by_default(place):
    assert BookingPolicy._meta.get_field("max_pending_per_patron").default == 2
    BookingPolicy.objects.create(establishment=place.establishment, max_per_day=10)
    assert book(Client(), place, "dan@example.org").status_code == 302
    assert book(Client(), place, "dan+2@example.org", start=hours_later(2)).status_code == 302
    # Another inbox: dots matter outside gmail.com.
    assert book(Client(), place, "d.a.n@example.org", start=hours_later(4)).status_code == 302
    refused = book(Client(), place, "dan+3@example.org", start=hours_later(6))
    assert refused.status_code == 409
    assert refused.context["error_code"] == "too_many_pending"
    # Confirming one frees room for another.
    services.reservation_confirm(
        reservation=Reservation.objects.get(patron__email="dan@example.org")
    )
    assert book(Client(), place, "dan+3@example.org", start=hours_later(6)).status_code == 302


def test_the_cap_on_unconfirmed_reservations_is_a_policy_field_and_spares_the_desk(place):
    BookingPolicy.objects.create(
        establishment=place.establishment, max_per_day=10, max_pending_per_patron=1
    )
    book(Client(), place, "erin@example.org")
    assert book(Client(), place, "erin@example.org", start=hours_later(2)).status_code == 409
    at_desk = services.reservation_create(
        resource=place,
        email="erin@example.org",
        start=hours_later(2),
        end=hours_later(3),
        booked_by=UserFactory(),
    )
    assert at_desk.state == ReservationState.CONFIRMED


# --- The counters: database without Redis, Redis with it -------------------------------------


def hammer(scope: str, *, clients: int, limit: int) -> list[int]:
    """``clients`` threads hit one counter at once; the waits they were told."""
    barrier = threading.Barrier(clients, timeout=30)

    def one(_n: int) -> int:
        from django.db import connection

        barrier.wait()
        try:
            return throttle.hit(scope, "198.51.100.1", limit=limit, window=timedelta(minutes=10))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, range(clients)))


@pytest.mark.django_db(transaction=True)
def test_without_redis_the_database_counts_every_attempt_of_parallel_clients(settings):
    settings.REDIS_URL = ""
    waits = hammer("test.db", clients=12, limit=5)
    assert sum(1 for w in waits if w == 0) == 5
    assert all(0 < w <= 600 for w in waits if w)
    (row,) = ThrottleCounter.objects.all()
    assert row.count == 12


@pytest.fixture
def redis_cache(settings):
    """Our own Redis database (never flushed: only the keys this test wrote are deleted)."""
    import redis

    connection = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI ({REDIS_TEST_URL})")
        pytest.skip(f"needs a Redis server at {REDIS_TEST_URL} (apt-get install redis-server)")
    prefix = f"strapontin-test-{os.getpid()}-{threading.get_ident()}"
    settings.REDIS_URL = REDIS_TEST_URL
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield connection
    for key in connection.scan_iter(match=f"{prefix}:*"):
        connection.delete(key)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_with_redis_the_counters_live_in_redis_and_count_atomically(redis_cache):
    waits = hammer("test.redis", clients=12, limit=5)
    assert sum(1 for w in waits if w == 0) == 5
    assert not ThrottleCounter.objects.exists()
    keys = [k.decode() for k in redis_cache.scan_iter(match="*test.redis*")]
    assert len(keys) == 1
    assert int(redis_cache.get(keys[0])) == 12
    assert redis_cache.ttl(keys[0]) > 0
    assert throttle.blocked("test.redis", "198.51.100.1", limit=5, window=timedelta(minutes=10))
    assert cache.get("nothing-here") is None


@pytest.mark.django_db(transaction=True)
def test_with_redis_the_web_booking_limit_answers_429(redis_cache, place, monkeypatch):
    monkeypatch.setattr(throttling, "BOOKINGS_PER_CLIENT", 1)
    browser = Client()
    assert book(browser, place, "f@example.org").status_code == 302
    assert book(browser, place, "g@example.org", start=hours_later(2)).status_code == 429
    assert not ThrottleCounter.objects.exists()


def test_with_redis_a_restarted_server_still_counts_every_attempt(redis_cache):
    """The count goes straight to a pooled connection: a connection the server dropped, or a
    server that lost its scripts (a restart), must cost neither an error nor an attempt."""
    count = partial(
        throttle.hit, "test.restart", "198.51.100.7", limit=2, window=timedelta(hours=1)
    )
    assert count() == 0
    redis_cache.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    assert count() == 0
    redis_cache.script_flush()
    assert count() > 0
    (key,) = [k.decode() for k in redis_cache.scan_iter(match="*test.restart*")]
    assert int(redis_cache.get(key)) == 3


@pytest.mark.django_db(transaction=True)
def test_with_redis_the_api_booking_limit_answers_429_and_gives_the_connection_back(
    redis_cache, place, monkeypatch
):
    """The API's count is sent before its reads and read after them: past the limit the
    answer is still a 429, and each request gives its Redis connection back to the pool."""
    monkeypatch.setattr(api_reservations, "BOOKINGS_PER_CLIENT", 1)
    app = Client()

    def api_book(email: str, start) -> int:
        payload = {"place": place.pk, "start": start.isoformat(), "duration": 60, "email": email}
        return app.post("/api/v1/reservations", payload, content_type="application/json")

    assert api_book("h@example.org", TUESDAY_10).status_code == 201
    refused = api_book("i@example.org", hours_later(2))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    pool = cache._cache.get_client(None, write=True).connection_pool
    assert pool._in_use_connections == set()
    assert Reservation.objects.count() == 1
