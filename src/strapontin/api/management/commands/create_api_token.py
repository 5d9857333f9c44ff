from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from strapontin.api import credentials


class Command(BaseCommand):
    help = (
        "Create a staff API token for a user and print it (once: only its hash is kept). "
        "The token acts within the establishments where the user has a role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="API", help="What or who uses the token.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        if not user.is_active:
            raise CommandError(f"{user.get_username()} is not active.")
        _token, raw = credentials.staff_token_create(
            user=user, name=options["name"], actor="create_api_token"
        )
        self.stdout.write(raw)
