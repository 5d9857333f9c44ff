"""Managers running their establishment: areas, places, opening hours, booking policy.

One function per use case, each atomic and audited in the same transaction (I4); the forms
have parsed the input, these functions re-check what the database must not get wrong."""

from datetime import time
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from strapontin.core.audit import log_action
from strapontin.core.errors import DomainError
from strapontin.venues.models import (
    Area,
    BookingPolicy,
    Establishment,
    Feature,
    OpeningHours,
    Resource,
)


def area_create(*, establishment: Establishment, name: str, user: AbstractBaseUser) -> Area:
    with transaction.atomic():
        last = Area.objects.filter(establishment=establishment).aggregate(m=Max("position"))["m"]
        try:
            with transaction.atomic():
                area = Area.objects.create(
                    establishment=establishment,
                    name=name.strip(),
                    position=0 if last is None else last + 1,
                )
        except IntegrityError as error:
            raise DomainError("duplicate", _("Another floor or zone has this name.")) from error
        log_action(
            area, "area.created", actor=user, establishment_id=establishment.pk, data={"name": name}
        )
    return area


def area_rename(*, area: Area, name: str, user: AbstractBaseUser) -> None:
    with transaction.atomic():
        old = area.name
        area.name = name.strip()
        try:
            with transaction.atomic():
                area.save(update_fields=["name"])
        except IntegrityError as error:
            area.name = old
            raise DomainError("duplicate", _("Another floor or zone has this name.")) from error
        log_action(
            area,
            "area.renamed",
            actor=user,
            establishment_id=area.establishment_id,
            data={"old": old, "new": area.name},
        )


def area_move(*, area: Area, up: bool, user: AbstractBaseUser) -> None:
    """Swap the area with its neighbour; positions are renumbered 0..n-1 on the way."""
    with transaction.atomic():
        areas = list(
            Area.objects.select_for_update()
            .filter(establishment_id=area.establishment_id)
            .order_by("position", "name")
        )
        index = next(i for i, a in enumerate(areas) if a.pk == area.pk)
        other = index - 1 if up else index + 1
        if not 0 <= other < len(areas):
            return
        areas[index], areas[other] = areas[other], areas[index]
        for position, each in enumerate(areas):
            each.position = position
        Area.objects.bulk_update(areas, ["position"])
        log_action(
            area,
            "area.moved",
            actor=user,
            establishment_id=area.establishment_id,
            data={"order": [a.name for a in areas]},
        )


def places_create_bulk(
    *,
    area: Area,
    labels: list[str],
    kind: str,
    capacity: int,
    features: list[Feature],
    user: AbstractBaseUser,
) -> list[Resource]:
    """ "Place 1 to 60 on Étage 2" — all of them or none (a label taken refuses the lot)."""
    with transaction.atomic():
        Area.objects.select_for_update().filter(pk=area.pk).first()
        lock_features(features)
        taken = set(
            Resource.objects.filter(area=area, label__in=labels).values_list("label", flat=True)
        )
        if taken:
            raise DomainError(
                "duplicate",
                _("These places already exist: %(labels)s.") % {"labels": ", ".join(sorted(taken))},
            )
        last = Resource.objects.filter(area=area).aggregate(m=Max("position"))["m"] or 0
        places = Resource.objects.bulk_create(
            Resource(
                establishment_id=area.establishment_id,
                area=area,
                label=label,
                kind=kind,
                capacity=capacity,
                position=last + n,
            )
            for n, label in enumerate(labels, start=1)
        )
        if features:
            # bulk_create sets primary keys on PostgreSQL and SQLite ≥ 3.35, both supported.
            through = Resource.features.through
            through.objects.bulk_create(
                through(resource_id=place.pk, feature_id=feature.pk)
                for place in places
                for feature in features
            )
        log_action(
            area,
            "place.created_in_bulk",
            actor=user,
            establishment_id=area.establishment_id,
            data={
                "labels": labels,
                "kind": kind,
                "capacity": capacity,
                "features": [f.code for f in features],
            },
        )
    return places


def lock_features(features: list[Feature]) -> None:
    """Lock the features about to be attached, in a fixed order: renaming or removing a feature
    checks under the same lock that no other establishment uses it (see ``catalogue``). One
    removed meanwhile is refused here rather than at the insert."""
    wanted = {f.pk for f in features}
    locked = Feature.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    if set(locked.values_list("pk", flat=True)) != wanted:
        raise DomainError("feature_gone", _("A feature was removed meanwhile: choose again."))


