"""The audit log: dotted action names, written inside the caller's transaction."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from strapontin.core.clock import now
from strapontin.core.models import AuditEntry
from strapontin.core.rows import insert_later

Actor = AbstractBaseUser | AnonymousUser | str | None


def log_action(
    subject: models.Model,
    action: str,
    *,
    actor: Actor,
    establishment_id: int | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record ``action`` on ``subject``; ``actor`` is a staff user, a label, or None (system)."""
    user = actor if isinstance(actor, AbstractBaseUser) else None
    if user is not None:
        label = user.get_username()
    elif isinstance(actor, str):
        label = actor
    else:
        label = "system"
    assert subject.pk is not None
    return insert_later(
        AuditEntry(
            created_at=now(),
            action=action,
            actor=user,  # type: ignore[misc]  # AUTH_USER_MODEL is a User
            actor_label=label,
            establishment_id=establishment_id,
            subject_type=subject._meta.label_lower,
            subject_id=subject.pk,
            reason=reason,
            data=data or {},
        )
    )


def entries_for(subject: models.Model) -> models.QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(
        subject_type=subject._meta.label_lower, subject_id=subject.pk
    ).select_related("actor")
