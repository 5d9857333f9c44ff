"""The load generator: a small HTTP/1.1 client on asyncio, for loopback only.

Why not httpx or locust: on this 2-core machine the load generator shares the CPU with the
server it measures, and gunicorn's sync workers close every connection anyway; a bare
``asyncio.open_connection`` per request costs a fraction of httpx's time per request, so
more of the machine is left to the server. Every run is bounded in requests and in time.
"""

import asyncio
import json
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SERVER_TIMING = re.compile(rb"(?im)^server-timing:\s*app;dur=([0-9.]+)")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, path: str, payload: dict[str, Any], **headers: str) -> "Request":
        return cls(
            "POST",
            path,
            json.dumps(payload).encode(),
            (("Content-Type", "application/json"), *headers.items()),
        )


@dataclass
class Response:
    status: int  # 0: no answer (connection refused or reset, time-out)
    started: float
    finished: float
    server_ms: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def json(self) -> Any:
        return json.loads(self.body or b"null")


async def fetch(host: str, port: int, request: Request, *, timeout: float = 30) -> Response:
    if host not in LOOPBACK:  # this generator only ever loads a server of this machine
        raise ValueError(f"refusing to send load to {host}: loopback only")
    started = time.monotonic()
    head = [
        f"{request.method} {request.path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Connection: close",
        "Accept-Language: fr",
        *(f"{name}: {value}" for name, value in request.headers),
    ]
    if request.body or request.method == "POST":
        head.append(f"Content-Length: {len(request.body)}")
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + request.body
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(raw)
                data = await reader.read(-1)
            finally:
                writer.close()
    except (OSError, TimeoutError) as error:
        return Response(0, started, time.monotonic(), error=type(error).__name__)
    finished = time.monotonic()
    header_block, _sep, body = data.partition(b"\r\n\r\n")
    lines = header_block.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return Response(0, started, finished, error="bad status line")
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    match = SERVER_TIMING.search(header_block)
    return Response(
        status,
        started,
        finished,
        server_ms=float(match.group(1)) if match else None,
        headers=headers,
        body=body,
    )


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _sep, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


async def closed_loop(
    host: str, port: int, requests: Sequence[Request], *, concurrency: int, deadline: float = 120
) -> list[Response]:
    """``concurrency`` clients, each sending its next request when the last one is answered."""
    queue = list(reversed(requests))
    results: list[Response] = []
    stop_at = time.monotonic() + deadline

    async def client() -> None:
        while queue and time.monotonic() < stop_at:
            results.append(await fetch(host, port, queue.pop()))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return results


async def burst(
    targets: Sequence[tuple[str, int]], requests: Sequence[Request], *, deadline: float = 60
) -> list[Response]:
    """Every request at once (the 8 o'clock rush), spread over ``targets`` in turn."""
    return list(
        await asyncio.gather(
            *(
                fetch(*targets[i % len(targets)], request, timeout=deadline)
                for i, request in enumerate(requests)
            )
        )
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@dataclass(frozen=True)
class Throughput:
    requests: int
    ok: int
    per_second: float  # successful answers per second, first request to last answer
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]

    @classmethod
    def of(cls, responses: Sequence[Response], ok_status: int) -> "Throughput":
        good = [r for r in responses if r.status == ok_status]
        span = max(r.finished for r in responses) - min(r.started for r in responses)
        statuses: dict[int, int] = {}
        for r in responses:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        latencies = [r.seconds * 1000 for r in good]
        return cls(
            requests=len(responses),
            ok=len(good),
            per_second=len(good) / span if span else 0.0,
            p50_ms=percentile(latencies, 0.5),
            p99_ms=percentile(latencies, 0.99),
            statuses=dict(sorted(statuses.items())),
        )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
