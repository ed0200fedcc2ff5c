"""Ledger append throughput on PostgreSQL: 8 concurrent writer processes.

    .venv/bin/python bench/audit_append.py [--events 40000] [--writers 8] [--per-txn 1 4]

Creates its own database (tessera_bench_audit), migrates it, and for each transaction shape
(events appended per writer transaction) measures, in the same run and on the same rows:

  plain    a plain unchained INSERT of the same rows into a table without hashes or lock
  inline   AUDIT_SEQUENCING=inline: each append chains under the global advisory lock
  batched  AUDIT_SEQUENCING=batched: writers queue, `manage.py audit_sequencer` chains;
           the clock stops when the last event is chained, not when the writers finish

then checks the ledger: seq is 0..N-1 with no gap, every prev_hash is the previous entry's hash
(no fork), and `audit_verify` passes. Prints events/s and the ratio to `plain`. Drops the
database at the end. Needs PostgreSQL at BENCH_PG (default postgres://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "tessera_bench_audit"

sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = f"{ADMIN}/{DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory
os.environ.setdefault("AUDIT_SEQUENCING", "batched")
if not (os.environ.get("AUDIT_SIGNING_KEY") or os.environ.get("AUDIT_SIGNING_KEY_FILE")):
    import base64

    os.environ["AUDIT_SIGNING_KEY"] = base64.b64encode(os.urandom(32)).decode()  # throwaway


def admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def setup_django():
    import django

    django.setup()


def row(writer: int, k: int) -> dict:
    return {
        "event_type": "governance.dataset_changed",
        "actor_id": uuid.uuid4().hex,
        "target_type": "governance.dataset",
        "target_id": f"TSR-DS-{writer:02d}{k:07d}",
        "payload": {"w": writer, "k": k, "changes": {"title": ["Old title", "New title"]}},
    }


def writer(mode: str, writer_id: int, transactions: int, per_txn: int, start) -> None:
    """One writer process. A transaction of one event is `ledger.append()` in `atomic()`; a
    transaction of several is `ledger.buffered()`, which writes them with one INSERT. `plain`
    runs the very same statements against a table without hashes, lock or sequencer."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from audit import ledger
    from audit.actors import Actor
    from audit.canonical import payload_text
    from core.db import server_cursor

    settings.AUDIT_SEQUENCING = "inline" if mode == "inline" else "batched"
    one = ledger._INSERT_ONE.replace(ledger._PENDING, "bench_plain") + " RETURNING id"
    many = ledger._INSERT_ARRAYS.replace(ledger._PENDING, "bench_plain")

    def plain_values(r: dict) -> tuple:
        return (
            timezone.now(),
            r["event_type"],
            r["actor_id"],
            "user",
            r["target_type"],
            r["target_id"],
            payload_text(r["payload"]),
            "",
            "",
        )

    connection.ensure_connection()
    start.wait()
    k = 0
    for _ in range(transactions):
        rows = [row(writer_id, k + i) for i in range(per_txn)]
        k += per_txn
        if mode == "plain":
            with transaction.atomic(), server_cursor() as cursor:
                if per_txn == 1:
                    cursor.execute(one, plain_values(rows[0]))
                    cursor.fetchone()
                else:
                    values = [plain_values(r) for r in rows]
                    cursor.execute(many, [list(c) for c in zip(*values, strict=True)])
            continue
        block = transaction.atomic() if per_txn == 1 else ledger.buffered()
        with block:
            for r in rows:
                ledger.append(
                    event_type=r["event_type"],
                    actor=Actor(id=r["actor_id"], kind="user"),
                    target_type=r["target_type"],
                    target_id=r["target_id"],
                    payload=r["payload"],
                )
    connection.close()


def plain_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_plain")
        return cursor.fetchone()[0]


def ledger_count() -> int:
    from audit.models import AuditEvent

    return AuditEvent.objects.count()


def run(mode: str, writers: int, events: int, per_txn: int) -> float:
    from django.db import connections

    from audit.models import AuditEvent, PendingEvent

    transactions = events // writers // per_txn
    total = transactions * per_txn * writers
    before = AuditEvent.objects.count() if mode != "plain" else plain_count()
    connections.close_all()
    ctx = mp.get_context("fork")
    start = ctx.Barrier(writers + 1)
    procs = [
        ctx.Process(target=writer, args=(mode, w, transactions, per_txn, start))
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    sequencer = None
    if mode == "batched":
        sequencer = subprocess.Popen(
            [sys.executable, "manage.py", "audit_sequencer", "--idle", "0.005"],
            cwd=ROOT,
            env={**os.environ, "AUDIT_SEQUENCING": "batched"},
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1.5)  # let it start before the clock does
    start.wait()
    began = time.perf_counter()
    for p in procs:
        p.join()
        assert p.exitcode == 0, f"writer failed ({mode})"
    if mode == "batched":
        while AuditEvent.objects.count() < before + total:
            time.sleep(0.002)
    elapsed = time.perf_counter() - began
    if sequencer is not None:
        sequencer.terminate()
        sequencer.wait(timeout=30)
    after = AuditEvent.objects.count() if mode != "plain" else plain_count()
    assert after - before == total, f"{mode}: {after - before} rows, expected {total}"
    if mode != "plain":
        assert not PendingEvent.objects.exists()
    connections.close_all()
    return total / elapsed


def check_ledger() -> str:
    from django.db import connection

    from audit.verification import verify_ledger

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(seq), max(seq) FROM audit_auditevent")
        count, low, high = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM audit_auditevent e JOIN audit_auditevent p ON p.seq = e.seq - 1 "
            "WHERE e.prev_hash <> p.hash"
        )
        broken_links = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT prev_hash FROM audit_auditevent "
            "GROUP BY prev_hash HAVING count(*) > 1) forks"
        )
        forks = cursor.fetchone()[0]
    gaps = (high - low + 1) - count if count else 0
    assert low == 0 and gaps == 0, f"gaps: {gaps}"
    assert forks == 0 and broken_links == 0, f"forks: {forks}, broken links: {broken_links}"
    report = verify_ledger()
    assert report.ok, report.summary()
    return f"{count} events, gaps 0, forks 0, broken links 0; {report.summary()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=16_000, help="events per measurement")
    parser.add_argument(
        "--inline-events",
        type=int,
        default=2_000,
        help="events for the inline mode, which serialises commits and is slow to measure",
    )
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-txn", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()

    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    try:
        setup_django()
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_plain (LIKE audit_pendingevent INCLUDING ALL)")
        connections.close_all()
        print(
            f"audit append benchmark: {args.writers} writer processes, {args.events} events "
            f"per measurement, PostgreSQL, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at start"
        )
        print(f"{'events/txn':>10} {'mode':>8} {'events':>7} {'events/s':>10} {'vs plain':>9}")
        for per_txn in args.per_txn:
            plain = run("plain", args.writers, args.events, per_txn)
            print(f"{per_txn:>10} {'plain':>8} {args.events:>7} {plain:>10,.0f} {1:>9.2f}")
            for mode, events in (("inline", args.inline_events), ("batched", args.events)):
                rate = run(mode, args.writers, events, per_txn)
                print(f"{per_txn:>10} {mode:>8} {events:>7} {rate:>10,.0f} {rate / plain:>9.2f}")
        print("ledger check:", check_ledger())
        connections.close_all()
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
