"""Suspension now belongs to the `accounts` app (`accounts.0001_initial`), with the same table:
dropped from access's state only, no SQL."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0010_tokens_moved"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Suspension")],
            database_operations=[],
        )
    ]
