"""``./run bench`` (or ``.venv/bin/python -m bench``): every scenario of issue 7 against live
`strapontin serve` processes on loopback, written to bench/RESULTS.md.

Phases, each with its own database, each server stopped at its end whatever happens:
1. PostgreSQL + Redis (db ``bench``, 10,000 historical reservations): bare-Django ceiling and
   booking throughput, in alternation; the rush; availability (JSON API) and the reservation
   page; page weight and static files; RSS per web worker.
2. SQLite (a file under var/bench/): ceiling and booking throughput with 32 clients.
3. Growth (db ``bench_growth``, 10 million historical reservations, generated in PostgreSQL
   and reused by later runs unless ``--drop-growth``): throughput and availability again.
4. Scale-out (db ``bench_scale``): two web servers and two workers on one PostgreSQL and
   Redis, the rush sent to both, e-mails to a local SMTP server that counts them.
"""

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report, scenarios
from bench.load import median
from bench.scenarios import HOST, Plan
from bench.servers import (
    ROOT,
    Server,
    Site,
    SmtpSink,
    Worker,
    drop_postgresql_database,
    postgresql_database_exists,
    postgresql_database_size,
    recreate_postgresql_database,
)

GROWTH_ROWS = 10_000_000
BASE_ROWS = 10_000
#: What 10 million reservations take in PostgreSQL, with their indexes, and some margin.
GROWTH_DISK_BYTES = 12 * 2**30


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./run bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario (median)")
    parser.add_argument("--requests", type=int, default=3000, help="per throughput run, at most")
    parser.add_argument("--seconds", type=float, default=30, help="per throughput run, at most")
    parser.add_argument("--concurrency", type=int, default=16, help="PostgreSQL clients")
    parser.add_argument("--sqlite-concurrency", type=int, default=32)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-prefix", default="bench", help="databases <prefix>, _growth, _scale")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="a database of ours")
    parser.add_argument("--port", type=int, default=8710, help="first of four loopback ports")
    parser.add_argument("--growth-rows", type=int, default=GROWTH_ROWS)
    parser.add_argument("--drop-growth", action="store_true", help="drop it when done")
    parser.add_argument(
        "--only",
        default="postgresql,sqlite,growth,scaleout",
        help="comma-separated phases to run",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--report-only",
        type=Path,
        metavar="RESULTS_JSON",
        help="only write the output again from the raw figures of an earlier run",
    )
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()  # our own database number only, never FLUSHALL


def throughput_runs(
    port: int, plan: Plan, args: argparse.Namespace, concurrency: int
) -> dict[str, Any]:
    """Ceiling and booking in alternation, so that each ratio compares neighbours in time."""
    scenarios.warm(port, plan, concurrency)
    runs = []
    for number in range(args.runs):
        scenarios.settle([port])
        ceiling = scenarios.throughput(
            port,
            scenarios.ceiling_requests(args.requests, 100_000 * number),
            concurrency,
            201,
            args.seconds,
        )
        booking = scenarios.throughput(
            port, plan.bookings(args.requests), concurrency, 201, args.seconds
        )
        log(
            f"  run {number + 1}: ceiling {ceiling.per_second:.0f}/s, booking "
            f"{booking.per_second:.0f}/s (p99 {booking.p99_ms:.0f} ms) {booking.statuses}"
        )
        runs.append({"ceiling": asdict(ceiling), "booking": asdict(booking)})
    return {
        "concurrency": concurrency,
        "requests": args.requests,
        "runs": runs,
        "ceiling_per_s": median([r["ceiling"]["per_second"] for r in runs]),
        "booking_per_s": median([r["booking"]["per_second"] for r in runs]),
        "booking_p99_ms": median([r["booking"]["p99_ms"] for r in runs]),
        "ratio": median([r["booking"]["per_second"] / r["ceiling"]["per_second"] for r in runs]),
    }


