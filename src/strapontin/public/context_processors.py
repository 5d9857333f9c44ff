from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    # BASE_URL: what the entrance QR codes encode, which the check-in scanner recognises.
    return {"demo_mailbox": settings.DEMO_MAILBOX, "site_base_url": settings.BASE_URL}
