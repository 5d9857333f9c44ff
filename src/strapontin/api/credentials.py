"""Credentials of API clients, each issued, spent or revoked by one function: e-mailed
sign-in codes exchanged for patron tokens, a token per reservation for whoever booked it,
and staff tokens. Raw secrets are returned once and never stored."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, models, transaction
from django.db.models import F
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from strapontin.api.models import PatronToken, SignInCode, StaffToken
from strapontin.core import rows, throttle
from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.reservations.models import (
    AccessToken,
    Patron,
    Reservation,
    TokenPurpose,
    canonical_email,
)
from strapontin.reservations.notifications import queue_email
from strapontin.reservations.services import normalise_email
from strapontin.reservations.tokens import find_token, is_usable, issue_token

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_ATTEMPTS = 5
#: Codes e-mailed to one address per hour; beyond it, requests are silently dropped.
CODES_PER_ADDRESS = 3
PATRON_TOKEN_LIFETIME = timedelta(days=365)
#: ``last_used_at`` is written at most this often, so that reading is not a write each time.
LAST_USED_PRECISION = timedelta(minutes=10)
#: The alphabet of ``secrets.token_urlsafe``: anything else cannot be one of our tokens.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,100}")


def hash_secret(raw: str) -> str:
    """Tokens carry ≥192 random bits: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _code_hash(email: str, code: str) -> str:
    """Six digits are guessable offline from a plain hash: key it with SECRET_KEY."""
    return salted_hmac(
        "strapontin.api.sign_in_code", f"{email}:{code}", algorithm="sha256"
    ).hexdigest()


def _well_formed(raw: str) -> bool:
    return bool(TOKEN_SHAPE.fullmatch(raw or ""))


def _touch(token: models.Model, last_used_at: datetime | None, moment: datetime) -> None:
    if last_used_at is None or moment - last_used_at > LAST_USED_PRECISION:
        type(token)._default_manager.filter(pk=token.pk).update(last_used_at=moment)


# --- Sign-in by e-mailed code ----------------------------------------------------------------