def read_runs(port: int, data: dict[str, Any], runs: int) -> dict[str, Any]:
    day = data["day"]
    area = data[scenarios.BIG]["areas"][0]
    paths = {
        "api_40": f"/api/v1/establishments/{scenarios.BIG}/availability?date={day}",
        "api_200": f"/api/v1/establishments/{scenarios.BIG}/availability?date={day}&per_page=200",
        "page_area": f"/{scenarios.BIG}/reservation/?date={day}&area={area}",
    }
    out: dict[str, Any] = {"paths": paths}
    for key, path in paths.items():
        timings = [scenarios.server_time(port, path) for _ in range(runs)]
        out[key] = {
            "runs": [asdict(t) for t in timings],
            "server_ms": median([t.server_ms for t in timings]),
            "client_ms": median([t.client_ms for t in timings]),
        }
        log(f"  {key}: {out[key]['server_ms']:.1f} ms server (median of {runs} runs)")
    return out


def check(site: Site) -> dict[str, int]:
    return json.loads(site.manage("bench_data", "--check"))


def phase_postgresql(args: argparse.Namespace, var: Path) -> dict[str, Any]:
    name = args.db_prefix
    log(f"PostgreSQL: database {name}, Redis {args.redis}")
    site = Site("postgresql", recreate_postgresql_database(args.postgres, name), var / "pg")
    site.redis_url = args.redis
    flush_redis(args.redis)
    site.prepare()
    data = json.loads(site.manage("bench_data", "--history", str(BASE_ROWS)))
    plan = Plan(data)
    out: dict[str, Any] = {"data": {k: data[k] for k in ("reservations", "history", "day")}}
    with Server(site, args.port) as server:
        out["workers"] = len(server.worker_pids())
        out["throughput"] = throughput_runs(server.port, plan, args, args.concurrency)
        rushes = []
        for number in range(args.runs):
            scenarios.settle([server.port])
            result = scenarios.rush([(HOST, server.port)], plan.rush(number))
            log(f"  rush {number + 1}: {result}")
            rushes.append(asdict(result))
        out["rush"] = rushes
        scenarios.settle([server.port])
        out["reads"] = read_runs(server.port, data, args.runs)
        out["page_weight"] = asdict(
            scenarios.page_weight(server.port, out["reads"]["paths"]["page_area"])
        )
        out["rss_mib"] = server.worker_rss_mib()
        log(f"  RSS per worker: {[round(x) for x in out['rss_mib']]} MiB")
        out["server_log_errors"] = report.log_errors(server.log_text())
    out["check"] = check(site)
    return out


def phase_sqlite(args: argparse.Namespace, var: Path) -> dict[str, Any]:
    folder = var / "sqlite"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    site = Site("sqlite", f"sqlite:///{folder / 'bench.sqlite3'}", folder)
    log(f"SQLite: {folder / 'bench.sqlite3'} (no Redis: database rate-limit counters)")
    site.prepare()
    data = json.loads(site.manage("bench_data", "--history", str(BASE_ROWS)))
    out: dict[str, Any] = {}
    with Server(site, args.port + 1) as server:
        out["workers"] = len(server.worker_pids())
        out["throughput"] = throughput_runs(server.port, Plan(data), args, args.sqlite_concurrency)
        text = server.log_text()
    out["database_is_locked"] = text.count("database is locked")
    out["server_log_errors"] = report.log_errors(text)
    out["check"] = check(site)
    return out


