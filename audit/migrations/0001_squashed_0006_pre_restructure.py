"""Audit's migrations 0001-0006 (before the restructure) in one: the tables as they ended, then
the append-only triggers (audit/triggers.py) and the "auditors" group (read access to the ledger
and its checkpoints). A database that applied 0001-0006 counts this as applied (`replaces`).
0005's payload rewrite is not repeated: a new ledger has no rows."""

import audit.models
import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

from audit import triggers

AUDITORS = "auditors"
PERMISSIONS = ("view_auditevent", "view_checkpoint")


def install_triggers(apps, schema_editor):
    triggers.install(schema_editor)


def remove_triggers(apps, schema_editor):
    triggers.remove(schema_editor)


def create_auditors(apps, schema_editor):
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


def delete_auditors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=AUDITORS).delete()


class Migration(migrations.Migration):

    replaces = [('audit', '0001_initial'), ('audit', '0002_ledger_queue_and_checkpoints'), ('audit', '0003_append_only_triggers'), ('audit', '0004_auditors_group'), ('audit', '0005_canonical_payload_text'), ('audit', '0006_bounded_windows')]

    initial = True

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Checkpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tree_size', models.BigIntegerField(unique=True)),
                ('root_hash', models.CharField(max_length=64)),
                ('issued_at', models.DateTimeField()),
                ('key_id', models.CharField(max_length=64)),
                ('body', models.TextField()),
                ('signature', models.CharField(max_length=128)),
                ('compact_nodes', models.JSONField(default=list)),
            ],
            options={
                'ordering': ['tree_size'],
                'get_latest_by': 'tree_size',
            },
        ),
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('seq', models.BigIntegerField(primary_key=True, serialize=False)),
                ('occurred_at', models.DateTimeField()),
                ('event_type', models.CharField(db_index=True, max_length=64)),
                ('actor_id', models.CharField(max_length=64)),
                ('actor_kind', models.CharField(choices=[('user', 'User'), ('client', 'OAuth client'), ('system', 'System')], max_length=8)),
                ('target_type', models.CharField(blank=True, max_length=64)),
                ('target_id', models.CharField(blank=True, max_length=64)),
                ('payload', audit.models.CanonicalJSONField(default=dict)),
                ('request_id', models.CharField(blank=True, max_length=64)),
                ('client_addr', models.CharField(blank=True, max_length=45)),
                ('prev_hash', models.CharField(max_length=64)),
                ('hash', models.CharField(max_length=64, unique=True)),
                ('pending_id', models.BigIntegerField(editable=False, null=True, unique=True)),
            ],
            options={
                'ordering': ['seq'],
                'indexes': [models.Index(fields=['target_type', 'target_id', 'seq'], name='audit_audit_target__b95a06_idx')],
            },
        ),
        migrations.CreateModel(
            name='PendingEvent',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('occurred_at', models.DateTimeField()),
                ('event_type', models.CharField(max_length=64)),
                ('actor_id', models.CharField(max_length=64)),
                ('actor_kind', models.CharField(max_length=8)),
                ('target_type', models.CharField(blank=True, max_length=64)),
                ('target_id', models.CharField(blank=True, max_length=64)),
                ('payload', audit.models.CanonicalJSONField(default=dict)),
                ('request_id', models.CharField(blank=True, max_length=64)),
                ('client_addr', models.CharField(blank=True, max_length=45)),
            ],
        ),
        migrations.CreateModel(
            name='ActorPseudonym',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('pseudonym', models.CharField(default=audit.models.new_pseudonym, editable=False, max_length=40, unique=True)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='pseudonym', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='BoundedWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=64)),
                ('key', models.CharField(max_length=128)),
                ('window_start', models.DateTimeField()),
                ('window_end', models.DateTimeField(db_index=True)),
                ('count', models.PositiveIntegerField(default=0)),
                ('suppressed', models.PositiveIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('kind', 'key', 'window_start'), name='one_bounded_window_per_key')],
            },
        ),
        migrations.RunPython(install_triggers, remove_triggers),
        migrations.RunPython(create_auditors, delete_auditors),
    ]