#: What a manager edits on one place, in the order the audit entry lists the changes.
PLACE_FIELDS = ("label", "area", "kind", "capacity", "position", "is_active")


def place_update(
    *, place: Resource, values: dict[str, Any], features: list[Feature], user: AbstractBaseUser
) -> dict[str, Any]:
    """Change one place: label, floor or zone (of the same establishment), kind, capacity,
    position, bookable flag and features. Its reservations stay as they are. Returns the
    changes, as audited."""
    area = values.get("area", place.area)
    if area.establishment_id != place.establishment_id:
        raise DomainError("invalid_area", _("Choose a floor or zone of this establishment."))
    with transaction.atomic():
        current = Resource.objects.select_for_update().select_related("area").get(pk=place.pk)
        changed: dict[str, Any] = {}
        for name in PLACE_FIELDS:
            if name not in values:
                continue
            old, new = getattr(current, name), values[name]
            if old != new:
                changed[name] = {"old": str(old), "new": str(new)}
                setattr(current, name, new)
        old_features = set(current.features.values_list("pk", flat=True))
        new_features = {f.pk for f in features}
        if new_features - old_features:
            lock_features([f for f in features if f.pk not in old_features])
        if old_features != new_features:
            codes = dict(
                Feature.objects.filter(pk__in=old_features | new_features).values_list("pk", "code")
            )
            changed["features"] = {
                "old": sorted(codes[pk] for pk in old_features),
                "new": sorted(codes[pk] for pk in new_features),
            }
        if not changed:
            return changed
        try:
            with transaction.atomic():
                current.save()
        except IntegrityError as error:
            raise DomainError(
                "duplicate", _("Another place of this floor or zone has this label.")
            ) from error
        if "features" in changed:
            current.features.set(features)
        log_action(
            current,
            "place.updated",
            actor=user,
            establishment_id=current.establishment_id,
            data={"place": str(current)} | changed,
        )
    for name in PLACE_FIELDS:
        setattr(place, name, getattr(current, name))
    return changed


def place_set_active(*, place: Resource, active: bool, user: AbstractBaseUser) -> None:
    """A deactivated place cannot be booked any more; its reservations stay as they are."""
    with transaction.atomic():
        if Resource.objects.filter(pk=place.pk, is_active=active).exists():
            return
        Resource.objects.filter(pk=place.pk).update(is_active=active)
        place.is_active = active
        log_action(
            place,
            "place.activated" if active else "place.deactivated",
            actor=user,
            establishment_id=place.establishment_id,
            data={"label": str(place)},
        )


def opening_hours_add(
    *, establishment: Establishment, weekday: int, opens: time, closes: time, user: AbstractBaseUser
) -> OpeningHours:
    with transaction.atomic():
        Establishment.objects.select_for_update().filter(pk=establishment.pk).first()
        if OpeningHours.objects.filter(
            establishment=establishment, weekday=weekday, opens__lt=closes, closes__gt=opens
        ).exists():
            raise DomainError("overlap", _("These hours overlap hours already set for that day."))
        hours = OpeningHours.objects.create(
            establishment=establishment, weekday=weekday, opens=opens, closes=closes
        )
        log_action(
            hours,
            "opening_hours.added",
            actor=user,
            establishment_id=establishment.pk,
            data={"interval": str(hours)},
        )
    return hours


def opening_hours_remove(*, hours: OpeningHours, user: AbstractBaseUser) -> None:
    """Existing reservations are kept; to cancel them, declare a closure instead."""
    with transaction.atomic():
        log_action(
            hours,
            "opening_hours.removed",
            actor=user,
            establishment_id=hours.establishment_id,
            data={"interval": str(hours)},
        )
        hours.delete()


def policy_update(
    *, establishment: Establishment, values: dict[str, Any], user: AbstractBaseUser
) -> BookingPolicy:
    """The establishment-level policy, created with the defaults the first time."""
    with transaction.atomic():
        policy, _created = BookingPolicy.objects.select_for_update().get_or_create(
            establishment=establishment, area=None
        )
        changed = {}
        for name, value in values.items():
            old = getattr(policy, name)
            if old != value:
                changed[name] = {"old": str(old), "new": str(value)}
                setattr(policy, name, value)
        try:
            policy.full_clean()
        except ValidationError as error:
            raise DomainError("invalid_policy", " ".join(error.messages)) from error
        policy.save()
        if changed:
            log_action(
                policy,
                "policy.updated",
                actor=user,
                establishment_id=establishment.pk,
                data=changed,
            )
    return policy
