from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "strapontin.desk"
    label = "desk"
