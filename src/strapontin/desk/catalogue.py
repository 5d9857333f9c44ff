"""The feature catalogue (power socket, window, …): one list shared by every establishment, so
that campus apps filter all libraries by the same codes.

Who may change what: a manager of any establishment may add a feature and attach it to their
own places. Renaming or removing a feature changes what other libraries show, so a manager may
do it only while no place of another establishment carries it; superusers always may. Each
function locks the feature's row first; attaching a feature to a place locks it too (see
``management_services``), so "used elsewhere" cannot change between the check and the change.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from strapontin.core.audit import log_action
from strapontin.core.errors import DomainError
from strapontin.venues.models import Establishment, Feature, Resource

CODE_LENGTH = Feature._meta.get_field("code").max_length or 40


@dataclass(frozen=True)
class CatalogueEntry:
    feature: Feature
    #: Places of this establishment that carry it.
    here: int
    #: Places of other establishments that carry it: while any, only superusers rename it.
    elsewhere: int


def catalogue(establishment: Establishment) -> list[CatalogueEntry]:
    """Every feature, with how many places use it here and elsewhere (one query)."""
    features = Feature.objects.annotate(
        here=Count("resource", filter=Q(resource__establishment=establishment)),
        everywhere=Count("resource"),
    ).order_by("name_fr", "code")
    return [
        CatalogueEntry(feature=f, here=f.here, elsewhere=f.everywhere - f.here) for f in features
    ]


def may_edit(feature: Feature, establishment: Establishment, user: AbstractBaseUser) -> bool:
    """Whether ``user``, a manager of ``establishment``, may rename or remove ``feature``."""
    if getattr(user, "is_superuser", False):
        return True
    return (
        not Resource.objects.filter(features=feature).exclude(establishment=establishment).exists()
    )


def _check_names_free(name_fr: str, name_en: str, exclude_pk: int | None = None) -> None:
    """No two features named alike in either language. Compared in Python: SQLite's
    case-insensitive match ignores case for ASCII only ("É" ≠ "é"), and the catalogue is short."""
    wanted = {name_fr.casefold(), name_en.casefold()}
    others = Feature.objects.values_list("name_fr", "name_en")
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if any(wanted & {fr.casefold(), en.casefold()} for fr, en in others):
        raise DomainError(
            "duplicate",
            _("A feature already has this name: attach that one to your places."),
        )


def _free_code(name_en: str, name_fr: str) -> str:
    base = (slugify(name_en) or slugify(name_fr) or "feature")[:CODE_LENGTH].strip("-")
    taken = set(
        Feature.objects.filter(code__startswith=base[: CODE_LENGTH - 4]).values_list(
            "code", flat=True
        )
    )
    code, n = base, 2
    while code in taken:
        suffix = f"-{n}"
        code, n = base[: CODE_LENGTH - len(suffix)] + suffix, n + 1
    return code


def feature_create(
    *, establishment: Establishment, name_fr: str, name_en: str, user: AbstractBaseUser
) -> Feature:
    """A new feature for everyone's catalogue; its code (for the API) comes from its name."""
    name_fr, name_en = name_fr.strip(), name_en.strip()
    with transaction.atomic():
        _check_names_free(name_fr, name_en)
        try:
            with transaction.atomic():
                feature = Feature.objects.create(
                    code=_free_code(name_en, name_fr), name_fr=name_fr, name_en=name_en
                )
        except IntegrityError as error:  # another manager took the same code meanwhile
            raise DomainError(
                "duplicate", _("A feature already has this name: attach that one to your places.")
            ) from error
        log_action(
            feature,
            "feature.created",
            actor=user,
            establishment_id=establishment.pk,
            data={"code": feature.code, "name_fr": name_fr, "name_en": name_en},
        )
    return feature


def _lock_editable(
    feature: Feature, establishment: Establishment, user: AbstractBaseUser
) -> Feature:
    locked = Feature.objects.select_for_update().get(pk=feature.pk)
    if not may_edit(locked, establishment, user):
        raise DomainError(
            "feature_shared",
            _(
                "Other establishments use this feature, so only an administrator can change "
                "it. Create a new feature instead."
            ),
        )
    return locked


def feature_rename(
    *,
    feature: Feature,
    establishment: Establishment,
    name_fr: str,
    name_en: str,
    user: AbstractBaseUser,
) -> None:
    name_fr, name_en = name_fr.strip(), name_en.strip()
    with transaction.atomic():
        locked = _lock_editable(feature, establishment, user)
        old = {"name_fr": locked.name_fr, "name_en": locked.name_en}
        new = {"name_fr": name_fr, "name_en": name_en}
        if old == new:
            return
        _check_names_free(name_fr, name_en, exclude_pk=locked.pk)
        Feature.objects.filter(pk=locked.pk).update(**new)
        log_action(
            locked,
            "feature.renamed",
            actor=user,
            establishment_id=establishment.pk,
            data={"code": locked.code, "old": old, "new": new},
        )
    feature.name_fr, feature.name_en = name_fr, name_en


def feature_remove(
    *, feature: Feature, establishment: Establishment, user: AbstractBaseUser
) -> int:
    """Remove the feature from the catalogue (and from this establishment's places, the only
    ones that carry it). Returns how many places lost it."""
    with transaction.atomic():
        locked = _lock_editable(feature, establishment, user)
        places = Resource.objects.filter(features=locked).count()
        log_action(
            locked,
            "feature.removed",
            actor=user,
            establishment_id=establishment.pk,
            data={
                "code": locked.code,
                "name_fr": locked.name_fr,
                "name_en": locked.name_en,
                "places": places,
            },
        )
        locked.delete()
    return places
