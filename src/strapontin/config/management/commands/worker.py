import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from strapontin.config.worker import run_worker


class Command(BaseCommand):
    help = "Run background tasks, the periodic sweeps and the e-mail outbox (production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--sweep-seconds", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write("Strapontin worker started.")
        run_worker(stop, interval=options["interval"], sweep_seconds=options["sweep_seconds"])
