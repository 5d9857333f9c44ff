"""The establishment's rules (opening hours, closures, booking policies), read once per process
and kept under the establishment's ``rules_version``.

Every booking and every page of the grid needs them, and they change a few times a year: a
per-process cache saves three queries a request. Any save or delete of an hours, closure or
policy row gives its establishment a new version (signals below, in the same transaction), so
the next request that reads the establishment reads the new rules. A booking reads the version
again under the place's lock (``reservations.booking_queries``): a closure declared meanwhile
wins.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from strapontin.venues.models import (
    BookingPolicy,
    Establishment,
    OpeningHours,
    ScheduleException,
    new_rules_version,
)

#: Beyond this many entries the cache starts again (days × areas × establishments).
MAX_ENTRIES = 20_000
_cache: dict[tuple[Any, ...], Any] = {}


def remembered[T](
    establishment: Establishment, key: tuple[Any, ...], compute: Callable[[], T]
) -> T:
    """``compute()``, or what it gave for ``key`` under the establishment's current version.
    Values are shared between requests: callers must not modify them."""
    full_key = (establishment.pk, establishment.rules_version, establishment.timezone, *key)
    try:
        return _cache[full_key]
    except KeyError:
        pass
    value = compute()
    if len(_cache) >= MAX_ENTRIES:
        _cache.clear()
    _cache[full_key] = value
    return value


def _bump(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """A rule changed: its establishment gets a new version, in the same transaction."""
    establishment_id = getattr(instance, "establishment_id", None)
    if establishment_id is None:
        return
    version = new_rules_version()
    Establishment.objects.filter(pk=establishment_id).update(rules_version=version)
    # The caller's copy of the establishment, if the row carries it, reads the new rules too.
    loaded = instance._state.fields_cache.get("establishment")
    if isinstance(loaded, Establishment):
        loaded.rules_version = version


for _model in (OpeningHours, ScheduleException, BookingPolicy):
    post_save.connect(_bump, sender=_model, dispatch_uid=f"rules_version_{_model.__name__}")
    post_delete.connect(_bump, sender=_model, dispatch_uid=f"rules_version_del_{_model.__name__}")
