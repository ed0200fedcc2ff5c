"""Chain queued events into the ledger, in a loop (AUDIT_SEQUENCING=batched).

Run one or more (they take turns on the ledger lock). Killing it at any moment is safe: a batch
is one transaction, and what it had not committed stays queued for the next run.
"""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from audit import ledger


class Command(BaseCommand):
    help = "Chain queued audit events into the ledger (loop; --once for a single flush)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="flush the queue and exit")
        parser.add_argument(
            "--idle", type=float, default=0.05, help="seconds to sleep when the queue is empty"
        )
        parser.add_argument("--batch", type=int, default=ledger.BATCH_SIZE)

    def handle(self, *args, once: bool, idle: float, batch: int, **options):
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
        while not stopping:
            n = ledger.sequence(limit=batch)
            total += n
            if n < batch:
                close_old_connections()
                time.sleep(idle)
        self.stdout.write(f"audit_sequencer stopped after chaining {total} events")
