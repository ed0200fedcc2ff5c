from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from audit.verification import verify_ledger


class Command(BaseCommand):
    help = (
        "Recompute every ledger hash and the chain, check every checkpoint's signature and root. "
        "Exit 0 with a one-line summary, or 1 naming the first broken position."
    )

    def handle(self, *args, **options):
        report = verify_ledger()
        if report.ok:
            self.stdout.write(report.summary())
            return
        self.stderr.write(report.summary())
        sys.exit(1)
