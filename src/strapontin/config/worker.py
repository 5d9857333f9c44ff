"""The background worker: runs queued tasks and sends the outbox's due e-mails every
``interval``; every ``sweep_seconds``, the periodic sweeps; every ``retention_seconds``, the
anonymisation of addresses past their retention period."""

import logging
import threading
import time

from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from strapontin.reservations.notifications import deliver_due
from strapontin.reservations.privacy import sweep_retention
from strapontin.reservations.sweeps import run_sweeps

logger = logging.getLogger("strapontin.worker")


def run_worker(
    stop: threading.Event,
    *,
    interval: float = 1.0,
    sweep_seconds: float = 30,
    retention_seconds: float = 3600,
) -> None:
    tasks = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"strapontin-{get_random_string(8)}",
        excluded_queue_names=[],
    )
    last_sweep = last_retention = float("-inf")
    while not stop.is_set():
        try:
            tasks.running = True
            tasks.run()
            # Bookings queue no task per e-mail: the outbox is read here, every pass.
            sent = deliver_due()
            if time.monotonic() - last_sweep >= sweep_seconds:
                last_sweep = time.monotonic()
                moved = run_sweeps()
                sent += deliver_due()
                if any(moved.values()) or sent:
                    logger.info("Sweeps: %s; e-mails sent: %s", moved, sent)
            if time.monotonic() - last_retention >= retention_seconds:
                last_retention = time.monotonic()
                if anonymised := sweep_retention():
                    logger.info("Retention: %s addresses anonymised", anonymised)
        except Exception:
            logger.exception("Worker pass failed; trying again")
        finally:
            close_old_connections()
        stop.wait(interval)
