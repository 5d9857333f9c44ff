"""The processes a bench run starts and always stops: `strapontin serve`, `strapontin worker`,
an SMTP sink; and the databases they use."""

import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
STRAPONTIN = ROOT / ".venv" / "bin" / "strapontin"
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdefghijklmnop"  # noqa: S105


@dataclass
class Site:
    """One configuration of Strapontin: a database, a var/ directory, optional Redis/SMTP."""

    name: str
    database_url: str
    var_dir: Path
    redis_url: str = ""
    email_url: str = ""

    def env(self, port: int = 0) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "EMAIL_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="bench.settings",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            STRAPONTIN_VAR_DIR=str(self.var_dir),
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            EMAIL_URL=self.email_url,
            BASE_URL=f"http://127.0.0.1:{port or 8000}",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Behind one reverse proxy: every simulated student has an address of their own.
            TRUSTED_PROXY_COUNT="1",
            DEBUG="false",
            SECRET_KEY=SECRET_KEY,
        )
        return env

    def manage(self, *args: str, timeout: float = 3600) -> str:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(  # noqa: S603 - our own command
            [str(STRAPONTIN), *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"strapontin {' '.join(args)} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def prepare(self) -> None:
        """Migrations and collected static files (hashed names: the manifest storage)."""
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")


def recreate_postgresql_database(admin_url: str, name: str) -> str:
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url}/{name}"


def drop_postgresql_database(admin_url: str, name: str) -> None:
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgresql_database_exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def postgresql_database_size(admin_url: str, name: str) -> int:
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        row = connection.execute("SELECT pg_database_size(%s)", [name]).fetchone()
    return int(row[0]) if row else 0


class Process:
    """A child process with its output in a log file, stopped on exit whatever happens."""

    def __init__(self, site: Site, args: list[str], log: Path, port: int = 0) -> None:
        self.log_path = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("wb")
        self.popen = subprocess.Popen(  # noqa: S603 - our own command
            [str(STRAPONTIN), *args],
            env=site.env(port),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> "Process":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Server(Process):
    """``strapontin serve`` on loopback: gunicorn, sync workers, production settings."""

    def __init__(self, site: Site, port: int, workers: int | None = None) -> None:
        # Collected once by Site.prepare(): two servers sharing var/ must not race at it.
        args = ["serve", "--bind", f"127.0.0.1:{port}", "--no-collectstatic"]
        if workers:
            args += ["--workers", str(workers)]
        super().__init__(site, args, site.var_dir / f"serve-{port}.log", port)
        self.port = port
        self._wait_until_up()

    def _wait_until_up(self, seconds: float = 60) -> None:
        stop_at = time.monotonic() + seconds
        while time.monotonic() < stop_at:
            if self.popen.poll() is not None:
                raise RuntimeError(f"strapontin serve exited:\n{self.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as answer:
                    if answer.status == 200 and len(self.worker_pids()) >= 1:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"strapontin serve did not come up:\n{self.log_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the children of the master (``serve`` exec'd into it)."""
        path = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def worker_rss_mib(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes


class Worker(Process):
    def __init__(self, site: Site, number: int) -> None:
        super().__init__(
            site, ["worker", "--interval", "0.5"], site.var_dir / f"worker-{number}.log"
        )


@dataclass
class SmtpSink:
    """A real SMTP server on loopback that only counts what it receives, by recipient."""

    port: int
    received: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages += 1
            for recipient in envelope.rcpt_tos:
                self.received[recipient.lower()] += 1
        return "250 OK"

    @contextmanager
    def running(self) -> Iterator["SmtpSink"]:
        from aiosmtpd.controller import Controller

        controller = Controller(self, hostname="127.0.0.1", port=self.port)
        controller.start()
        try:
            yield self
        finally:
            controller.stop()
