"""The "auditors" group: read access to the ledger and its checkpoints (API and admin)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUDITORS = "auditors"
PERMISSIONS = ("view_auditevent", "view_checkpoint")


def forwards(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create ours now.
    app_config = apps.get_app_config("audit")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=AUDITORS)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="audit", codename__in=PERMISSIONS)
    )


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=AUDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_only_triggers"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
