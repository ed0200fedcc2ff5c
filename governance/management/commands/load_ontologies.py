import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance import ontology


class Command(BaseCommand):
    help = "Load or refresh the DUO and DOID ontologies from fixtures/ontologies (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=settings.TESSERA["ONTOLOGY_DIR"])
        parser.add_argument(
            "--force", action="store_true", help="Reload even if the files did not change."
        )

    def handle(self, *args, dir: Path, force: bool, **options):
        started = time.perf_counter()
        try:
            loaded = ontology.load(dir, force=force)
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        took = time.perf_counter() - started
        if loaded:
            summary = ", ".join(f"{k}: {v} terms" for k, v in loaded.items())
            self.stdout.write(self.style.SUCCESS(f"Loaded {summary} in {took:.1f} s."))
        else:
            self.stdout.write("Ontologies already up to date (use --force to reload).")
