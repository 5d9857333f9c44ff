"""Credentials of API clients: e-mailed sign-in codes, patron tokens, staff tokens.

Only keyed or plain SHA-256 hashes are stored: a copy of the database gives no way in.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from strapontin.reservations.models import Patron


class SignInCode(models.Model):
    """A 6-digit code e-mailed to prove an address from an app (10 minutes, 5 attempts).

    Keyed by the address, not by a patron: proving an address needs no reservation yet, and
    asking for a code creates nothing until the code is typed back."""

    email = models.EmailField(max_length=254)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email", "created_at"], name="api_signincode_email_idx")]

    def __str__(self) -> str:
        return f"code for {self.email}"


class PatronToken(models.Model):
    """What an app keeps after the code: "my reservations", and booking without confirming."""

    patron = models.ForeignKey(
        Patron, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("patron")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), editable=False)
    expires_at = models.DateTimeField(_("expires"), editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("patron API token")
        verbose_name_plural = _("patron API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.patron} ({self.created_at:%Y-%m-%d})"


class StaffToken(models.Model):
    """A staff member's API token: acts as that user, within the establishments of their
    roles. Created from the admin or ``strapontin create_api_token``; shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=80, help_text=_("What or who uses it."))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("starts with"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created"), editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("staff API token")
        verbose_name_plural = _("staff API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
