from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "strapontin.core"
    label = "core"
    verbose_name = "Strapontin"
