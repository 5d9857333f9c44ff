"""Who is asking: the client's address, for rate limits.

``X-Forwarded-For`` is trusted only when the settings say how many reverse proxies stand in
front (``TRUSTED_PROXY_COUNT``); otherwise anyone could forge it to dodge a limit."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            # Each trusted proxy appends the address it received the request from.
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
