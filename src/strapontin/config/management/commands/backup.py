import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = (
        "Back up the database while the service runs, to FILE: a consistent snapshot "
        "(PostgreSQL: pg_dump -Fc of DATABASE_URL; SQLite: VACUUM INTO). See docs/operations.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        target: Path = options["file"].resolve()
        if target.exists():
            raise CommandError(f"{target} exists: choose a new file.")
        if connection.vendor == "sqlite":
            # One read transaction: a snapshot of every committed write, WAL included, while
            # writers go on.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [str(target)])
        elif connection.vendor == "postgresql":
            self._pg_dump(target)
        else:
            raise CommandError(f"No backup for {connection.vendor}.")
        self.stdout.write(f"Backed up to {target}")

    def _pg_dump(self, target: Path) -> None:
        """pg_dump runs in one repeatable-read transaction: a consistent snapshot."""
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise CommandError("pg_dump not found: install PostgreSQL's client tools.")
        db = connection.settings_dict
        env = dict(os.environ)
        if db.get("PASSWORD"):
            env["PGPASSWORD"] = db["PASSWORD"]
        argv = [pg_dump, "--format=custom", "--no-owner", f"--file={target}"]
        for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
            if db.get(key):
                argv.append(f"{flag}={db[key]}")
        argv.append(db["NAME"])
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise CommandError(done.stderr.strip())
