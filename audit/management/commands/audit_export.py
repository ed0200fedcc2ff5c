from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from audit import events
from audit.export import export_ledger


class Command(BaseCommand):
    help = (
        "Write the ledger, its checkpoints and the public key as JSON Lines, checkable alone "
        "with docs/verify_export.py."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="file to write")

    def handle(self, *args, out: str, **options):
        with Path(out).open("wb") as handle:
            summary = export_ledger(handle)
        # After the export, so the file never contains its own export event.
        with transaction.atomic():
            events.ledger_exported(
                actor=None,
                events=summary.events,
                checkpoints=summary.checkpoints,
                sha256=summary.sha256,
            )
        self.stdout.write(
            f"exported {summary.events} events and {summary.checkpoints} checkpoints to {out} "
            f"(sha256 {summary.sha256})"
        )
