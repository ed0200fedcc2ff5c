"""`python manage.py oauth_client_create NAME --grant-type client-credentials --scope introspection`:
register an OAuth client (administrators only; there is no self-service registration).

Prints the client id and the client secret once: the secret is stored hashed and cannot be
shown again. Records `auth.client_registered` (and `auth.client_scopes_changed` for privileged
scopes) in the audit ledger. See docs/oauth-clients.md.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.scopes import SCOPES
from tokens.oauth import GRANT_TYPES, client_register


class Command(BaseCommand):
    help = "Register an OAuth client; prints its client id and secret once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the client is, e.g. 'Storage tier (Nijmegen)'.")
        parser.add_argument("--grant-type", choices=GRANT_TYPES, required=True)
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=sorted(SCOPES),
            help="A scope the client is meant to use (repeat). introspection and ga4gh_passport "
            "are granted to this client only through this option or the admin.",
        )
        parser.add_argument(
            "--redirect-uri",
            action="append",
            default=[],
            help="For authorization-code clients (repeat).",
        )
        parser.add_argument(
            "--public",
            action="store_true",
            help="A public client (no secret kept, PKCE only), e.g. a command-line tool.",
        )

    def handle(self, *args, **options):
        try:
            registered = client_register(
                name=options["name"],
                grant_type=options["grant_type"],
                scopes=options["scope"],
                redirect_uris=" ".join(options["redirect_uri"]),
                confidential=not options["public"],
                actor=None,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        app = registered.application
        self.stdout.write(f"client_id     {app.client_id}")
        if not options["public"]:
            self.stdout.write(f"client_secret {registered.client_secret}")
            self.stdout.write("The secret is stored hashed: copy it now, it is not shown again.")
