import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


def default_workers() -> int:
    """One worker per core, and one more to use a core while another waits on the database.
    Not gunicorn's 2 x cores + 1, which assumes a machine of its own: PostgreSQL and Redis
    usually share this one, and on the 2-core bench machine five workers booked 351 a second
    and three 382, with a lower p99 (bench/, issue 7). With the database on another machine,
    raise it (WEB_CONCURRENCY)."""
    return (os.cpu_count() or 1) + 1


class Command(BaseCommand):
    help = "Serve the web application with gunicorn (production; WSGI, sync workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "0")) or None
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Static files were collected already (by the deployment, or another server "
            "sharing STATIC_ROOT).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_collectstatic"]:
            # Pages name static files by their hashed names, read from collectstatic's manifest.
            call_command("collectstatic", interactive=False, verbosity=0)
        workers = options["workers"] or default_workers()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "strapontin.config.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]
        os.execv(sys.executable, argv)  # noqa: S606 - replace this process with gunicorn
