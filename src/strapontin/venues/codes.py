"""Check-in codes: the static one printed under the poster's QR code, and the rotating one
of the entrance screen (an HMAC of the establishment's secret and the minute), so that a
photographed screen does not work from home."""

import hashlib
import hmac
import secrets
from datetime import datetime

from strapontin.venues.models import CHECKIN_CODE_ALPHABET, CheckinMode, Establishment

STEP_SECONDS = 60
ROTATING_LENGTH = 6


def normalise_code(raw: str) -> str:
    """People type codes loosely: ignore case, spaces and dashes."""
    # ASCII only: hmac.compare_digest refuses non-ASCII strings (a TypeError, so a 500).
    return "".join(c for c in (raw or "").upper() if c.isascii() and c.isalnum())[:20]


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def rotating_code(establishment: Establishment, step: int) -> str:
    digest = hmac.new(
        establishment.checkin_secret.encode(), f"checkin:{step}".encode(), hashlib.sha256
    ).digest()
    return "".join(
        CHECKIN_CODE_ALPHABET[b % len(CHECKIN_CODE_ALPHABET)] for b in digest[:ROTATING_LENGTH]
    )


def current_rotating_code(establishment: Establishment, at: datetime) -> str:
    return rotating_code(establishment, time_step(at))


def seconds_left(at: datetime) -> int:
    return STEP_SECONDS - int(at.timestamp()) % STEP_SECONDS


def matches(establishment: Establishment, raw: str, at: datetime) -> str | None:
    """Which kind of code ``raw`` is ("static" or "rotating"), if the establishment accepts it
    now. The rotating code of the previous minute still works, for who typed it slowly."""
    code = normalise_code(raw)
    if not code:
        return None
    if establishment.checkin_mode in (CheckinMode.STATIC, CheckinMode.BOTH) and (
        hmac.compare_digest(code, normalise_code(establishment.checkin_code))
    ):
        return "static"
    if establishment.checkin_mode in (CheckinMode.ROTATING, CheckinMode.BOTH):
        step = time_step(at)
        for candidate in (step, step - 1):
            if hmac.compare_digest(code, rotating_code(establishment, candidate)):
                return "rotating"
    return None


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_kiosk_key(establishment: Establishment) -> str:
    """A new secret link for the entrance screen; the previous one stops working."""
    raw = secrets.token_urlsafe(24)
    establishment.kiosk_key_hash = hash_key(raw)
    establishment.save(update_fields=["kiosk_key_hash"])
    return raw


def kiosk_key_is_valid(establishment: Establishment, raw: str) -> bool:
    return bool(establishment.kiosk_key_hash) and hmac.compare_digest(
        establishment.kiosk_key_hash, hash_key(raw or "")
    )


def regenerate_static_code(establishment: Establishment) -> str:
    from strapontin.venues.models import new_checkin_code

    while True:
        code = new_checkin_code()
        if not Establishment.objects.filter(checkin_code=code).exists():
            break
    establishment.checkin_code = code
    establishment.save(update_fields=["checkin_code"])
    return code
