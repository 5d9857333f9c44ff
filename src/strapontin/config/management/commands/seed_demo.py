from typing import Any

from django.core.management.base import BaseCommand

from strapontin.config.demo_data import seed_demo


class Command(BaseCommand):
    help = "Create the demo libraries (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for establishment in seed_demo():
            self.stdout.write(
                f"{establishment.name}: {establishment.resources.count()} places, "
                f"check-in code {establishment.checkin_code}"
            )
