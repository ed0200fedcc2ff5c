"""ClientScopes by the application's primary key instead of its client_id string: a new
registration that reuses a deleted client's client_id must not inherit its privileged scopes.
Rows whose client_id names no application are dropped (nothing could use them)."""

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


def bind_to_applications(apps, schema_editor):
    ClientScopes = apps.get_model("access", "ClientScopes")
    app_label, model_name = oauth2_settings.APPLICATION_MODEL.split(".")
    Application = apps.get_model(app_label, model_name)
    for row in ClientScopes.objects.all():
        application = Application.objects.filter(client_id=row.client_id).first()
        if application is None:
            row.delete()
        else:
            row.application = application
            row.save(update_fields=["application"])
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now: ALTER TABLE refuses to run with deferred checks pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0005_suspension_lifted"),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="clientscopes",
            name="application",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="client_scopes",
                to=oauth2_settings.APPLICATION_MODEL,
            ),
        ),
        migrations.RunPython(bind_to_applications, migrations.RunPython.noop),
        migrations.RemoveField(model_name="clientscopes", name="client_id"),
        migrations.AlterField(
            model_name="clientscopes",
            name="application",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="client_scopes",
                to=oauth2_settings.APPLICATION_MODEL,
            ),
        ),
    ]