def phase_growth(args: argparse.Namespace, var: Path) -> dict[str, Any]:
    """10 million vs 10 thousand historical reservations, measured side by side: both servers
    run at once and take turns, so that both figures see the same load on a shared machine."""
    name = f"{args.db_prefix}_growth"
    site = Site("growth", f"{args.postgres}/{name}", var / "growth", redis_url=args.redis)
    if not postgresql_database_exists(args.postgres, args.db_prefix):
        raise RuntimeError("the growth phase compares with the postgresql phase's database")
    base_site = Site("postgresql", f"{args.postgres}/{args.db_prefix}", var / "pg")
    base_site.redis_url = args.redis
    out: dict[str, Any] = {}
    if not postgresql_database_exists(args.postgres, name):
        free = shutil.disk_usage("/").free
        if free < GROWTH_DISK_BYTES:
            raise RuntimeError(f"only {free / 2**30:.0f} GiB free: growth needs 12 GiB")
        recreate_postgresql_database(args.postgres, name)
    site.prepare()
    log(f"Growth: database {name}, {args.growth_rows:,} historical reservations")
    started = time.monotonic()
    data = json.loads(
        site.manage("bench_data", "--history", str(args.growth_rows), "--reset", timeout=7200)
    )
    out["generation_s"] = round(time.monotonic() - started, 1)
    out["database_bytes"] = postgresql_database_size(args.postgres, name)
    out["data"] = {k: data[k] for k in ("reservations", "history", "day")}
    log(f"  ready in {out['generation_s']} s, {out['database_bytes'] / 2**30:.1f} GiB")
    base_data = json.loads(base_site.manage("bench_data", "--history", str(BASE_ROWS), "--reset"))
    flush_redis(args.redis)
    plan, base_plan = Plan(data), Plan(base_data)
    with Server(base_site, args.port) as base, Server(site, args.port + 1) as grown:
        scenarios.warm(base.port, base_plan, args.concurrency)
        scenarios.warm(grown.port, plan, args.concurrency)
        runs = []
        for number in range(args.runs):
            pair = {}
            turns = [("base", base, base_plan), ("growth", grown, plan)]
            for key, server, its_plan in turns if number % 2 == 0 else reversed(turns):
                scenarios.settle([base.port, grown.port])
                pair[key] = asdict(
                    scenarios.throughput(
                        server.port,
                        its_plan.bookings(args.requests),
                        args.concurrency,
                        201,
                        args.seconds,
                    )
                )
            pair["ratio"] = pair["growth"]["per_second"] / pair["base"]["per_second"]
            log(
                f"  run {number + 1}: booking {pair['base']['per_second']:.0f}/s with "
                f"{BASE_ROWS:,}, {pair['growth']['per_second']:.0f}/s with {args.growth_rows:,}"
            )
            runs.append(pair)
        out["throughput"] = {
            "concurrency": args.concurrency,
            "runs": runs,
            "base_per_s": median([r["base"]["per_second"] for r in runs]),
            "growth_per_s": median([r["growth"]["per_second"] for r in runs]),
            "ratio": median([r["ratio"] for r in runs]),
        }
        scenarios.settle([base.port, grown.port])
        out["reads"] = side_by_side_reads(base.port, grown.port, data, args.runs)
        out["rss_mib"] = grown.worker_rss_mib()
        out["server_log_errors"] = report.log_errors(grown.log_text())
    out["check"] = check(site)
    if args.drop_growth:
        drop_postgresql_database(args.postgres, name)
        out["dropped"] = True
    return out


def side_by_side_reads(
    base_port: int, growth_port: int, data: dict[str, Any], runs: int
) -> dict[str, Any]:
    day, area = data["day"], data[scenarios.BIG]["areas"][0]
    paths = {
        "api_200": f"/api/v1/establishments/{scenarios.BIG}/availability?date={day}&per_page=200",
        "page_area": f"/{scenarios.BIG}/reservation/?date={day}&area={area}",
    }
    out: dict[str, Any] = {"paths": paths}
    for key, path in paths.items():
        pairs = [
            scenarios.alternating_server_time(base_port, growth_port, path) for _ in range(runs)
        ]
        out[key] = {
            "runs": pairs,
            "base_ms": median([p["base_ms"] for p in pairs]),
            "growth_ms": median([p["growth_ms"] for p in pairs]),
            "ratio": median([p["growth_ms"] / p["base_ms"] for p in pairs]),
        }
        log(
            f"  {key}: {out[key]['base_ms']:.1f} ms with {BASE_ROWS:,}, "
            f"{out[key]['growth_ms']:.1f} ms with 10 M (median ratio {out[key]['ratio']:.2f})"
        )
    return out


