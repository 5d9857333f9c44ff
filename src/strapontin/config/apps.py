from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The composition root: holds the ``strapontin`` commands that span every app."""

    name = "strapontin.config"
    label = "config"
