from __future__ import annotations

import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from audit import published
from audit.checkpoints import published_compare
from audit.verification import trusted_public_keys, verify_ledger


class Command(BaseCommand):
    help = (
        "Recompute every ledger hash and the chain, check every checkpoint's signature and root. "
        "Exit 0 with a one-line summary, or 1 naming the first broken position. With --against, "
        "also compare the ledger with a checkpoint published outside the database (a restore "
        "from an older backup shows as 'rolled back: events N..M are missing')."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--against",
            metavar="PATH_OR_URL",
            help="a published signed checkpoint: a file (AUDIT_CHECKPOINT_PUBLISH_PATH, a "
            "witness's copy) or an https URL serving one",
        )

    def handle(self, *args, against: str | None, **options):
        copy = None
        try:
            if against is not None:
                # Read first: a wrong path should not wait for a pass over the whole ledger.
                try:
                    copy = published.load(against, trusted_public_keys())
                except published.PublishedCheckpointUnusable as exc:
                    raise CommandError(
                        f"published checkpoint unusable: {exc}", returncode=2
                    ) from None
            report = verify_ledger()
        except ImproperlyConfigured as exc:
            # A missing or unloadable audit key (its message names the variable to set): no
            # signature can be checked, and the operator needs that line, not a traceback.
            raise CommandError(f"cannot verify: {exc}", returncode=2) from None
        failed = not report.ok
        (self.stderr if failed else self.stdout).write(report.summary())
        if copy is not None:
            comparison = published_compare(copy)
            failed = failed or not comparison.ok
            (self.stdout if comparison.ok else self.stderr).write(comparison.summary())
        if failed:
            sys.exit(1)
