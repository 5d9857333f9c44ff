"""Establishments and availability: public, read-only, the same selectors as the web pages."""

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router
from pydantic import Field

from strapontin.api.errors import error_responses
from strapontin.api.schemas import (
    SLUG_PATTERN,
    AvailabilityOut,
    EstablishmentOut,
    EstablishmentSummaryOut,
    Id,
    policy_out,
)
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.reservations import selectors
from strapontin.venues.models import BookingPolicy, Establishment, Feature, Resource
from strapontin.venues.policy import effective_policy, last_bookable_day
from strapontin.venues.schedule import DayHours, opening_hours_of

router = Router(tags=["Establishments"])

Slug = Annotated[str, Path(pattern=SLUG_PATTERN, description="As in the web's addresses.")]
FeatureCode = Annotated[str, Field(pattern=r"^[-a-zA-Z0-9_]{1,40}$")]


def establishment_by_slug(slug: str) -> Establishment:
    return get_object_or_404(Establishment, slug=slug, is_active=True)


def _summary(establishment: Establishment) -> dict[str, Any]:
    return {
        "slug": establishment.slug,
        "name": establishment.name,
        "organisation": establishment.organisation,
        "address": establishment.address,
        "timezone": establishment.timezone,
        "languages": [c.strip() for c in establishment.languages.split(",") if c.strip()],
    }


def _hours(hours: DayHours) -> dict[str, Any]:
    return {
        "date": hours.day,
        "openings": [{"start": o.start, "end": o.end} for o in hours.openings],
        "note": hours.exception_reason,
    }


@router.get(
    "/establishments",
    response={200: list[EstablishmentSummaryOut]},
    summary="Establishments",
)
def establishments(request: HttpRequest) -> list[dict[str, Any]]:
    return [_summary(e) for e in Establishment.objects.filter(is_active=True)]


@router.get(
    "/establishments/{slug}",
    response={200: EstablishmentOut, **error_responses(404, 422)},
    summary="One establishment: areas, places, features, this week's hours, rules",
)
def establishment(request: HttpRequest, slug: Slug) -> dict[str, Any]:
    place = establishment_by_slug(slug)
    today = now().astimezone(place.tz).date()
    policies = {p.area_id: p for p in BookingPolicy.objects.filter(establishment=place)}
    figures = selectors.occupancy_now(place)
    places = (
        Resource.objects.filter(establishment=place, is_active=True)
        .prefetch_related(Prefetch("features", queryset=Feature.objects.order_by("code")))
        .order_by("area__position", "area__name", "position", "id")
    )
    return {
        **_summary(place),
        "description": place.description,
        "contact_email": place.contact_email,
        "policy": policy_out(policies.get(None) or effective_policy(place)),
        "areas": [
            {
                "id": area.pk,
                "name": area.name,
                "position": area.position,
                "policy": policy_out(policies[area.pk]) if area.pk in policies else None,
            }
            for area in place.areas.order_by("position", "name")
        ],
        "features": [
            {"code": f.code, "name": f.name}
            for f in Feature.objects.filter(resource__establishment=place)
            .distinct()
            .order_by("code")
        ],
        "places": [
            {
                "id": p.pk,
                "label": p.label,
                "kind": p.kind,
                "capacity": p.capacity,
                "area_id": p.area_id,
                "features": [f.code for f in p.features.all()],
            }
            for p in places
        ],
        "week": [_hours(opening_hours_of(place, today + timedelta(days=d))) for d in range(7)],
        "occupancy": {
            "at": figures.at.astimezone(place.tz),
            "open_now": figures.is_open,
            "places": figures.places,
            "free_now": figures.free_now,
            "present": figures.present,
            "expected": figures.expected,
        },
    }


@router.get(
    "/establishments/{slug}/availability",
    response={200: AvailabilityOut, **error_responses(400, 404, 422)},
    summary="Free and selectable start times of each place for a day",
    description="The same filters as the web's grid. A start is *selectable* when a "
    "reservation of `duration` minutes fits from it; `free` lists every free slot.",
)
def availability(
    request: HttpRequest,
    slug: Slug,
    date: Annotated[date | None, Query(description="YYYY-MM-DD; today by default.")] = None,
    area: Annotated[Id | None, Query(description="Area id.")] = None,
    kind: Annotated[Literal["seat", "room"] | None, Query()] = None,
    feature: Annotated[
        list[FeatureCode], Query([], description="Feature codes, all required.")
    ] = [],  # noqa: B006 - ninja copies it per request
    duration: Annotated[
        int | None, Query(ge=1, le=24 * 60, description="Minutes; the shortest by default.")
    ] = None,
    available_only: Annotated[bool, Query(description="Only places with a free slot.")] = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 40,
) -> HttpResponse:
    place = establishment_by_slug(slug)
    policy = effective_policy(place)
    local_now = now().astimezone(place.tz)
    first_day = local_now.date()
    last_day = last_bookable_day(policy, local_now)
    day = date or first_day
    if not first_day <= day <= last_day:
        raise DomainError(
            "date_out_of_range",
            _("Reservations can be made from %(first)s to %(last)s.")
            % {"first": first_day.isoformat(), "last": last_day.isoformat()},
        )
    grid = selectors.day_grid(
        place,
        day,
        selectors.GridFilters(
            area_id=area,
            kind=kind or "",
            feature_codes=tuple(feature),
            duration_minutes=duration,
            available_only=available_only,
        ),
        page=page,
        per_page=per_page,
    )
    tz = place.tz
    # Every place has the same few dozen starts: each is formatted once, not once a place.
    stamps = [_stamp(start.astimezone(tz)) for start in grid.slot_starts]
    return _compact_json(
        {
            "establishment": place.slug,
            "date": day.isoformat(),
            "slot_minutes": policy.slot_minutes,
            "duration_minutes": grid.duration_minutes,
            "durations": grid.durations,
            "openings": [
                {"start": _stamp(o.start), "end": _stamp(o.end)} for o in grid.hours.openings
            ],
            "note": grid.hours.exception_reason,
            "page": grid.page,
            "pages": grid.pages,
            "total_places": grid.total_places,
            "places": [
                {
                    "id": row.resource.pk,
                    "label": row.resource.label,
                    "kind": row.resource.kind,
                    "area_id": row.resource.area_id,
                    "area": row.resource.area.name,
                    "features": [f.code for f in row.features],
                    "free": selectors.chosen(stamps, row.free_to_come),
                    "selectable": selectors.chosen(stamps, row.selectable),
                }
                for row in grid.rows
            ],
        }
    )


def _stamp(moment: datetime) -> str:
    """A date and time as the API writes them everywhere (Django's JSON encoder)."""
    return str(DjangoJSONEncoder().default(moment))


def _compact_json(payload: dict[str, Any]) -> HttpResponse:
    """The busiest answer of the API, written directly: thousands of starts validated back
    into datetimes by the response schema, then written out one by one, cost several times
    the rest of the request. The schema (``AvailabilityOut``) still documents it, and the
    OpenAPI tests hold the answer to it."""
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response