def phase_scaleout(args: argparse.Namespace, var: Path) -> dict[str, Any]:
    name = f"{args.db_prefix}_scale"
    sink = SmtpSink(port=args.port + 3)
    site = Site(
        "scaleout",
        recreate_postgresql_database(args.postgres, name),
        var / "scale",
        redis_url=args.redis,
        email_url=f"smtp://127.0.0.1:{sink.port}",
    )
    log(f"Scale-out: two servers, two workers, database {name}, SMTP sink :{sink.port}")
    flush_redis(args.redis)
    site.prepare()
    data = json.loads(site.manage("bench_data", "--history", "0"))
    plan = Plan(data)
    requests = plan.rush(0)
    out: dict[str, Any] = {}
    with (
        sink.running(),
        Server(site, args.port + 1, workers=3) as one,
        Server(site, args.port + 2, workers=3) as two,
        Worker(site, 1) as w1,
        Worker(site, 2) as w2,
    ):
        targets = [(HOST, one.port), (HOST, two.port)]
        scenarios.settle([one.port, two.port])
        responses = scenarios.run(scenarios.burst(targets, requests, deadline=180))
        result = scenarios.RushResult.of(responses)
        log(f"  rush on two servers: {result}")
        winners = {
            json.loads(req.body)["email"]
            for req, resp in zip(requests, responses, strict=True)
            if resp.status == 201
        }
        booked = check(site)["booked"]  # the truth: some answers may have come too late
        delivered = scenarios.wait_for(lambda: sink.messages >= booked, 240)
        time.sleep(10)  # a second sending of any message would arrive by now
        out.update(
            rush=asdict(result),
            winners=len(winners),
            booked=booked,
            all_delivered=delivered,
            smtp_messages=sink.messages,
            smtp_recipients=len(sink.received),
            smtp_sent_twice=sum(1 for n in sink.received.values() if n > 1),
            # Winners the e-mails went to but whose answer the client did not get in time.
            smtp_beyond_answers=len(set(sink.received) - winners),
            smtp_missing=len(winners - set(sink.received)),
            per_server=[
                sum(1 for i, r in enumerate(responses) if i % 2 == k and r.status == 201)
                for k in (0, 1)
            ],
            server_log_errors=report.log_errors(one.log_text() + two.log_text()),
            worker_log_errors=report.log_errors(w1.log_text() + w2.log_text()),
        )
    out["check"] = check(site)
    log(f"  e-mails: {out['smtp_messages']} to {out['smtp_recipients']} addresses")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.report_only:
        args.output.write_text(report.markdown(json.loads(args.report_only.read_text())))
        return 0
    phases = set(args.only.split(","))
    var = ROOT / "var" / "bench"
    var.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["./run bench", *sys.argv[1:]]),
        "machine": report.machine(args.postgres),
        "load_before": os.getloadavg(),
        "runs": args.runs,
    }
    started = time.monotonic()
    try:
        if "postgresql" in phases:
            results["postgresql"] = phase_postgresql(args, var)
        if "sqlite" in phases:
            results["sqlite"] = phase_sqlite(args, var)
        if "growth" in phases:
            results["growth"] = phase_growth(args, var)
        if "scaleout" in phases:
            results["scaleout"] = phase_scaleout(args, var)
    finally:
        results["load_after"] = os.getloadavg()
        results["seconds"] = round(time.monotonic() - started)
        (var / "results.json").write_text(json.dumps(results, indent=1, default=str))
        args.output.write_text(report.markdown(results))
        log(f"Written {args.output} (raw figures: {var / 'results.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
