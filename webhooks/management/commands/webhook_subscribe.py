"""Subscribe an endpoint to entitlement webhooks from the command line (a trusted operator)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import Invalid, refusal_text
from core.logs import url_without_secrets
from webhooks import services
from webhooks.choices import WebhookEvent


class Command(BaseCommand):
    help = (
        "Subscribe an HTTPS endpoint to webhooks: --url URL --events grant.created,grant.revoked "
        "[--secret-file F]. Without --secret-file a secret is generated and printed once. "
        f"Events: {', '.join(WebhookEvent.values)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True)
        parser.add_argument("--events", required=True, help="Comma-separated event types.")
        parser.add_argument(
            "--secret-file",
            type=Path,
            help="A file holding the Standard Webhooks secret (whsec_…), shared with the receiver.",
        )
        parser.add_argument("--description", default="")

    def handle(self, *args, url, events, secret_file, description, **options):
        secret = None
        if secret_file is not None:
            try:
                secret = secret_file.read_text().strip()
            except OSError as exc:
                raise CommandError(f"Cannot read {secret_file}: {exc.strerror}") from None
        try:
            subscription, shown = services.subscription_create(
                url=url,
                events=[e.strip() for e in events.split(",") if e.strip()],
                actor=None,
                secret=secret,
                description=description,
            )
        except Invalid as exc:
            raise CommandError(refusal_text(exc)) from None
        self.stdout.write(
            f"Subscription {subscription.pk}: {url_without_secrets(subscription.url)}"
        )
        if secret is None:
            self.stdout.write(f"Secret (shown once, give it to the receiver): {shown}")
