"""bench/RESULTS.md: the machine, the date, every figure with its target and its ratio."""

import os
import platform
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg

from bench.load import median

MAX_AGE = re.compile(r"max-age=(\d+)")


def machine(postgres_url: str) -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // 1024
    try:
        with psycopg.connect(f"{postgres_url}/postgres") as connection:
            row = connection.execute("SHOW server_version").fetchone()
            pg = row[0] if row else "?"
    except psycopg.Error:
        pg = "unreachable"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "psycopg": version("psycopg"),
        "postgresql": pg,
        "sqlite": __import__("sqlite3").sqlite_version,
    }


def log_errors(text: str) -> dict[str, int]:
    """What a server's log says went wrong: tracebacks, 5xx in the access log, locks."""
    return {
        "tracebacks": text.count("Traceback (most recent call last)"),
        "http_5xx": len(re.findall(r'" 5\d\d ', text)),
        "database_is_locked": text.count("database is locked"),
        "deadlock_retries": text.count("Retrying after"),
    }


def _yes(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


Row = tuple[str, str, str, bool]


def _postgresql_rows(pg: dict[str, Any]) -> list[Row]:
    t = pg["throughput"]
    rows: list[Row] = [
        (
            "Booking, PostgreSQL",
            "≥ 300/s",
            f"{t['booking_per_s']:.0f}/s",
            t["booking_per_s"] >= 300,
        ),
        (
            "Booking / bare-Django ceiling",
            "≥ 40 %",
            f"{t['ratio']:.0%} (ceiling {t['ceiling_per_s']:.0f}/s)",
            t["ratio"] >= 0.4,
        ),
        (
            "Booking p99 at that rate",
            "< 250 ms",
            f"{t['booking_p99_ms']:.0f} ms",
            t["booking_p99_ms"] < 250,
        ),
    ]
    rushes = pg["rush"]
    clean = all(
        (x["successes"], x["taken"], x["server_errors"], x["no_answer"], x["other"])
        == (500, 1500, 0, 0, {})
        for x in rushes
    )
    counts = ", ".join(f"{x['successes']}/{x['taken']}/{x['server_errors']}" for x in rushes)
    last = [x["first_to_last_success_s"] for x in rushes]
    double = pg["check"]["double_bookings"]
    rows += [
        ("Rush: successes / “taken” / 5xx", "500 / 1,500 / 0", counts, clean),
        ("Rush: double bookings", "0", str(double), double == 0),
        (
            "Rush: last success after the first request",
            "≤ 10 s",
            f"{median(last):.2f} s (worst {max(last):.2f} s)",
            max(last) <= 10,
        ),
    ]
    reads = pg["reads"]
    api, api_40, page = (reads[k]["server_ms"] for k in ("api_200", "api_40", "page_area"))
    rows += [
        (
            "Availability, 1,000 places, 5,000 reservations (API, 200 a page)",
            "≤ 25 ms",
            f"{api:.1f} ms (40 a page: {api_40:.1f} ms)",
            api <= 25,
        ),
        ("Reservation page, one area of 200 places", "≤ 50 ms", f"{page:.1f} ms", page <= 50),
    ]
    rss = max(pg["rss_mib"] or [0])
    rows.append(
        (
            "RSS per web worker after the bench",
            "≤ 150 MiB",
            f"{rss:.0f} MiB (max of {len(pg['rss_mib'])})",
            0 < rss <= 150,
        )
    )
    w = pg["page_weight"]
    assets = w["assets"]
    total = w["html_gzip_bytes"] + sum(a["bytes"] for a in assets)
    hashed = sum(a["hashed"] for a in assets)
    year = 365 * 86400
    cached = sum(int((MAX_AGE.search(a["cache_control"]) or [0, 0])[1]) >= year for a in assets)
    rows += [
        (
            "Page weight of that page, compressed (HTML gzip + assets)",
            "< 100 KB",
            f"{total / 1000:.1f} KB (HTML {w['html_gzip_bytes'] / 1000:.1f} KB)",
            total < 100_000,
        ),
        (
            "Static assets: hashed names, cached ≥ 1 year",
            "all",
            f"{hashed}/{len(assets)} hashed, {cached}/{len(assets)} cached",
            hashed == cached == len(assets) > 0,
        ),
        (
            "Third-party hosts named by the page",
            "none",
            ", ".join(w["third_party"]) or "none",
            not w["third_party"],
        ),
    ]
    return rows


def _sqlite_rows(lite: dict[str, Any]) -> list[Row]:
    t = lite["throughput"]
    locked = lite["database_is_locked"]
    return [
        (
            f"Booking, SQLite, {t['concurrency']} clients",
            "≥ 150/s",
            f"{t['booking_per_s']:.0f}/s ({t['ratio']:.0%} of its ceiling "
            f"{t['ceiling_per_s']:.0f}/s)",
            t["booking_per_s"] >= 150,
        ),
        ("SQLite “database is locked”", "0", str(locked), locked == 0),
    ]


def _growth_rows(growth: dict[str, Any]) -> list[Row]:
    """Both figures of each pair measured side by side (two servers taking turns)."""
    t = growth["throughput"]
    rows: list[Row] = [
        (
            "Growth: booking with 10 M vs 10 k historical reservations",
            "within 20 %",
            f"{t['growth_per_s']:.0f}/s vs {t['base_per_s']:.0f}/s "
            f"(median ratio of the pairs {t['ratio']:.2f})",
            abs(t["ratio"] - 1) <= 0.2,
        )
    ]
    for key, label in (("api_200", "availability (API)"), ("page_area", "reservation page")):
        x = growth["reads"][key]
        rows.append(
            (
                f"Growth: {label} with 10 M vs 10 k",
                "within 20 %",
                f"{x['growth_ms']:.1f} ms vs {x['base_ms']:.1f} ms (ratio {x['ratio']:.2f})",
                x["ratio"] <= 1.2,
            )
        )
    return rows


def _scaleout_rows(scale: dict[str, Any]) -> list[Row]:
    x = scale["rush"]
    double = scale["check"]["double_bookings"]
    once = (
        scale["smtp_messages"] == scale["booked"] == scale["smtp_recipients"]
        and not scale["smtp_sent_twice"]
        and not scale["smtp_missing"]
    )
    return [
        (
            "Scale-out rush on two servers: successes / “taken” / 5xx",
            "500 / 1,500 / 0",
            f"{x['successes']}/{x['taken']}/{x['server_errors']} "
            f"(successes per server: {scale['per_server']})",
            (x["successes"], x["taken"], x["server_errors"]) == (500, 1500, 0),
        ),
        ("Scale-out double bookings", "0", str(double), double == 0),
        (
            "Scale-out: each e-mail received once by the SMTP server",
            "500 × 1",
            f"{scale['smtp_messages']} messages to {scale['smtp_recipients']} addresses for "
            f"{scale['booked']} bookings, {scale['smtp_sent_twice']} twice, "
            f"{scale['smtp_missing']} missing",
            once,
        ),
    ]


def _targets(r: dict[str, Any]) -> list[Row]:
    """(what, target, measured, met) for every point of the issue that this run measured."""
    rows: list[Row] = []
    if r.get("postgresql"):
        rows += _postgresql_rows(r["postgresql"])
    if r.get("sqlite"):
        rows += _sqlite_rows(r["sqlite"])
    if r.get("growth") and "base_per_s" in r["growth"]["throughput"]:
        rows += _growth_rows(r["growth"])
    if r.get("scaleout"):
        rows += _scaleout_rows(r["scaleout"])
    return rows


METHOD = """## How it is measured

- Every server is `strapontin serve` (gunicorn, sync workers, `cores + 1` of them, see
  docs/deployment.md: with gunicorn's usual `2 × cores + 1` on this machine, the ceiling is
  faster and the bookings slower) with the production settings (`DEBUG` off) plus
  `bench/settings.py`: a `Server-Timing` header (time spent in Django, middleware included)
  and `/bench/ceiling`, a view doing one INSERT through the ORM, behind the same middleware.
  Neither exists in production's URLs.
- PostgreSQL phases use Redis for cache, sessions and rate limits; the SQLite phase uses
  neither (the embedded configuration: rate-limit counters in the database).
- The load generator (`bench/load.py`, asyncio, one connection per request as gunicorn's
  sync workers close them) runs on the same machine. Each simulated student books with an
  address of their own, verified, signed in from an app (its patron token: the address is
  proven, so the booking is confirmed at once), and a `X-Forwarded-For` of their own (one
  trusted proxy).
- Throughput: closed loop, the ceiling then the bookings, three times in alternation; each
  booking takes a (place, hour) nobody else takes, through `POST /api/v1/reservations`: every
  rule checked, the e-mail queued in the outbox (a worker writes it, with its link and
  calendar file, when it sends it), the audit entry, the reservation's API token (no worker
  runs, so the outbox only grows). The ratio is that of neighbouring runs.
- Rush: 2,000 requests opened at once, four students for each of 500 places, one hour.
- Reads: one request at a time, 40 after 5 warm-ups, the median of `Server-Timing`;
  tomorrow in `bench-big` (1,000 places in 5 areas of 200, 5,000 reservations that day).
- Growth: the same data plus 10 million historical reservations over about three years,
  generated inside PostgreSQL (`strapontin bench_data --history N`, bench settings).
- Scale-out: two servers (3 workers each), two `strapontin worker`, one PostgreSQL and one
  Redis; the rush alternates between the servers; an aiosmtpd server on loopback counts
  each message by recipient (every winner is a distinct address).
"""


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        "# Benchmark results",
        "",
        f"Written by `{r['command']}` on {r['started']} (UTC), in {r['seconds']} s. Each figure is "
        f"the median of {r['runs']} runs; ratios compare runs made one after the other. The raw "
        "figures of every run are in `var/bench/results.json` after a run.",
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory_mib'] / 1024:.0f} GiB RAM, Linux "
        f"{m['kernel']}; Python {m['python']}, Django {m['django']}, gunicorn {m['gunicorn']} "
        f"(`strapontin serve`: sync workers), psycopg {m['psycopg']}, PostgreSQL "
        f"{m['postgresql']}, SQLite {m['sqlite']}. Load average before: "
        f"{', '.join(f'{x:.2f}' for x in r['load_before'])}; after: "
        f"{', '.join(f'{x:.2f}' for x in r.get('load_after', ()))} (the machine is shared: "
        "absolute figures are noisy, ratios less so).",
        "",
        "| Point of issue 7 | Target | Measured | |",
        "|---|---|---|---|",
    ]
    out += [f"| {a} | {b} | {c} | {_yes(d)} |" for a, b, c, d in _targets(r)]
    out += ["", METHOD, "## Details", ""]
    for phase in ("postgresql", "sqlite"):
        data = r.get(phase)
        if not data:
            continue
        t = data["throughput"]
        out += [
            f"### {phase}: throughput ({t['concurrency']} clients, {t['requests']} requests a run)",
            "",
            "| Run | Ceiling /s | Booking /s | Ratio | Booking p50 | Booking p99 | Statuses |",
            "|---|---|---|---|---|---|---|",
        ]
        for i, run in enumerate(t["runs"], 1):
            c, b = run["ceiling"], run["booking"]
            out.append(
                f"| {i} | {c['per_second']:.0f} | {b['per_second']:.0f} | "
                f"{b['per_second'] / c['per_second']:.0%} | {b['p50_ms']:.0f} ms | "
                f"{b['p99_ms']:.0f} ms | {b['statuses']} |"
            )
        out += ["", f"Server log: {data.get('server_log_errors')}; check: {data.get('check')}", ""]
        if "reads" in data:
            out += [
                "| Read | Server time (median) | Client time | Runs (server ms) |",
                "|---|---|---|---|",
            ]
            for key, path in data["reads"]["paths"].items():
                x = data["reads"][key]
                out.append(
                    f"| `{path}` | {x['server_ms']:.1f} ms | {x['client_ms']:.1f} ms | "
                    f"{', '.join(f'{y["server_ms"]:.1f}' for y in x['runs'])} |"
                )
            out.append("")
        if "generation_s" in data:
            out += [
                f"History generated in {data['generation_s']} s; database "
                f"{data['database_bytes'] / 2**30:.1f} GiB; {data['data']}.",
                "",
            ]
    growth = r.get("growth")
    if growth and "base_per_s" in growth["throughput"]:
        out += [
            "### growth: 10 M vs 10 k historical reservations, two servers taking turns",
            "",
            f"History generated (or found) in {growth['generation_s']} s; database "
            f"{growth['database_bytes'] / 2**30:.1f} GiB; {growth['data']}.",
            "",
            "| Run | Booking /s, 10 k | Booking /s, 10 M | Ratio |",
            "|---|---|---|---|",
        ]
        for i, pair in enumerate(growth["throughput"]["runs"], 1):
            out.append(
                f"| {i} | {pair['base']['per_second']:.0f} | {pair['growth']['per_second']:.0f} "
                f"| {pair['ratio']:.2f} |"
            )
        out += ["", "| Read | 10 k (server ms) | 10 M (server ms) | Ratio |", "|---|---|---|---|"]
        for key, path in growth["reads"]["paths"].items():
            x = growth["reads"][key]
            out.append(
                f"| `{path}` | {x['base_ms']:.1f} | {x['growth_ms']:.1f} | {x['ratio']:.2f} |"
            )
        out += ["", f"Server log: {growth['server_log_errors']}; check: {growth['check']}", ""]
    pg = r.get("postgresql")
    if pg:
        out += ["### Rush (2,000 patrons, 500 places, one hour, all at once)", ""]
        out += [
            "| Run | Successes | Taken | Other | 5xx | No answer | Last success | All answered |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for i, x in enumerate(pg["rush"], 1):
            out.append(
                f"| {i} | {x['successes']} | {x['taken']} | {x['other'] or '-'} | "
                f"{x['server_errors']} | "
                f"{x['no_answer']} | {x['first_to_last_success_s']:.2f} s | {x['seconds']:.2f} s |"
            )
        w = pg["page_weight"]
        out += [
            "",
            "### Page weight",
            "",
            f"HTML {w['html_bytes']} bytes, {w['html_gzip_bytes']} gzipped. CSP: `{w['csp']}`.",
            "",
        ]
        out += ["| Asset | Bytes served | Encoding | Cache-Control |", "|---|---|---|---|"]
        out += [
            f"| `{a['url']}` | {a['bytes']} | {a['encoding']} | {a['cache_control']} |"
            for a in w["assets"]
        ]
        out += [
            "",
            f"RSS of each of the {pg['workers']} web workers after the bench: "
            + ", ".join(f"{x:.0f}" for x in pg["rss_mib"])
            + " MiB.",
            "",
        ]
    scale = r.get("scaleout")
    if scale:
        out += ["### Scale-out", "", "```", *(f"{k}: {v}" for k, v in scale.items()), "```", ""]
    return "\n".join(out) + "\n"
