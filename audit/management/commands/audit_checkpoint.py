from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import LedgerBroken, PublishedCheckpointConflict, checkpoint_sign


class Command(BaseCommand):
    help = "Sign a checkpoint (tree size, Merkle root, time) over the ledger as it is now."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="sign even an empty ledger (size 0)"
        )

    def handle(self, *args, force: bool, **options):
        try:
            checkpoint = checkpoint_sign(force=force)
        except LedgerBroken as exc:
            raise CommandError(f"not signed: ledger broken at {exc}") from exc
        except PublishedCheckpointConflict as exc:
            raise CommandError(
                f"not signed: {exc} (see 'Restore from backup' in docs/audit-ledger.md)"
            ) from exc
        except OSError as exc:
            # Signed and committed; only the copy outside the database could not be written.
            raise CommandError(
                f"signed, but not published to {settings.AUDIT_CHECKPOINT_PUBLISH_PATH}: "
                f"{exc.strerror or exc}"
            ) from exc
        if checkpoint is None:
            self.stdout.write("nothing new since the last checkpoint")
        else:
            self.stdout.write(
                f"checkpoint {checkpoint.tree_size} root {checkpoint.root_hash} "
                f"key {checkpoint.key_id}"
            )
