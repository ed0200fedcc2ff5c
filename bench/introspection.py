"""Introspection benchmark (issue 6): `POST /api/v1/tokens/introspect` against `GET /healthz` on
the same gunicorn server (PostgreSQL, DEBUG off), in the same run, at 32 concurrent connections.

Each introspection authenticates the storage client (its OAuth token, one query), verifies the
ES256 signature against the cached public key, reads the token's and its grant's state fresh
(one query) and commits its ledger event before answering. Target: introspection throughput at
least 0.5 x that of /healthz; p99 latency printed.

What is cached, and why it cannot delay a revocation: only public keys by kid (immutable under
a kid; the key's dropped/not-dropped state is part of the fresh state query) and the compiled
SQL of the state query. Revocation, grant, account, dataset, ethics and agreement state are read
from PostgreSQL on every call, so a revocation committed before the call is always seen.

    .venv/bin/python bench/introspection.py                  # wrk if installed, else Python
    .venv/bin/python bench/introspection.py --seconds 10 --runs 3 --workers 5

Loopback only; every load run is bounded (a duration for wrk, a request count for the Python
generator); the server and the ledger sequencer are stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

from _harness import (
    ROOT,
    db_variant,
    drop_database,
    free_port,
    git_revision,
    production_env,
    setup_django,
    table,
    use_database,
)
from _tokens_world import build, set_kek

DB = "tessera_bench_introspection"
VENV = Path(sys.executable).parent  # the venv running this script (a worktree may have none)


def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz")


def request(port: int, method: str, path: str, body: str = "", headers=None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body or None, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read().decode()


# --- load generators ----------------------------------------------------------------------------
def run_wrk(url: str, *, seconds: int, connections: int, threads: int, lua: str | None) -> dict:
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if lua:
        cmd += ["-s", lua]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    total = int(re.search(r"(\d+) requests in", out)[1])
    p99 = _wrk_ms(re.search(r"99%\s+([\d.]+\w+)", out)[1])
    p50 = _wrk_ms(re.search(r"50%\s+([\d.]+\w+)", out)[1])
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rate": rate,
        "requests": total,
        "p50": p50,
        "p99": p99,
        "non2xx": int(bad[1]) if bad else 0,
        "socket_errors": errors[1] if errors else "",
    }


def _wrk_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_python(port: int, *, method: str, path: str, body: str, headers: dict,
               requests: int, connections: int) -> dict:  # fmt: skip
    """Threads + http.client, `requests` in all: the fallback when wrk is not installed."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    per_thread = requests // connections

    def worker() -> None:
        nonlocal failures
        mine, bad = [], 0
        for _ in range(per_thread):
            start = time.perf_counter()
            status, _ = request(port, method, path, body, headers)
            mine.append(time.perf_counter() - start)
            bad += status != 200
        with lock:
            latencies.extend(mine)
            failures += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": len(latencies) / seconds,
        "requests": len(latencies),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "non2xx": failures,
        "socket_errors": "",
    }


