"""Chain queued events into the ledger, in a loop (AUDIT_SEQUENCING=batched).

Run one or more (they take turns on the ledger lock). Killing it at any moment is safe: a batch
is one transaction, and what it had not committed stays queued for the next run.

It outlives its database: when the database goes away (a restart, a failover, its connection
terminated) the loop drops the connection, backs off (0.5 s doubling to `--max-backoff`), and
carries on when the database answers again, logging the outage once when it starts and once when
it ends. The deployment's `Restart=always` (docs/deployment.md) is the second line of defence.
"""

from __future__ import annotations

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from audit import ledger

log = logging.getLogger("tessera.audit.sequencer")
FIRST_BACKOFF = 0.5


class Command(BaseCommand):
    help = "Chain queued audit events into the ledger (loop; --once for a single flush)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="flush the queue and exit")
        parser.add_argument(
            "--idle", type=float, default=0.05, help="seconds to sleep when the queue is empty"
        )
        parser.add_argument("--batch", type=int, default=ledger.BATCH_SIZE)
        parser.add_argument(
            "--max-backoff",
            type=float,
            default=10.0,
            help="longest wait, in seconds, between attempts while the database is unreachable",
        )

    def handle(self, *args, once: bool, idle: float, batch: int, max_backoff: float, **options):
        if once:
            self.stdout.write(f"chained {ledger.flush()} events")
            return
        stopping = False

        def stop(signum, frame):  # noqa: ARG001 - signal.signal handler
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        total = 0
        down_since: float | None = None
        backoff = FIRST_BACKOFF
        while not stopping:
            try:
                n = ledger.sequence(limit=batch)
            except (OperationalError, InterfaceError) as exc:
                # The batch's transaction rolled back: its events stay queued. Drop the broken
                # connection; the next attempt opens a new one.
                connection.close()
                if down_since is None:
                    down_since = time.monotonic()
                    log.error(
                        "audit_sequencer: the database is unreachable (%s); retrying with "
                        "back-off up to %.1f s",
                        type(exc).__name__,
                        max_backoff,
                    )
                time.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            if down_since is not None:
                log.warning(
                    "audit_sequencer: the database is back after %.1f s; chaining again",
                    time.monotonic() - down_since,
                )
                down_since, backoff = None, FIRST_BACKOFF
            total += n
            if n < batch:
                close_old_connections()
                time.sleep(idle)
        self.stdout.write(f"audit_sequencer stopped after chaining {total} events")
