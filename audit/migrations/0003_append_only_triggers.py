"""Database-enforced append-only ledger (see audit/triggers.py), per vendor."""

from django.db import migrations

from audit import triggers


def forwards(apps, schema_editor):
    triggers.install(schema_editor)


def backwards(apps, schema_editor):
    triggers.remove(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_ledger_queue_and_checkpoints")]

    operations = [migrations.RunPython(forwards, backwards)]