# --- the run ------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--requests", type=int, default=6400, help="per Python-generator run")
    parser.add_argument("--runs", type=int, default=2, help="alternating healthz/introspect runs")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    parser.add_argument(
        "--no-sequencer",
        action="store_true",
        help="diagnostic: leave events queued (committed, not chained) during the load",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="diagnostic: also load POST /bench-floor (bench/_floor_app.py): the fresh read and "
        "the durable ledger INSERT alone, as one statement, without any application code",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk

    os.environ["DEBUG"] = "false"
    url = use_database(DB)
    os.environ["AUDIT_SEQUENCING"] = "batched"  # the production default on PostgreSQL
    kek = set_kek()
    setup_django()
    from oauth2_provider.models import AccessToken, Application

    from audit import ledger
    from audit.choices import EventType
    from audit.models import AuditEvent, PendingEvent
    from tokens.issue import token_issue
    from tokens.oauth import client_scopes_set

    (grant, holder), = build(holders=1)  # fmt: skip
    issued = token_issue(grant=grant, actor=holder)
    app = Application.objects.create(
        name="bench storage",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secrets.token_urlsafe(16),
    )
    client_scopes_set(application=app, scopes=["introspection"], actor=None)
    bearer = secrets.token_urlsafe(32)
    from django.utils import timezone

    AccessToken.objects.create(
        application=app,
        token=bearer,
        expires=timezone.now() + timedelta(hours=2),
        scope="introspection",
    )
    from django.db import connections

    connections.close_all()

    port = free_port()
    env = production_env(url, kek)
    if args.floor:
        from tokens.oauth import bearer_checksum

        env.update(BENCH_JTI=issued.jti, BENCH_CLIENT_CHECKSUM=bearer_checksum(bearer))
    server = subprocess.Popen(
        [str(VENV / "gunicorn"),
         "bench._floor_app:application" if args.floor else "bench._plain_reads:application",
         "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "--backlog", "2048", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    sequencer = subprocess.Popen(
        [str(VENV / "python"), "manage.py", "audit_sequencer"]
        if not args.no_sequencer
        else ["sleep", "3600"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    lua = None
    try:
        wait_ready(port)
        body = urllib.parse.urlencode({"token": issued.token})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {bearer}",
        }
        status, text = request(port, "POST", "/api/v1/tokens/introspect", body, headers)
        assert status == 200 and json.loads(text)["active"] is True, (status, text)
        status, _ = request(
            port,
            "POST",
            "/api/v1/tokens/introspect",
            body,
            {"Content-Type": headers["Content-Type"]},
        )
        assert status == 401, status
        if use_wrk:
            fd, lua = tempfile.mkstemp(suffix=".lua")
            with os.fdopen(fd, "w") as handle:
                handle.write(
                    'wrk.method = "POST"\n'
                    f"wrk.body = {json.dumps(body)}\n"
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                    f'wrk.headers["Authorization"] = "Bearer {bearer}"\n'
                )

        paths = {
            "healthz": "/healthz",
            "introspect": "/api/v1/tokens/introspect",
            "floor": "/bench-floor",
        }
        kinds = ("healthz", "introspect", "floor") if args.floor else ("healthz", "introspect")

        def load(kind: str) -> dict:
            if use_wrk:
                path = paths[kind]
                return run_wrk(
                    f"http://127.0.0.1:{port}{path}",
                    seconds=args.seconds,
                    connections=args.connections,
                    threads=2,
                    lua=None if kind == "healthz" else lua,
                )
            if kind == "healthz":
                return run_python(port, method="GET", path="/healthz", body="", headers={},
                                  requests=args.requests, connections=args.connections)  # fmt: skip
            return run_python(port, method="POST", path=paths[kind], body=body,
                              headers=headers, requests=args.requests,
                              connections=args.connections)  # fmt: skip

        # Warm-up: every worker connects to the database and loads the public key.
        for kind in kinds:
            if use_wrk:
                run_wrk(
                    f"http://127.0.0.1:{port}{paths[kind]}",
                    seconds=2, connections=args.connections, threads=2,
                    lua=None if kind == "healthz" else lua,
                )  # fmt: skip
            else:
                run_python(port, method="GET" if kind == "healthz" else "POST",
                           path=paths[kind],
                           body="" if kind == "healthz" else body,
                           headers={} if kind == "healthz" else headers,
                           requests=args.connections * 10, connections=args.connections)  # fmt: skip
        results: dict[str, list[dict]] = {kind: [] for kind in kinds}
        for _ in range(args.runs):
            for kind in kinds:
                results[kind].append(load(kind))
    finally:
        for process in (server, sequencer):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in (server, sequencer):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if lua:
            Path(lua).unlink(missing_ok=True)

    # Every answered introspection must be in the ledger (warm-up and sanity calls included).
    ledger.flush()
    introspections = AuditEvent.objects.filter(event_type=EventType.TOKEN_INTROSPECTED)
    recorded = recorded_active = 0
    for payload in introspections.values_list("payload", flat=True).iterator():
        recorded += 1
        recorded_active += bool(payload.get("active"))
    answered = sum(r["requests"] for r in results["introspect"])
    rows = []
    labels = {
        "healthz": "GET /healthz",
        "introspect": "POST /api/v1/tokens/introspect",
        "floor": "POST /bench-floor (diagnostic)",
    }
    for kind in results:
        for n, r in enumerate(results[kind], start=1):
            rows.append([
                f"{labels[kind]} #{n}",
                f"{r['requests']:,}", f"{r['rate']:,.0f}", f"{r['p50']:.1f}", f"{r['p99']:.1f}",
                r["non2xx"],
            ])  # fmt: skip
    health = statistics.mean(r["rate"] for r in results["healthz"])
    intro = statistics.mean(r["rate"] for r in results["introspect"])
    p99 = max(r["p99"] for r in results["introspect"])
    generator = "wrk" if use_wrk else "Python threads + http.client"
    print(
        f"introspection vs healthz: gunicorn {args.workers} sync workers, PostgreSQL, DEBUG off, "
        f"ledger batched ({'sequencer off: diagnostic' if args.no_sequencer else '+ audit_sequencer'}), "
        f"{args.connections} connections, {generator}, "
        f"{os.cpu_count()} CPUs, rev {git_revision()}"
    )
    print(f"database options: {db_variant()}")
    print(table(rows, ["run", "requests", "req/s", "p50 ms", "p99 ms", "non-2xx"]))
    print(f"healthz mean: {health:,.0f} req/s; introspection mean: {intro:,.0f} req/s")
    print(f"ratio introspection / healthz: {intro / health:.2f} (target >= 0.5)")
    print(f"introspection p99 (worst run): {p99:.1f} ms")
    if args.floor:
        floor = statistics.mean(r["rate"] for r in results["floor"])
        print(
            f"floor (read + durable INSERT in one statement, no application code) / healthz: "
            f"{floor / health:.2f}; "
            f"introspection / floor: {intro / floor:.2f}"
        )
    print(
        f"ledger: {recorded:,} introspection events ({recorded_active:,} active) for "
        f"{answered:,} answers counted by the load generator (+ warm-up and checks); "
        f"pending after flush: {PendingEvent.objects.count()}"
    )
    if not args.keep:
        drop_database(DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
