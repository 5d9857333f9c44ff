"""The scenarios of issue 7, each against a live server, each bounded in requests and time."""

import asyncio
import gzip
import random
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from bench.load import Request, Response, Throughput, burst, closed_loop, fetch, median
from bench.tokens import patron_token

HOST = "127.0.0.1"
TZ = ZoneInfo("Europe/Paris")
OPENS, HOURS = 8, 14  # as in bench/dataset.py
BIG, BOOKING, RUSH = "bench-big", "bench-booking", "bench-rush"
HASHED = re.compile(r"\.[0-9a-f]{12}\.[a-z0-9]+$")


def client_address(n: int) -> str:
    """A distinct address per simulated student, as a reverse proxy would forward it (only
    ever a header value: every request goes to loopback)."""
    return f"127.{1 + (n >> 16) % 254}.{(n >> 8) & 255}.{n & 255}"


@dataclass
class Plan:
    """Hands out what each request needs and nobody else used: a patron, a (place, hour)."""

    data: dict[str, Any]
    next_patron: int = 0
    next_booking: int = 0

    @property
    def tomorrow(self) -> date:
        return date.fromisoformat(self.data["day"])

    def patron(self) -> int:
        n = self.next_patron
        self.next_patron += 1
        if n >= self.data["booking_patrons"]:
            raise RuntimeError("the bench ran out of fresh patrons: raise BOOKING_PATRONS")
        return n

    def booking(self, place: int, start: datetime) -> Request:
        n = self.patron()
        return Request.json(
            "/api/v1/reservations",
            {
                "place": place,
                "start": start.isoformat(),
                "duration": 60,
                "email": f"b{n}@patrons.example",
                "language": "fr",
            },
            **{
                "X-Forwarded-For": client_address(n),
                # Signed in from an app: the address is proven, the booking confirmed at once.
                "Authorization": f"Bearer {patron_token(n)}",
            },
        )

    def bookings(self, count: int) -> list[Request]:
        """Distinct places at one hour, then the next hour, the next day (days 2 to 6)."""
        places = self.data[BOOKING]["places"]
        per_day = len(places) * HOURS
        requests = []
        for _ in range(count):
            k = self.next_booking
            self.next_booking += 1
            day = self.tomorrow + timedelta(days=1 + k // per_day)
            if day > self.tomorrow + timedelta(days=5):
                raise RuntimeError("the bench ran out of free (place, hour) pairs")
            hour = OPENS + (k % per_day) // len(places)
            start = datetime.combine(day, clock_time(hour), tzinfo=TZ)
            requests.append(self.booking(places[k % len(places)], start))
        return requests

    def rush(self, run: int, patrons: int = 2000) -> list[Request]:
        """``patrons`` students, four per place, all for the same hour of tomorrow."""
        places = self.data[RUSH]["places"]
        start = datetime.combine(self.tomorrow, clock_time(OPENS + run % HOURS), tzinfo=TZ)
        requests = [self.booking(places[i % len(places)], start) for i in range(patrons)]
        random.Random(run).shuffle(requests)
        return requests


def ceiling_requests(count: int, first: int = 0) -> list[Request]:
    return [
        Request("POST", "/bench/ceiling", b"", (("X-Forwarded-For", client_address(first + i)),))
        for i in range(count)
    ]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def throughput(
    port: int, requests: list[Request], concurrency: int, ok: int, seconds: float = 30
) -> Throughput:
    """Closed loop, until the requests or the time run out (a loaded machine is slower)."""
    responses = run(closed_loop(HOST, port, requests, concurrency=concurrency, deadline=seconds))
    return Throughput.of(responses, ok)


def warm(port: int, plan: Plan, concurrency: int) -> None:
    """Every gunicorn worker imports, connects and renders once before anything is timed."""
    throughput(port, plan.bookings(concurrency * 6), concurrency, 201)
    throughput(port, ceiling_requests(concurrency * 6), concurrency, 201)


@dataclass
class RushResult:
    successes: int
    taken: int
    other: dict[str, int]
    server_errors: int
    no_answer: int
    first_to_last_success_s: float
    seconds: float

    @classmethod
    def of(cls, responses: list[Response]) -> "RushResult":
        first = min(r.started for r in responses)
        wins = [r for r in responses if r.status == 201]
        taken = 0
        other: dict[str, int] = {}
        for r in responses:
            if r.status == 201:
                continue
            code = _code(r)
            if r.status == 409 and code == "slot_taken":
                taken += 1
            else:
                other[f"{r.status} {code}"] = other.get(f"{r.status} {code}", 0) + 1
        return cls(
            successes=len(wins),
            taken=taken,
            other=other,
            server_errors=sum(1 for r in responses if r.status >= 500),
            no_answer=sum(1 for r in responses if r.status == 0),
            first_to_last_success_s=max((r.finished for r in wins), default=first) - first,
            seconds=max(r.finished for r in responses) - first,
        )


def _code(response: Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except (ValueError, AttributeError):
        return response.error or "?"


def rush(targets: list[tuple[str, int]], requests: list[Request]) -> RushResult:
    return RushResult.of(run(burst(targets, requests, deadline=180)))


@dataclass
class Timing:
    server_ms: float  # median over the requests
    client_ms: float
    statuses: dict[int, int]
    queries: int | None = None


def server_time(port: int, path: str, count: int = 40) -> Timing:
    """One request at a time: the time Django spends on it (Server-Timing), median."""

    async def go() -> list[Response]:
        for _ in range(5):
            await fetch(HOST, port, Request("GET", path))
        return [await fetch(HOST, port, Request("GET", path)) for _ in range(count)]

    responses = run(go())
    statuses: dict[int, int] = {}
    for r in responses:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return Timing(
        server_ms=median([r.server_ms for r in responses if r.server_ms is not None]),
        client_ms=median([r.seconds * 1000 for r in responses]),
        statuses=statuses,
    )


def alternating_server_time(
    base_port: int, growth_port: int, path: str, count: int = 40
) -> dict[str, float]:
    """The same request to two servers in turn, one at a time: the medians of both."""

    async def go() -> tuple[list[Response], list[Response]]:
        for _ in range(5):
            await fetch(HOST, base_port, Request("GET", path))
            await fetch(HOST, growth_port, Request("GET", path))
        base, growth = [], []
        for _ in range(count):
            base.append(await fetch(HOST, base_port, Request("GET", path)))
            growth.append(await fetch(HOST, growth_port, Request("GET", path)))
        return base, growth

    base, growth = run(go())
    return {
        "base_ms": median([r.server_ms for r in base if r.server_ms is not None]),
        "growth_ms": median([r.server_ms for r in growth if r.server_ms is not None]),
    }


@dataclass
class PageWeight:
    html_bytes: int
    html_gzip_bytes: int
    assets: list[dict[str, Any]] = field(default_factory=list)
    third_party: list[str] = field(default_factory=list)
    csp: str = ""

    @property
    def total_compressed(self) -> int:
        return self.html_gzip_bytes + sum(a["bytes"] for a in self.assets)


ASSET = re.compile(r"""<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)\"""", re.I)
ABSOLUTE = re.compile(r"""(?:href|src|action)="((?:https?:)?//[^"]+)\"""", re.I)


def page_weight(port: int, path: str) -> PageWeight:
    """What a phone downloads for the page: the HTML gzipped (as the reverse proxy would) and
    each stylesheet, script and icon it names, as served (whitenoise's precompressed files)."""

    async def go() -> PageWeight:
        page = await fetch(HOST, port, Request("GET", path))
        html = page.body
        weight = PageWeight(
            html_bytes=len(html),
            html_gzip_bytes=len(gzip.compress(html, 6)),
            csp=page.headers.get("content-security-policy", ""),
        )
        text = html.decode()
        weight.third_party = sorted(
            {url for url in ABSOLUTE.findall(text) if f"127.0.0.1:{port}" not in url}
        )
        for url in sorted(set(ASSET.findall(text))):
            if not url.startswith("/static/"):
                continue
            asset = await fetch(
                HOST, port, Request("GET", url, headers=(("Accept-Encoding", "gzip, br"),))
            )
            weight.assets.append(
                {
                    "url": url,
                    "status": asset.status,
                    "bytes": len(asset.body),
                    "encoding": asset.headers.get("content-encoding", "identity"),
                    "cache_control": asset.headers.get("cache-control", ""),
                    "hashed": bool(HASHED.search(url)),
                }
            )
        return weight

    return run(go())


def settle(ports: list[int], seconds: float = 120) -> float:
    """Wait until every server answers /healthz quickly again: requests a client gave up on
    may still be queued in gunicorn's backlog, and must not weigh on the next scenario."""
    started = time.monotonic()

    async def quick(port: int) -> bool:
        answer = await fetch(HOST, port, Request("GET", "/healthz"), timeout=5)
        return answer.status == 200 and answer.seconds < 0.2

    async def all_quick() -> bool:
        return all(await asyncio.gather(*(quick(port) for port in ports)))

    streak = 0
    while streak < 3 and time.monotonic() - started < seconds:
        streak = streak + 1 if run(all_quick()) else 0
        time.sleep(0.2)
    return time.monotonic() - started


def wait_for(predicate: Any, seconds: float, step: float = 0.5) -> bool:
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
