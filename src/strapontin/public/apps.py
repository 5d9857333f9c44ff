from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "strapontin.public"
    label = "public"
