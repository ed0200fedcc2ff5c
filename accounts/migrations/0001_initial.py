"""Suspension, moved from `access` with its table (`access_suspension`): state only, no SQL.

`access.0011_suspension_moved` then drops it from access's state."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("access", "0010_tokens_moved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Suspension",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("reason", models.TextField()),
                        ("suspended_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("lifted_at", models.DateTimeField(blank=True, null=True)),
                        ("lift_reason", models.TextField(blank=True)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("lifted_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="suspensions", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "access_suspension",
                        "ordering": ["-suspended_at"],
                    },
                ),
            ],
            database_operations=[],
        )
    ]
