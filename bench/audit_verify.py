"""`audit_verify` over 1,000,000 ledger events on PostgreSQL.

    .venv/bin/python bench/audit_verify.py [--events 1000000] [--checkpoints 4]

Creates its own database (tessera_bench_audit_verify), fills the ledger with realistic chained
events (COPY, as the table owner; hashes by the reference encoder), signs checkpoints along the
way with the real `checkpoint_sign`, then times, in the same run:

  scan     reading every row through the same server-side cursor, no hashing (the baseline)
  verify   `audit.verification.verify_ledger()`: every hash, the chain, every checkpoint
  command  `manage.py audit_verify` as a separate process (start-up included)

and prints events/s and the ratio of verify to scan. Drops the database at the end.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "tessera_bench_audit_verify"

sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = f"{ADMIN}/{DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["DEBUG"] = "false"
os.environ["AUDIT_SEQUENCING"] = "batched"
if not (os.environ.get("AUDIT_SIGNING_KEY") or os.environ.get("AUDIT_SIGNING_KEY_FILE")):
    os.environ["AUDIT_SIGNING_KEY"] = base64.b64encode(os.urandom(32)).decode()  # throwaway

TYPES = [
    ("governance.dataset_changed", "governance.dataset"),
    ("access.request_submitted", "access.accessrequest"),
    ("auth.login", "auth.user"),
    ("audit.field_change", "governance.dataset"),
    ("access.grant_created", "access.grant"),
]


def admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def fill(start: int, stop: int, prev_hash: str, when: datetime) -> tuple[str, datetime]:
    """COPY events start..stop-1, chained from prev_hash; return the last hash and time."""
    from django.db import connection

    from audit.canonical import entry_hash, payload_text

    actors = [uuid.uuid4().hex for _ in range(500)]
    columns = (
        "seq, occurred_at, event_type, actor_id, actor_kind, target_type, target_id, payload, "
        "request_id, client_addr, prev_hash, hash"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY audit_auditevent ({columns}) FROM STDIN") as copy:
            for seq in range(start, stop):
                event_type, target_type = TYPES[seq % len(TYPES)]
                when += timedelta(microseconds=1 + seq % 997)
                entry = {
                    "seq": seq,
                    "occurred_at": when,
                    "event_type": event_type,
                    "actor_id": actors[seq % len(actors)],
                    "actor_kind": "user",
                    "target_type": target_type,
                    "target_id": f"TSR-DS-{seq % 5000:06d}",
                    "payload": {
                        "changes": {"title": [f"Slides {seq}", f"Slides {seq + 1}"]},
                        "dataset": f"TSR-DS-{seq % 5000:06d}",
                        "n": seq,
                    },
                    "request_id": uuid.UUID(int=seq).hex,
                    "client_addr": f"10.0.{seq % 256}.{seq % 7}",
                    "prev_hash": prev_hash,
                }
                entry["hash"] = entry_hash(entry)
                copy.write_row(
                    [
                        entry["seq"],
                        when,
                        event_type,
                        entry["actor_id"],
                        "user",
                        target_type,
                        entry["target_id"],
                        payload_text(entry["payload"]),
                        entry["request_id"],
                        entry["client_addr"],
                        prev_hash,
                        entry["hash"],
                    ]
                )
                prev_hash = entry["hash"]
    return prev_hash, when


def scan_only() -> int:
    from django.db import transaction

    from audit.verification import _rows

    count = 0
    with transaction.atomic():
        for batch in _rows(start=0):
            count += len(batch)
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, default=4)
    args = parser.parse_args()

    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections, transaction

        from audit.canonical import GENESIS_HASH
        from audit.checkpoints import checkpoint_sign
        from audit.verification import verify_ledger

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        prev, when = GENESIS_HASH, datetime(2026, 1, 1, tzinfo=UTC)
        step = args.events // args.checkpoints
        for part in range(args.checkpoints):
            stop = args.events if part == args.checkpoints - 1 else (part + 1) * step
            with transaction.atomic():
                prev, when = fill(part * step, stop, prev, when)
            checkpoint_sign()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_auditevent")
        print(
            f"filled {args.events:,} events and {args.checkpoints} checkpoints in "
            f"{time.perf_counter() - started:.1f} s"
        )

        began = time.perf_counter()
        scanned = scan_only()
        scan_s = time.perf_counter() - began
        assert scanned == args.events

        report = verify_ledger()
        assert report.ok, report.summary()
        assert report.events == args.events

        connections.close_all()
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", "audit_verify"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        command_s = time.perf_counter() - began

        print(f"{os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.1f} after timing")
        print(f"{'':>8} {'seconds':>8} {'events/s':>12} {'vs scan':>8}")
        print(f"{'scan':>8} {scan_s:>8.2f} {args.events / scan_s:>12,.0f} {1:>8.2f}")
        print(
            f"{'verify':>8} {report.seconds:>8.2f} {args.events / report.seconds:>12,.0f} "
            f"{scan_s / report.seconds:>8.2f}"
        )
        print(
            f"{'command':>8} {command_s:>8.2f} {args.events / command_s:>12,.0f} "
            f"{scan_s / command_s:>8.2f}"
        )
        print("audit_verify said:", result.stdout.strip())
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
