"""The statements of a day's availability, written once in SQL: the busiest read of the
8 o'clock rush (the grid page and the availability API). Through the ORM, compiling its
four queries cost more than running them, and each list of the page's places was one
parameter per place, read again by psycopg at every request (issue 7). Here a list of places
is one parameter (``sql.keys``), and the statements that need the page's places travel in
one round trip on PostgreSQL (``core.rows.read_together``).

A ``queue_`` function sends its statement and returns what reads its result."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple, cast

from django.db import connection
from django.db.models import Field

from strapontin.core.rows import Pending, at, columns, converter, load, queue
from strapontin.reservations.models import Reservation
from strapontin.reservations.sql import keys, sql
from strapontin.venues.models import Area, Feature


class Held(NamedTuple):
    """A reservation that holds its place over part of the day (I5: overdue ones do not),
    its start and end in POSIX seconds: a day's thousands of them are only compared."""

    resource_id: int
    start_at: float
    end_at: float
    state: str
    break_ends_at: datetime | None


@lru_cache(maxsize=32)
def _places_sql(by_area: bool, by_kind: bool, features: int) -> str:
    """Every filter of the grid, in the order of the grid (``Resource.Meta.ordering`` and the
    area's name between areas of one position)."""
    where = ["r.establishment_id = %(here)s", "r.is_active"]
    if by_area:
        where.append("r.area_id = %(area)s")
    if by_kind:
        where.append("r.kind = %(kind)s")
    where += [
        "r.id IN (SELECT rf.resource_id FROM venues_resource_features rf "
        f"JOIN venues_feature f ON f.id = rf.feature_id WHERE f.code = %(feature_{n})s)"
        for n in range(features)
    ]
    return (
        "SELECT r.id, r.area_id FROM venues_resource r JOIN venues_area a ON a.id = r.area_id "
        f"WHERE {' AND '.join(where)} ORDER BY a.position, a.name, r.position, r.id"
    )


def queue_matching_places(
    establishment_id: int, area_id: int | None, kind: str, feature_codes: Sequence[str]
) -> Pending[list[tuple[int, int]]]:
    """The bookable places that pass the filters, in the grid's order, as (place, area):
    every feature of ``feature_codes`` is required."""
    codes = list(dict.fromkeys(feature_codes))
    params: dict[str, Any] = {"here": establishment_id, "area": area_id, "kind": kind}
    params.update({f"feature_{n}": code for n, code in enumerate(codes)})
    read = queue(_places_sql(bool(area_id), bool(kind), len(codes)), params)
    return lambda: [(pk, area) for pk, area in read()]


@cache
def _held_sql(of_places: bool) -> str:
    """Served by the (establishment, start) index: a reservation of the day starts before the
    day ends and at most a day earlier. PostgreSQL gives the seconds (exactly: a float holds
    the microseconds of this century), which cost a third of what datetimes cost to read."""
    seconds = (
        'extract(epoch FROM start)::float8, extract(epoch FROM "end")::float8'
        if connection.vendor == "postgresql"
        else 'start, "end"'
    )
    return sql(
        f"SELECT resource_id, {seconds}, state, break_ends_at FROM reservations_reservation "
        "WHERE establishment_id = %(here)s AND start < %(day_end)s AND start >= %(since)s "
        'AND "end" > %(day_start)s AND state IN ({holding_states}) AND NOT {overdue}'
        + (" AND resource_id {in_keys}" if of_places else "")
    )


def queue_held(
    establishment_id: int,
    place_ids: Sequence[int] | None,
    day: tuple[datetime, datetime],
    moment: datetime,
) -> Pending[list[Held]]:
    """The reservations holding a place (of ``place_ids``, or any) during ``day``."""
    read = queue(
        _held_sql(place_ids is not None),
        {
            "here": establishment_id,
            "keys": keys(place_ids or ()),
            "day_start": at(day[0]),
            "day_end": at(day[1]),
            "since": at(day[0] - timedelta(days=1)),
            "moment": at(moment),
        },
    )

    def held() -> list[Held]:
        found = read()
        as_datetime = converter(cast(Field, Reservation._meta.get_field("start")))
        if as_datetime is None:
            return [Held._make(row) for row in found]
        # SQLite: the datetimes as text.
        return [
            Held(
                place,
                as_datetime(start).timestamp(),
                as_datetime(end).timestamp(),
                state,
                as_datetime(until),
            )
            for place, start, end, state, until in found
        ]

    return held


class GridPlace(NamedTuple):
    """A place as the grid shows it: a page shows hundreds, and a model instance cost this
    machine ten times what a tuple costs."""

    pk: int
    label: str
    kind: str
    capacity: int
    area_id: int
    area: Area


@cache
def _places_with_areas_sql() -> str:
    return sql(
        f"SELECT r.id, r.label, r.kind, r.capacity, r.area_id, {columns(Area, 'a')} "
        "FROM venues_resource r JOIN venues_area a ON a.id = r.area_id WHERE r.id {in_keys}"
    )


def queue_places_with_areas(place_ids: Sequence[int]) -> Pending[dict[int, GridPlace]]:
    """The places of ``place_ids`` by key, each with its area (one instance per area)."""
    read = queue(_places_with_areas_sql(), {"keys": keys(place_ids)})

    def places() -> dict[int, GridPlace]:
        areas: dict[int, Area] = {}
        found = {}
        for pk, label, kind, capacity, area_id, *area_columns in read():
            area = areas.get(area_id)
            if area is None:
                area = areas[area_id] = load(Area, area_columns)
            found[pk] = GridPlace(pk, label, kind, capacity, area_id, area)
        return found

    return places


@cache
def _features_sql() -> str:
    return sql(
        f"SELECT rf.resource_id, {columns(Feature, 'f')} FROM venues_resource_features rf "
        "JOIN venues_feature f ON f.id = rf.feature_id WHERE rf.resource_id {in_keys} "
        "ORDER BY f.code"
    )


def queue_features(place_ids: Sequence[int]) -> Pending[dict[int, list[Feature]]]:
    """Each place's features by code, each feature one instance shared between places."""
    read = queue(_features_sql(), {"keys": keys(place_ids)})

    def features() -> dict[int, list[Feature]]:
        shared: dict[int, Feature] = {}
        of_place: dict[int, list[Feature]] = defaultdict(list)
        for place_id, feature_id, *values in read():
            feature = shared.get(feature_id)
            if feature is None:
                feature = shared[feature_id] = load(Feature, (feature_id, *values))
            of_place[place_id].append(feature)
        return of_place

    return features
