"""`python manage.py keys_reencrypt`: move every stored token signing key onto the current
key-encryption key (TESSERA_KEY_ENCRYPTION_KEY), decrypting keys still under a previous one with
TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS. Replacing a KEK without downtime:

1. give every process the new KEK as TESSERA_KEY_ENCRYPTION_KEY and the old one in
   TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS (or its _FILE variant), and restart them;
2. run this once;
3. remove the old KEK from TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS and restart again.

Prints kids and KEK ids only: never a key.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from tokens import keyring, keys


class Command(BaseCommand):
    help = "Re-encrypt the token signing keys under the current key-encryption key."

    def handle(self, *args, **options):
        try:
            moved = keyring.keys_reencrypt(actor=None)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        kek_id = keys.kek_id(keyring.kek())
        if not moved:
            self.stdout.write(f"Every stored key is already under KEK {kek_id}.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted under KEK {kek_id}: {', '.join(moved)}.")
        )
