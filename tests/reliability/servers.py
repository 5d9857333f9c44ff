"""Real processes for the crash tests: `strapontin serve` (gunicorn) and `strapontin worker`,
a mail server in this process (aiosmtpd), a private PostgreSQL cluster, and a bounded load
of patrons booking through the web pages. Loopback only."""

import contextlib
import email
import email.policy
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from strapontin.public.forms import slot_value

ROOT = Path(__file__).resolve().parents[2]
STRAPONTIN = str(Path(sys.executable).with_name("strapontin"))
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REFERENCE = re.compile(r"/reservation/([A-Z0-9]+)/$")
DATA_CODE = re.compile(r'data-code="([^"]*)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Any, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --- Mail ------------------------------------------------------------------------------------


@dataclass
class Inbox:
    """Keeps the Message-ID of everything it accepts; a little slow on purpose, so that a
    worker killed at random is often killed in the middle of a batch."""

    delay: float = 0.05
    message_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        time.sleep(self.delay)
        with self.lock:
            self.message_ids.append(str(message["Message-ID"]))
        return "250 Message accepted for delivery"


# --- The service's processes -----------------------------------------------------------------


class Service:
    """The web server and the worker, as production runs them, each in its own process
    group so that SIGKILL takes gunicorn's master and its workers at once (a crash, an OOM
    kill), and each restartable."""

    def __init__(self, database_url: str, smtp_port: int, var_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "BASE_URL": self.url,
            "SECRET_KEY": "crash-test-secret-key-not-for-production-0123456789",
            "STRAPONTIN_VAR_DIR": str(var_dir),
            "OUTBOX_STALE_LOCK_SECONDS": "2",
            # Every patron of the load comes from 127.0.0.1: the per-client limit is not tested.
            "BOOKINGS_PER_CLIENT": "100000",
            "LOG_LEVEL": "ERROR",
            "DJANGO_SETTINGS_MODULE": "strapontin.config.settings",
        }
        self.env.pop("TASKS_BACKEND", None)
        self.logs = var_dir
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.kills = {"web": 0, "worker": 0}

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        return subprocess.Popen(
            [STRAPONTIN, *args],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_web(self) -> None:
        """The first start collects the static files, as a deployment does once."""
        again = ["--no-collectstatic"] if self.web is not None else []
        self.web = self._spawn(
            "web", "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "2", *again
        )
        wait_until(self.web_is_up, 60, "the web server")

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", "worker", "--interval", "0.2", "--sweep-seconds", "1")

    def web_is_up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @staticmethod
    def _kill(process: subprocess.Popen[bytes] | None) -> None:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def kill_web(self) -> None:
        self._kill(self.web)
        self.kills["web"] += 1

    def kill_worker(self) -> None:
        self._kill(self.worker)
        self.kills["worker"] += 1

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [STRAPONTIN, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


# --- Load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    slug: str
    place_id: int
    start: datetime
    email: str


@dataclass
class Outcome:
    slot: Slot
    status: int | None  # None: no answer (the server died under the request)
    reference: str = ""
    seconds: float = 0.0
    retry_after: str | None = None
    body: str = ""
    code: str = ""  # the error's code, for a refusal


class Load:
    """Patrons booking through the web pages, a few at a time, each slot once: GET the
    booking page (CSRF cookie and token), POST it. Bounded: it ends when the slots do, or at
    its deadline."""

    def __init__(self, base_url: str, slots: list[Slot], clients: int = 3) -> None:
        self.base_url = base_url
        self.slots = list(slots)
        self.clients = clients
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _next(self) -> Slot | None:
        with self.lock:
            return self.slots.pop(0) if self.slots and not self.stop.is_set() else None

    def _book(self, client: httpx.Client, slot: Slot) -> Outcome:
        url = f"/{slot.slug}/reservation/reserver/"
        value = slot_value(slot.place_id, slot.start)
        started = time.monotonic()
        try:
            page = client.get(url, params={"slot": value, "duration": 60})
            token = CSRF_INPUT.search(page.text)
            if page.status_code != 200 or token is None:
                return Outcome(
                    slot,
                    page.status_code,
                    seconds=time.monotonic() - started,
                    retry_after=page.headers.get("Retry-After"),
                    body=page.text[:300],
                )
            answer = client.post(
                url,
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "slot": value,
                    "duration": 60,
                    "email": slot.email,
                },
            )
        except httpx.HTTPError:
            return Outcome(slot, None, seconds=time.monotonic() - started)
        location = answer.headers.get("Location", "")
        found = REFERENCE.search(location)
        code = DATA_CODE.search(answer.text)
        return Outcome(
            slot,
            answer.status_code,
            reference=found.group(1) if found else "",
            seconds=time.monotonic() - started,
            retry_after=answer.headers.get("Retry-After"),
            body="" if answer.status_code == 302 else answer.text[:300],
            code=code.group(1) if code else "",
        )

    def _run(self) -> None:
        """A patron whose request got no answer, or a 503, tries the same slot again a
        little later (then a 409 may tell that the first attempt had gone through)."""
        while (slot := self._next()) is not None:
            for _attempt in range(20):
                with httpx.Client(base_url=self.base_url, timeout=20) as client:
                    outcome = self._book(client, slot)
                with self.lock:
                    self.outcomes.append(outcome)
                if outcome.status is not None and outcome.status < 500:
                    break
                if self.stop.is_set():
                    return
                time.sleep(0.3)  # the server is down: do not spin

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._run) for _ in range(self.clients)]
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 302]


# --- A private PostgreSQL --------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PrivateCluster:
    """A PostgreSQL cluster of this test's own, run as the postgres user on its own port and
    socket directory: it may be stopped and started at will (never the shared one)."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None or shutil.which("runuser") is None:
            if os.environ.get("CI") == "true":
                pytest.fail("PostgreSQL's server binaries are required in CI")
            pytest.skip("needs PostgreSQL's server (apt-get install postgresql)")
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="strapontin-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/strapontin"
        self._as_postgres(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        self.start()
        self._as_postgres("createdb", "-h", "127.0.0.1", "-p", str(self.port), "strapontin")

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.dir,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c shared_buffers=16MB -c max_connections=40"
        )
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
