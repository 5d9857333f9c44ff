"""Run callables on their own threads and database connections, released together."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection


def together(*actions: Callable[[], Any]) -> list[Any]:
    """Start every action at once (a barrier) on its own thread; return their results in
    order, re-raising the first unexpected exception. Each thread closes its connection."""
    barrier = threading.Barrier(len(actions), timeout=30)

    def run(action: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return action()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        futures = [pool.submit(run, action) for action in actions]
        return [future.result(timeout=120) for future in futures]
