"""Rate limits that hold across processes and machines without Redis: fixed-window counters
in the database (or in the shared cache when REDIS_URL is set)."""

import hashlib
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F

from strapontin.core.clock import now
from strapontin.core.models import ThrottleCounter


def _key(scope: str, subject: str) -> str:
    return f"{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:40]}"


def hit(scope: str, subject: str, *, limit: int, window: timedelta) -> int:
    """Count one attempt; return 0 if allowed, else the seconds to wait (for Retry-After)."""
    seconds = int(window.total_seconds())
    moment = now()
    window_start = math.floor(moment.timestamp() / seconds) * seconds
    retry_after = max(1, window_start + seconds - int(moment.timestamp()))
    key = f"{_key(scope, subject)}:{window_start}"
    if settings.REDIS_URL:
        cache.add(key, 0, timeout=seconds)
        count = cache.incr(key)
    else:
        count = _db_incr(key, moment + window)
    return 0 if count <= limit else retry_after


def blocked(scope: str, subject: str, *, limit: int, window: timedelta) -> int:
    """Like :func:`hit` without counting: the seconds to wait if the limit is already passed."""
    seconds = int(window.total_seconds())
    moment = now()
    window_start = math.floor(moment.timestamp() / seconds) * seconds
    key = f"{_key(scope, subject)}:{window_start}"
    if settings.REDIS_URL:
        count = cache.get(key, 0)
    else:
        row = ThrottleCounter.objects.filter(key=key).first()
        count = row.count if row else 0
    return max(1, window_start + seconds - int(moment.timestamp())) if count >= limit else 0


def _db_incr(key: str, expires_at: datetime) -> int:
    with transaction.atomic():
        updated = ThrottleCounter.objects.filter(key=key).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    ThrottleCounter.objects.create(key=key, count=1, expires_at=expires_at)
            except IntegrityError:
                ThrottleCounter.objects.filter(key=key).update(count=F("count") + 1)
        return ThrottleCounter.objects.get(key=key).count


def prune() -> int:
    return ThrottleCounter.objects.filter(expires_at__lt=now()).delete()[0]
