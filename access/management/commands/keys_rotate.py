"""`python manage.py keys_rotate`: rotate the token signing keys. Run `keys_rotate --if-due`
daily (cron or a systemd timer): it rotates when the active key has signed for
TESSERA_KEY_ROTATION_DAYS and otherwise only drops retired keys whose tokens have expired.

- Empty keyring: create the first active key and a next key (published, not signing).
- Otherwise: the next key (published at least TESSERA_JWKS_MAX_AGE ago) becomes active, the
  active key is retired, a new next key is published, and retired keys whose tokens and visas
  have all expired are dropped from the JWKS (their private keys erased).

Prints kids only: never a private key or the key-encryption key.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from access import keyring


class Command(BaseCommand):
    help = "Rotate the token signing keys: next → active → retired → dropped."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Promote the next key even if it was published less than TESSERA_JWKS_MAX_AGE "
            "ago (verifiers holding a cached JWKS refuse its tokens until they refetch).",
        )
        parser.add_argument(
            "--if-due",
            action="store_true",
            help="Rotate only if the active key is TESSERA_KEY_ROTATION_DAYS old; prune anyway.",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Only drop retired keys whose tokens have all expired; rotate nothing.",
        )

    def handle(self, *args, force: bool, prune: bool, if_due: bool, **options):
        if prune or (if_due and not keyring.rotation_due()):
            dropped = keyring.keys_prune(actor=None)
            self.stdout.write(f"Dropped: {', '.join(dropped) or 'none'}.")
            return
        try:
            out = keyring.keys_rotate(actor=None, force=force)
        except keyring.RotationRefused as exc:
            raise CommandError(str(exc)) from None
        lines = [
            f"Active (signing):        {out.activated or 'unchanged'}",
            f"Retired (still in JWKS): {out.retired or 'none'}",
            f"Next (published):        {out.published}",
            f"Dropped from the JWKS:   {', '.join(out.dropped) or 'none'}",
        ]
        self.stdout.write(self.style.SUCCESS("Signing keys rotated.\n" + "\n".join(lines)))
