"""Who may run an establishment from the back-office: a role per (user, establishment)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from strapontin.venues.models import Establishment


class Role(models.TextChoices):
    DESK = "desk", _("Desk agent")
    MANAGER = "manager", _("Manager")


class StaffRole(models.Model):
    """A desk agent sees the day, validates presence and cancels with a reason; a manager
    also runs the establishment (codes, kiosk links, rules). Superusers need no role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_roles",
        verbose_name=_("user"),
    )
    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="staff_roles",
        verbose_name=_("establishment"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.DESK)

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        ordering = ["establishment", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "establishment"], name="staffrole_one_per_establishment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.establishment}"
