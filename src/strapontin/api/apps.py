from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _forget_erased_patron(sender: Any, *, patron: Any, email: str, **kwargs: Any) -> None:
    """An erased address leaves no sign-in code and no working patron token behind."""
    from strapontin.api.models import PatronToken, SignInCode

    SignInCode.objects.filter(email=email).delete()
    PatronToken.objects.filter(patron=patron).delete()


class ApiConfig(AppConfig):
    name = "strapontin.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        from strapontin.reservations.privacy import patron_erased

        patron_erased.connect(_forget_erased_patron, dispatch_uid="api.forget_erased_patron")
