"""`python manage.py identity_link USERNAME SUBJECT [--issuer URL]`: link an existing account
(a committee member's, a steward's) to the person's subject at the identity provider before
they first sign in with it, so that they land in their own account, with its roles, instead of
a new one. The issuer defaults to TESSERA_OIDC_ISSUER. Recorded as auth.identity_linked by the
system (`accounts.services.identity_link`). A person already signed in can link their own
identity themselves: signing in with the provider while signed in links it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import identity_link
from core.exceptions import REFUSALS, refusal_text


class Command(BaseCommand):
    help = "Link an account to a person's subject at the identity provider."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("subject", help="the person's `sub` at the provider (their LS ID)")
        parser.add_argument("--issuer", default="", help="default: TESSERA_OIDC_ISSUER")

    def handle(self, *args, username, subject, issuer, **options):
        issuer = (issuer or settings.TESSERA_OIDC_ISSUER).strip()
        if not issuer:
            raise CommandError("No issuer: set TESSERA_OIDC_ISSUER or pass --issuer.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username}.")
        try:
            identity = identity_link(
                user=user, issuer=issuer, subject=subject, claims={}, actor=None
            )
        except REFUSALS as exc:
            raise CommandError(refusal_text(exc)) from None
        self.stdout.write(f"{username} is linked to identity {identity.pk} at {issuer}.")