def sign_in_code_request(*, email: str, language: str) -> None:
    """E-mail a one-time code to ``email``. Any valid address gets one (an app signs in before
    its first booking), so the answer cannot tell known addresses from others; past the
    hourly quota of an address, nothing more is sent, silently."""
    email = normalise_email(email)
    moment = now()
    if throttle.hit(
        "api.sign_in_code.address",
        canonical_email(email),
        limit=CODES_PER_ADDRESS,
        window=timedelta(hours=1),
    ):
        return
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        SignInCode.objects.filter(expires_at__lt=moment - timedelta(days=1)).delete()
        SignInCode.objects.create(
            email=email,
            code_hash=_code_hash(email, code),
            created_at=moment,
            expires_at=moment + CODE_LIFETIME,
        )
        queue_email(
            cause="patron.sign_in_code",
            to=email,
            template="api_sign_in_code",
            context={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
            language=language,
        )


@dataclass(frozen=True)
class SignedIn:
    patron: Patron
    token: str
    expires_at: datetime


def sign_in_code_verify(*, email: str, code: str, language: str) -> SignedIn:
    """Exchange a code for a patron token. The address is proven: the patron is verified from
    now on, as after the web's sign-in link. A wrong code counts against every live code of
    the address, each of which dies after ``CODE_ATTEMPTS`` tries."""
    email = normalise_email(email)
    moment = now()
    wanted = _code_hash(email, code.strip())
    with transaction.atomic():
        live = list(
            SignInCode.objects.select_for_update().filter(
                email=email,
                used_at__isnull=True,
                expires_at__gt=moment,
                attempts__lt=CODE_ATTEMPTS,
            )
        )
        match = next((c for c in live if constant_time_compare(c.code_hash, wanted)), None)
        if match is None:
            SignInCode.objects.filter(pk__in=[c.pk for c in live]).update(
                attempts=F("attempts") + 1
            )
        else:
            match.used_at = moment
            match.save(update_fields=["used_at"])
            patron, _created = Patron.objects.get_or_create(
                email=email, defaults={"language": language}
            )
            patron = Patron.objects.select_for_update().get(pk=patron.pk)
            if patron.verified_at is None:
                patron.verified_at = moment
                patron.save(update_fields=["verified_at"])
            raw = secrets.token_urlsafe(32)
            token = PatronToken.objects.create(
                patron=patron,
                token_hash=hash_secret(raw),
                created_at=moment,
                expires_at=moment + PATRON_TOKEN_LIFETIME,
            )
            log_action(patron, "patron.signed_in", actor=email, data={"via": "api"})
            return SignedIn(patron=patron, token=raw, expires_at=token.expires_at)
    # Raised after the commit, so that the attempt is counted.
    raise DomainError(
        "sign_in_code_invalid", _("This code is wrong or has expired. Ask for a new one.")
    )


def patron_token_find(raw: str) -> PatronToken | None:
    return queue_patron_token_find(raw)()


def queue_patron_token_find(raw: str) -> rows.Pending[PatronToken | None]:
    """:func:`patron_token_find`, sent now and read when called (``core.rows.pipelined``)."""
    if not _well_formed(raw):
        return lambda: None
    moment = now()
    touched_here = connection.vendor == "postgresql"
    read = rows.queue_first(
        _patron_token_sql(touched_here),
        {
            "hash": hash_secret(raw),
            "moment": rows.at(moment),
            "stale": rows.at(moment - LAST_USED_PRECISION),
        },
        PatronToken,
        Patron,
    )

    def token() -> PatronToken | None:
        found = read()
        if found is None:
            return None
        token, token.patron = found
        if not touched_here:
            _touch(token, token.last_used_at, moment)
        return token

    return token


@cache
def _patron_token_sql(touched_here: bool) -> str:
    """Every API booking reads its token: SQL written once (``core.rows``). On PostgreSQL
    the same statement writes ``last_used_at`` when it is stale (``_touch``), so that a first
    use costs no second round trip; it reads the value from before."""

    def live(t: str) -> str:
        return f"{t}token_hash = %(hash)s AND {t}revoked_at IS NULL AND {t}expires_at > %(moment)s"

    touch = (
        "WITH touched AS (UPDATE api_patrontoken SET last_used_at = %(moment)s "  # noqa: S608
        f"WHERE {live('')} AND (last_used_at IS NULL OR last_used_at < %(stale)s)) "
        if touched_here
        else ""
    )
    return (
        f"{touch}SELECT {rows.columns(PatronToken, 't')}, {rows.columns(Patron, 'p')} "  # noqa: S608
        "FROM api_patrontoken t JOIN reservations_patron p ON p.id = t.patron_id "
        f"WHERE {live('t.')}"
    )


def patron_token_revoke(*, token: PatronToken) -> None:
    with transaction.atomic():
        updated = PatronToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now()
        )
        if updated:
            log_action(token.patron, "patron.api_token_revoked", actor=token.patron.email)


# --- The token of one reservation, for whoever booked it ------------------------------------


def reservation_token_issue(*, reservation: Reservation) -> str:
    """192 random bits, stored hashed, valid until the reservation ends."""
    return issue_token(
        purpose=TokenPurpose.API,
        patron=reservation.patron,
        reservation=reservation,
        expires_at=reservation.end,
    )


def reservation_token_find(raw: str) -> AccessToken | None:
    if not _well_formed(raw):
        return None
    try:
        token = find_token(raw, TokenPurpose.API)
    except DomainError:
        return None
    return token if is_usable(token) else None


# --- Staff tokens ---------------------------------------------------------------------------


def staff_token_create(
    *, user: AbstractBaseUser, name: str, actor: AbstractBaseUser | str
) -> tuple[StaffToken, str]:
    """A new token acting as ``user``; the raw value is returned once, to be shown once."""
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = StaffToken.objects.create(
            user_id=user.pk,
            name=name.strip()[:80] or "API",
            token_hash=hash_secret(raw),
            prefix=raw[:6],
            created_at=now(),
        )
        log_action(
            token,
            "staff.api_token_created",
            actor=actor,
            data={"user": user.get_username(), "name": token.name},
        )
    return token, raw


def staff_token_find(raw: str) -> StaffToken | None:
    """The live token of an active user, or None."""
    if not _well_formed(raw):
        return None
    token = (
        StaffToken.objects.select_related("user")
        .filter(token_hash=hash_secret(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    _touch(token, token.last_used_at, now())
    return token


def staff_token_revoke(*, token: StaffToken, actor: AbstractBaseUser | str) -> None:
    with transaction.atomic():
        updated = StaffToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now()
        )
        if updated:
            log_action(token, "staff.api_token_revoked", actor=actor)
