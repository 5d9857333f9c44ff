from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VenuesConfig(AppConfig):
    name = "strapontin.venues"
    label = "venues"
    verbose_name = _("Establishments")

    def ready(self) -> None:
        from strapontin.venues import rules  # noqa: F401 - connects the version signals
