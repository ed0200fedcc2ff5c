"""Suspension, moved from `access` with its table (`access_suspension`): state only, no SQL on
the table; its content type follows it (permissions and admin history stay attached).

`access.0011_suspension_moved` then drops it from access's state."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


NEW_APP = "accounts"
MOVED = ('suspension',)


def content_types_follow(apps, schema_editor, old="access", new=None):
    """The moved models' content types change app (their permissions and admin history stay
    with them; `remove_stale_contenttypes` would otherwise delete them). Nothing to do on a
    fresh database: content types are created after the migrations."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
            ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def content_types_forward(apps, schema_editor):
    content_types_follow(apps, schema_editor, old="access", new=NEW_APP)


def content_types_back(apps, schema_editor):
    content_types_follow(apps, schema_editor, old=NEW_APP, new="access")



class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("access", "0010_tokens_moved"),
        ("contenttypes", "0002_remove_content_type_name"),
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
        ),
        migrations.RunPython(content_types_forward, content_types_back),
    ]
