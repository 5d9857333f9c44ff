"""Managers' actions on an establishment's check-in codes, each atomic and audited."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from strapontin.core.audit import log_action
from strapontin.core.errors import DomainError
from strapontin.venues import codes
from strapontin.venues.models import CheckinMode, Establishment


def _locked(establishment: Establishment) -> Establishment:
    """The row, locked; each action then copies what it changed back to the caller's object,
    so that a later save of that object does not undo it."""
    return Establishment.objects.select_for_update().get(pk=establishment.pk)


def kiosk_link_issue(*, establishment: Establishment, user: AbstractBaseUser) -> str:
    """A new secret key for the entrance screen; the previous link stops working at once."""
    with transaction.atomic():
        current = _locked(establishment)
        raw = codes.issue_kiosk_key(current)
        log_action(
            current, "establishment.kiosk_link_issued", actor=user, establishment_id=current.pk
        )
    establishment.kiosk_key_hash = current.kiosk_key_hash
    return raw


def static_code_regenerate(*, establishment: Establishment, user: AbstractBaseUser) -> str:
    """A new printed code (after a leak, say): the posters printed before stop working."""
    with transaction.atomic():
        current = _locked(establishment)
        old = current.checkin_code
        code = codes.regenerate_static_code(current)
        log_action(
            current,
            "establishment.checkin_code_regenerated",
            actor=user,
            establishment_id=current.pk,
            data={"old": old, "new": code},
        )
    establishment.checkin_code = code
    return code


def checkin_mode_set(*, establishment: Establishment, mode: str, user: AbstractBaseUser) -> None:
    """Which codes the check-in page accepts here: printed, entrance screen, or both."""
    if mode not in CheckinMode.values:
        raise DomainError("invalid_mode", _("Choose which codes are accepted."))
    with transaction.atomic():
        current = _locked(establishment)
        if current.checkin_mode == mode:
            return
        old = current.checkin_mode
        current.checkin_mode = mode
        current.save(update_fields=["checkin_mode"])
        log_action(
            current,
            "establishment.checkin_mode_changed",
            actor=user,
            establishment_id=current.pk,
            data={"old": old, "new": mode},
        )
    establishment.checkin_mode = mode
