import os
import threading
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from strapontin.config.worker import run_worker
from strapontin.desk.models import Role, StaffRole
from strapontin.venues.models import Establishment

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - printed on purpose: the demo's staff login
DESK_USER = "accueil"
DESK_PASSWORD = "accueil"  # noqa: S105 - printed on purpose: the demo's desk agent
DESK_ESTABLISHMENT = "demo-bu"


class Command(BaseCommand):
    help = "Start the demo: SQLite, demo data, web server and worker in one process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if not os.environ.get("BASE_URL"):
            # Links in the demo's e-mails point to where the demo listens.
            settings.BASE_URL = f"http://{options['addrport']}"
        call_command("migrate", interactive=False, verbosity=0)
        # As in production: hashed static file names, served by whitenoise from var/static.
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("seed_demo")
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        self._desk_agent()
        stop = threading.Event()
        threading.Thread(target=run_worker, args=(stop,), daemon=True, name="worker").start()
        url = f"http://{options['addrport']}/"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nStrapontin demo: {url}\n"
                f"Staff login ({url}admin/ and {url}desk/): {DEMO_USER} / {DEMO_PASSWORD}\n"
                f"Desk agent of Démo BU ({url}desk/): {DESK_USER} / {DESK_PASSWORD}\n"
                f"E-mails are not sent: read them at {url}demo/mails/\n"
            )
        )
        try:
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            stop.set()

    def _desk_agent(self) -> None:
        """A desk agent of Démo BU only: staff (to sign in), not a superuser."""
        establishment = Establishment.objects.filter(slug=DESK_ESTABLISHMENT).first()
        if establishment is None:
            return
        agent, created = get_user_model().objects.get_or_create(
            username=DESK_USER, defaults={"is_staff": True}
        )
        if created:
            agent.set_password(DESK_PASSWORD)
            agent.save()
        StaffRole.objects.get_or_create(
            user=agent, establishment=establishment, defaults={"role": Role.DESK}
        )
