"""`python manage.py seed_oidc_demo --provider http://127.0.0.1:9400`: give the demo identity
provider (oidc-provider-mock, started by `make run-oidc`) its people, with their claims
(`demo.data.OIDC_DEMO_USERS`), through its `PUT /users/<sub>` API. Idempotent; touches no
database. Refuses with DEBUG off (a demo provider has no place on a real site)."""

from __future__ import annotations

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.data import OIDC_DEMO_LINKED, OIDC_DEMO_USERS


class Command(BaseCommand):
    help = "Set the demo people's claims at the demo OpenID provider (oidc-provider-mock)."

    def add_arguments(self, parser):
        parser.add_argument("--provider", default="http://127.0.0.1:9400")

    def handle(self, *args, provider: str, **options):
        if not settings.DEBUG:
            raise CommandError("DEBUG is off: seed_oidc_demo is for the demo only.")
        provider = provider.rstrip("/")
        for sub, claims in OIDC_DEMO_USERS.items():
            try:
                answer = requests.put(f"{provider}/users/{sub}", json=claims, timeout=10)
            except requests.RequestException as exc:
                raise CommandError(f"{provider} does not answer: {type(exc).__name__}") from None
            if answer.status_code != 204:
                raise CommandError(f"{provider} refused {sub}: {answer.status_code}")
        linked = {sub: username for username, sub in OIDC_DEMO_LINKED.items()}
        self.stdout.write(f"People at the demo identity provider {provider}:")
        for sub, claims in OIDC_DEMO_USERS.items():
            where = f"signs in to `{linked[sub]}`" if sub in linked else "new account at first"
            self.stdout.write(f"  {sub:28} {claims['name']:18} {where}")
        self.stdout.write(
            "Sign in at /accounts/login/ with the provider's button, then pick one of them."
        )
