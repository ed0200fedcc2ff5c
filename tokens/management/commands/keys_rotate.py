"""`python manage.py keys_rotate`: rotate the token signing keys. Run `keys_rotate --if-due`
daily (cron or a systemd timer): it rotates when the active key has signed for
TESSERA_KEY_ROTATION_DAYS and otherwise only drops retired keys whose tokens have expired.

- Empty keyring: create the first active key and a next key (published, not signing).
- Otherwise: the next key (published at least TESSERA_JWKS_MAX_AGE ago) becomes active, the
  active key is retired, a new next key is published, and retired keys whose tokens and visas
  have all expired are dropped from the JWKS (their private keys erased).

Emergency: `keys_rotate --compromised=KID --reason "..."` takes a key out of service at once
(see `tokens.keyring.keys_drop_compromised`). Write `--compromised=KID` with the "=": a kid may
begin with "-", which argparse would otherwise take for an option.

Prints kids only: never a private key or the key-encryption key.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tokens import keyring


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
            "--compromised",
            metavar="KID",
            help="Emergency: take this key out of service now (whatever its state), revoke "
            "every token it signed and, if it was signing, promote the next key. Needs --reason. "
            "Write --compromised=KID: a kid may begin with '-'.",
        )
        parser.add_argument("--reason", default="", help="Why (recorded in the audit ledger).")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Only drop retired keys whose tokens have all expired; rotate nothing.",
        )

    def handle(self, *args, force: bool, prune: bool, if_due: bool, **options):
        if options["compromised"]:
            self._compromised(options["compromised"], options["reason"])
            return
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

    def _compromised(self, kid: str, reason: str) -> None:
        if not reason.strip():
            raise CommandError("Say why with --reason (it goes into the audit ledger).")
        try:
            out = keyring.keys_drop_compromised(kid=kid, actor=None, reason=reason)
        except keyring.UnknownKey as exc:
            raise CommandError(str(exc)) from None
        lines = [
            f"Dropped from the JWKS:   {out.dropped} (private key erased)",
            f"Tokens revoked:          {out.tokens_revoked} (listed in the revocation feed)",
            f"Active (signing):        {out.activated or 'unchanged'}",
            f"Next (published):        {out.published or 'unchanged'}",
            "Web processes forget the old key within "
            f"{keyring.ACTIVE_KEY_CACHE_SECONDS} s; tell offline verifiers to refetch the JWKS.",
        ]
        self.stdout.write(
            self.style.WARNING("Signing key taken out of service.\n" + "\n".join(lines))
        )
