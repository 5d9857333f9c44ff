"""Single-purpose links for e-mails: 192 random bits, only their SHA-256 is stored."""

import hashlib
import re
import secrets
from datetime import datetime

from django.utils.translation import gettext_lazy as _

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.rows import insert_later
from strapontin.reservations.models import (
    AccessToken,
    DrawRequest,
    Patron,
    Reservation,
    TokenPurpose,
    WaitlistRequest,
)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    *,
    purpose: TokenPurpose,
    patron: Patron,
    expires_at: datetime,
    reservation: Reservation | None = None,
    draw_request: DrawRequest | None = None,
    waitlist_request: WaitlistRequest | None = None,
) -> str:
    """Create a token and return the only copy of its raw value (for the e-mail)."""
    raw = secrets.token_urlsafe(24)
    insert_later(
        AccessToken(
            purpose=purpose,
            token_hash=hash_token(raw),
            patron=patron,
            reservation=reservation,
            draw_request=draw_request,
            waitlist_request=waitlist_request,
            created_at=now(),
            expires_at=expires_at,
        )
    )
    return raw


def find_token(raw: str, purpose: TokenPurpose) -> AccessToken:
    """The token for ``purpose``; expired and used tokens still resolve, the caller decides."""
    if not raw or len(raw) > 100:
        raise DomainError("token_invalid", _("This link is not valid."))
    token = (
        AccessToken.objects.select_related("patron", "reservation", "draw_request")
        .filter(token_hash=hash_token(raw), purpose=purpose)
        .first()
    )
    if token is None:
        raise DomainError("token_invalid", _("This link is not valid."))
    return token


def is_usable(token: AccessToken) -> bool:
    return token.used_at is None and now() < token.expires_at


#: An e-mail link's token: ``/r/<token>/<action>/``.
LINK_TOKEN = re.compile(r"/r/[A-Za-z0-9_-]{16,100}/")


def without_link_tokens(text: str) -> str:
    """A sent e-mail's copy, kept in the outbox, without its usable links: the database
    then holds no token that works, only their hashes."""
    return LINK_TOKEN.sub("/r/-/", text)
