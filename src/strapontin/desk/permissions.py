"""Back-office permissions: every desk view asks here, with the establishment it acts on."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from strapontin.desk.models import Role, StaffRole
from strapontin.venues.models import Establishment

#: A role includes every role of lower rank: managers can do what desk agents do.
RANK = {Role.DESK: 1, Role.MANAGER: 2}

User = AbstractBaseUser | AnonymousUser


def _is_superuser(user: User) -> bool:
    return bool(user.is_active and getattr(user, "is_superuser", False))


def staff_establishments(user: User) -> QuerySet[Establishment]:
    """The establishments ``user`` has a role in (superusers: all of them)."""
    if not user.is_authenticated or not user.is_active:
        return Establishment.objects.none()
    if _is_superuser(user):
        return Establishment.objects.all()
    return Establishment.objects.filter(staff_roles__user_id=user.pk).distinct()


def role_of(user: User, establishment: Establishment) -> Role | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if _is_superuser(user):
        return Role.MANAGER
    found = (
        StaffRole.objects.filter(user_id=user.pk, establishment=establishment)
        .values_list("role", flat=True)
        .first()
    )
    return Role(found) if found else None


def has_role(user: User, establishment: Establishment, role: Role = Role.DESK) -> bool:
    actual = role_of(user, establishment)
    return actual is not None and RANK[actual] >= RANK[role]


def require_role(user: User, establishment: Establishment, role: Role = Role.DESK) -> Role:
    """The user's role at ``establishment`` if it is at least ``role``; 403 otherwise."""
    actual = role_of(user, establishment)
    if actual is None or RANK[actual] < RANK[role]:
        raise PermissionDenied
    return actual
