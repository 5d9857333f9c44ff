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


def _targets(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(what, target, measured, met) for every point of the issue that this run measured."""
    rows: list[tuple[str, str, str, bool]] = []
    pg = r.get("postgresql")
    if pg:
        t = pg["throughput"]
        rows += [
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
            x["successes"] == 500
            and x["taken"] == 1500
            and not x["server_errors"]
            and not x["no_answer"]
            and not x["other"]
            for x in rushes
        )
        rows += [
            (
                "Rush: 500 successes, 1,500 “taken”, no 5xx",
                "every run",
                ", ".join(f"{x['successes']}/{x['taken']}/{x['server_errors']}" for x in rushes),
                clean,
            ),
            (
                "Rush: double bookings",
                "0",
                str(pg["check"]["double_bookings"]),
                pg["check"]["double_bookings"] == 0,
            ),
            (
                "Rush: last success after the first request",
                "≤ 10 s",
                f"{median([x['first_to_last_success_s'] for x in rushes]):.2f} s (worst {max(x['first_to_last_success_s'] for x in rushes):.2f} s)",
                all(x["first_to_last_success_s"] <= 10 for x in rushes),
            ),
        ]
        reads = pg["reads"]
        rows += [
            (
                "Availability, 1,000 places, 5,000 reservations (API, 200 a page)",
                "≤ 25 ms",
                f"{reads['api_200']['server_ms']:.1f} ms (40 a page: {reads['api_40']['server_ms']:.1f} ms)",
                reads["api_200"]["server_ms"] <= 25,
            ),
            (
                "Reservation page, one area of 200 places",
                "≤ 50 ms",
                f"{reads['page_area']['server_ms']:.1f} ms",
                reads["page_area"]["server_ms"] <= 50,
            ),
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
        total = w["html_gzip_bytes"] + sum(a["bytes"] for a in w["assets"])
        hashed = all(a["hashed"] for a in w["assets"])
        long_cache = all(
            int((MAX_AGE.search(a["cache_control"]) or [0, 0])[1]) >= 365 * 86400
            for a in w["assets"]
        )
        rows += [
            (
                "Page weight of the 200-place page, compressed",
                "< 100 KB",
                f"{total / 1000:.1f} KB (HTML {w['html_gzip_bytes'] / 1000:.1f} KB gzip)",
                total < 100_000,
            ),
            (
                "Static assets: hashed names, cached ≥ 1 year",
                "all",
                f"{sum(a['hashed'] for a in w['assets'])}/{len(w['assets'])} hashed",
                hashed and long_cache,
            ),
            (
                "Third-party hosts named by the page",
                "none",
                ", ".join(w["third_party"]) or "none",
                not w["third_party"],
            ),
        ]
    lite = r.get("sqlite")
    if lite:
        t = lite["throughput"]
        rows += [
            (
                f"Booking, SQLite, {t['concurrency']} clients",
                "≥ 150/s",
                f"{t['booking_per_s']:.0f}/s ({t['ratio']:.0%} of its ceiling {t['ceiling_per_s']:.0f}/s)",
                t["booking_per_s"] >= 150,
            ),
            (
                "SQLite “database is locked”",
                "0",
                str(lite["database_is_locked"]),
                lite["database_is_locked"] == 0,
            ),
        ]
    growth = r.get("growth")
    if growth and pg:
        g, b = growth["throughput"], pg["throughput"]
        rows.append(
            (
                "Growth: booking with 10 M vs 10 k",
                "within 20 %",
                f"{g['booking_per_s']:.0f}/s vs {b['booking_per_s']:.0f}/s ({g['booking_per_s'] / b['booking_per_s'] - 1:+.0%}); ratio to ceiling {g['ratio']:.0%} vs {b['ratio']:.0%}",
                abs(g["ratio"] / b["ratio"] - 1) <= 0.2,
            )
        )
        for key, label in (("api_200", "availability (API)"), ("page_area", "reservation page")):
            gm, bm = growth["reads"][key]["server_ms"], pg["reads"][key]["server_ms"]
            rows.append(
                (
                    f"Growth: {label} with 10 M vs 10 k",
                    "within 20 %",
                    f"{gm:.1f} ms vs {bm:.1f} ms ({gm / bm - 1:+.0%})",
                    gm <= bm * 1.2,
                )
            )
    scale = r.get("scaleout")
    if scale:
        x = scale["rush"]
        rows += [
            (
                "Scale-out rush on two servers",
                "500 / 1,500 / 0 5xx",
                f"{x['successes']}/{x['taken']}/{x['server_errors']} (per server {scale['per_server']})",
                x["successes"] == 500 and x["taken"] == 1500 and not x["server_errors"],
            ),
            (
                "Scale-out double bookings",
                "0",
                str(scale["check"]["double_bookings"]),
                scale["check"]["double_bookings"] == 0,
            ),
            (
                "Scale-out: each e-mail received once by SMTP",
                "500 × 1",
                f"{scale['smtp_messages']} messages to {scale['smtp_recipients']} addresses, {scale['smtp_sent_twice']} twice, {scale['smtp_missing']} missing",
                scale["smtp_messages"] == scale["winners"] == scale["smtp_recipients"]
                and not scale["smtp_sent_twice"],
            ),
        ]
    return rows


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
    out += ["", "## Details", ""]
    for phase in ("postgresql", "sqlite", "growth"):
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
    pg = r.get("postgresql")
    if pg:
        out += ["### Rush (2,000 patrons, 500 places, one hour, all at once)", ""]
        out += [
            "| Run | Successes | Taken | Other | 5xx | No answer | Last success | All answered |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for i, x in enumerate(pg["rush"], 1):
            out.append(
                f"| {i} | {x['successes']} | {x['taken']} | {x['other'] or '-'} | {x['server_errors']} | "
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
            f"RSS of each of the {pg['workers']} web workers after the bench: {', '.join(f'{x:.0f}' for x in pg['rss_mib'])} MiB.",
            "",
        ]
    scale = r.get("scaleout")
    if scale:
        out += ["### Scale-out", "", "```", *(f"{k}: {v}" for k, v in scale.items()), "```", ""]
    return "\n".join(out) + "\n"
