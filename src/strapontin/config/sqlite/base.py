"""Django's SQLite backend, with writers queued on an OS lock instead of SQLite's busy loop.

A writer that finds SQLite's write lock taken sleeps 1, 2, 5, 10 … 100 ms between tries, so at
the rush most of them sleep while the lock is free: measured 46 bookings/s with 32 clients,
p50 0.7 s. Each write transaction (``BEGIN IMMEDIATE``) first takes an exclusive ``flock`` on
a file beside the database, which wakes the next writer the moment the last one ends; SQLite's
own lock and timeout stay as they were behind it.
"""

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _write_lock: int | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if not self.is_in_memory_db():
            path = f"{self.settings_dict['NAME']}.lock"
            self._write_lock = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return connection

    def _start_transaction_under_autocommit(self) -> None:
        if self._write_lock is not None:
            fcntl.flock(self._write_lock, fcntl.LOCK_EX)
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            if self._write_lock is not None:
                os.close(self._write_lock)  # releases the lock, if held
                self._write_lock = None

    def _release(self) -> None:
        if self._write_lock is not None:
            fcntl.flock(self._write_lock, fcntl.LOCK_UN)
