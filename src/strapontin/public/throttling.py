"""Rate limits of the patron pages: past a threshold, 429 with ``Retry-After``.

Counted per client address (see core/clients: ``X-Forwarded-For`` only behind configured
proxies), in the database or in Redis (core/throttle). What an inbox may receive is limited
by the services themselves, per canonical address, so aliases do not multiply it."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from strapontin.core import throttle
from strapontin.core.clients import client_address

WINDOW = timedelta(minutes=10)
#: A library's Wi-Fi puts many honest patrons behind one address: generous, yet a bound
#: (the BOOKINGS_PER_CLIENT setting).
BOOKINGS_PER_CLIENT: int = settings.BOOKINGS_PER_CLIENT
SIGN_IN_REQUESTS_PER_CLIENT = 10


def wait_for(request: HttpRequest, scope: str, *, per: int, window: timedelta = WINDOW) -> int:
    """Count this request; the seconds to wait if it is one too many, else 0."""
    return throttle.hit(f"web.{scope}", client_address(request), limit=per, window=window)


def too_many(request: HttpRequest, wait: int) -> HttpResponse:
    response = render(request, "429.html", {"minutes": max(1, -(-wait // 60))}, status=429)
    response["Retry-After"] = str(wait)
    return response
