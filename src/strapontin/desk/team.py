"""Managers choose who works at their establishment's desk: one function per use case,
atomic and audited. Staff sign in with a password, never with an e-mailed link."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from strapontin.core.audit import log_action
from strapontin.core.errors import DomainError
from strapontin.desk.models import Role, StaffRole
from strapontin.venues.models import Establishment

MIN_PASSWORD_LENGTH = 10


def staff_member_add(
    *,
    establishment: Establishment,
    username: str,
    role: Role,
    password: str = "",
    user: AbstractBaseUser,
) -> StaffRole:
    """Give ``username`` a role here; create the account when a password is given for a new
    name. An existing account keeps its password: only its owner knows it."""
    username = username.strip()
    accounts = get_user_model()
    with transaction.atomic():
        member = accounts.objects.filter(username=username).first()
        if member is None:
            if not password:
                raise DomainError(
                    "unknown_user",
                    _("No account has this name: give a password to create it."),
                )
            if len(password) < MIN_PASSWORD_LENGTH:
                raise DomainError(
                    "weak_password",
                    ngettext_lazy(
                        "The password must have at least %(n)s character.",
                        "The password must have at least %(n)s characters.",
                        MIN_PASSWORD_LENGTH,
                    )
                    % {"n": MIN_PASSWORD_LENGTH},
                )
            member = accounts.objects.create_user(username=username, password=password)
        if not member.is_staff:
            # The sign-in page of the back-office only lets staff accounts in.
            member.is_staff = True
            member.save(update_fields=["is_staff"])
        staff_role, _created = StaffRole.objects.update_or_create(
            user=member, establishment=establishment, defaults={"role": role}
        )
        log_action(
            staff_role,
            "staff.role_given",
            actor=user,
            establishment_id=establishment.pk,
            data={"username": username, "role": role},
        )
        return staff_role


def staff_member_remove(*, staff_role: StaffRole, user: AbstractBaseUser) -> None:
    if staff_role.user_id == user.pk:
        raise DomainError("own_role", _("You cannot remove your own role."))
    with transaction.atomic():
        log_action(
            staff_role,
            "staff.role_removed",
            actor=user,
            establishment_id=staff_role.establishment_id,
            data={"username": staff_role.user.get_username(), "role": staff_role.role},
        )
        staff_role.delete()
