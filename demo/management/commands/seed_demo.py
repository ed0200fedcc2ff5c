"""`python manage.py seed_demo`: the demo world of `demo.data`, built by `demo.world` through the
services in one transaction, then the demo logins (`demo.logins`). Idempotent: a second run
finds everything by its natural key and creates nothing."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from demo import logins, world
from governance.choices import Ontology
from governance.models import OntologyTerm


class Command(BaseCommand):
    help = (
        "Build a realistic demo world (organisations, committees, datasets, users with the "
        "password 'demo') through the services. Idempotent. Refuses with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. The demo users have a well-known password: "
            "never use this on a site that holds real data.",
        )

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this looks like a production site. seed_demo creates users "
                "whose password is 'demo'; rerun with --force if this really is a demo site."
            )
        if not OntologyTerm.objects.filter(ontology=Ontology.DUO).exists():
            raise CommandError(
                "The DUO and DOID ontologies are not loaded: run `python manage.py "
                "load_ontologies` first."
            )
        # The demo's notifications are real outbox rows, but printing dozens of e-mails on the
        # console would bury the logins table: keep them in memory while seeding. The world is
        # built completely or not at all.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            transaction.atomic(),
        ):
            built = world.seed()
        if built.created:
            made = ", ".join(f"{n} {kind}" for kind, n in built.created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo world created: {made}."))
        else:
            self.stdout.write("Demo world already present: nothing changed.")
        self.stdout.write(logins.logins_table())
