"""Rate limits that hold across processes and machines without Redis: fixed-window counters
in the database (or in the shared cache when REDIS_URL is set)."""

import functools
import hashlib
import math
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from strapontin.core.clock import now
from strapontin.core.models import ThrottleCounter
from strapontin.core.rows import Pending


def _key(scope: str, subject: str) -> str:
    return f"{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:40]}"


def hit(scope: str, subject: str, *, limit: int, window: timedelta) -> int:
    """Count one attempt; return 0 if allowed, else the seconds to wait (for Retry-After)."""
    return queue_hit(scope, subject, limit=limit, window=window)()


def queue_hit(scope: str, subject: str, *, limit: int, window: timedelta) -> Pending[int]:
    """:func:`hit`, the answer read when called. With Redis, the attempt is counted now: a
    booking sends the count before its first statements to PostgreSQL and waits once for both
    answers; call it whatever happens (it gives the Redis connection back). In the database,
    it is counted when called: on SQLite, an API booking counts in the transaction that
    writes its token's last use (``core.rows.one_write_lock``)."""
    seconds = int(window.total_seconds())
    moment = now()
    window_start = math.floor(moment.timestamp() / seconds) * seconds
    retry_after = max(1, window_start + seconds - int(moment.timestamp()))
    key = f"{_key(scope, subject)}:{window_start}"
    if not settings.REDIS_URL:
        return lambda: 0 if _db_incr(key, moment + window) <= limit else retry_after
    read = _redis_incr(key, seconds)
    return lambda: 0 if read() <= limit else retry_after


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


#: INCR and, for a new window, its expiry, in one command (a pipeline object costs a request
#: more than the round trip it saves).
_INCR_WITH_EXPIRY = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _redis_incr(key: str, seconds: int) -> Pending[int]:
    """One round trip to Redis, the command sent now on a connection of the cache's pool and
    its answer read when called: redis-py's command path (retries, reply callbacks) cost a
    booking a tenth of a millisecond. A connection found broken is dropped and the count made
    again through that path, which reconnects; a Redis that lost the script (restarted) is
    given it again. The count is stored as a plain integer, as Django's cache stores
    integers, so ``blocked`` reads it back."""
    full_key = cache.make_and_validate_key(key)
    script = _incr_script(cache._cache)  # type: ignore[attr-defined]
    pool = script.registered_client.connection_pool

    def again() -> int:
        return int(script(keys=[full_key], args=[seconds]))

    connection = pool.get_connection()
    try:
        connection.send_command("EVALSHA", script.sha, 1, full_key, seconds)
    except (redis.ConnectionError, redis.TimeoutError):
        connection.disconnect()
        pool.release(connection)
        return again

    def count() -> int:
        try:
            return int(connection.read_response())
        except redis.exceptions.NoScriptError:
            return again()
        except (redis.ConnectionError, redis.TimeoutError):
            connection.disconnect()
            return again()
        finally:
            pool.release(connection)

    return count


@functools.cache
def _incr_script(backend: Any) -> Any:
    """Registered once per cache backend: Django's builds a Redis client (and its table of
    reply callbacks) on every call, a third of a millisecond each time."""
    return backend.get_client(None, write=True).register_script(_INCR_WITH_EXPIRY)


def _db_incr(key: str, expires_at: datetime) -> int:
    """One statement (an upsert), atomic on its own: on SQLite, every transaction takes the
    database's write lock, so a request does not take it once more just to count."""
    table, key_, count_, expires = (
        connection.ops.quote_name(name)
        for name in (ThrottleCounter._meta.db_table, "key", "count", "expires_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_}, {count_}, {expires}) VALUES (%s, 1, %s) "  # noqa: S608
            f"ON CONFLICT ({key_}) DO UPDATE SET {count_} = {table}.{count_} + 1 "
            f"RETURNING {count_}",
            [key, expires_at],
        )
        (count,) = cursor.fetchone()
    return int(count)


def prune() -> int:
    return ThrottleCounter.objects.filter(expires_at__lt=now()).delete()[0]
