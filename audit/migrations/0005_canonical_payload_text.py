"""Payloads become their canonical JSON text (audit.models.CanonicalJSONField).

On SQLite, altering a column rebuilds the table, which drops its triggers: they are dropped and
installed again on every vendor so both end in the same state."""

from django.db import migrations

import audit.models
from audit import triggers


def reinstall_triggers(apps, schema_editor):
    triggers.remove(schema_editor)
    triggers.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_auditors_group")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: triggers.remove(schema_editor), migrations.RunPython.noop
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="payload",
            field=audit.models.CanonicalJSONField(default=dict),
        ),
        migrations.AlterField(
            model_name="pendingevent",
            name="payload",
            field=audit.models.CanonicalJSONField(default=dict),
        ),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
