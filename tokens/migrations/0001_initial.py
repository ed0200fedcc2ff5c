"""The token models, moved from `access` with their tables (`access_*`): state only, no
SQL on the tables; their content types follow them (permissions and admin history stay attached).

`access.0010_tokens_moved` then drops them from access's state. A database at access 0009 keeps
its rows; a fresh one gets the tables from access 0001_squashed_0009 first.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


NEW_APP = "tokens"
MOVED = ('signingkey', 'issuedtoken', 'tokenrevocation', 'clientscopes')


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
        ("access", "0001_squashed_0009_pre_restructure"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="SigningKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kid", models.CharField(max_length=64, unique=True)),
                ("alg", models.CharField(max_length=8)),
                ("public_jwk", models.JSONField()),
                ("private_key_encrypted", models.TextField(blank=True)),
                ("state", models.CharField(choices=[("next", "Next (published, not yet signing)"), ("active", "Active (signing)"), ("retired", "Retired (published until its tokens expire)"), ("dropped", "Dropped (unpublished, private key erased)")], db_index=True, max_length=8)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, help_text="Published in the JWKS.")),
                ("activated_at", models.DateTimeField(blank=True, null=True)),
                ("retired_at", models.DateTimeField(blank=True, null=True)),
                ("dropped_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "access_signingkey",
                "ordering": ["-created_at"],
                "constraints": [models.UniqueConstraint(condition=models.Q(("state", "active")), fields=("state",), name="one_active_signing_key"), models.UniqueConstraint(condition=models.Q(("state", "next")), fields=("state",), name="one_next_signing_key")],
            },
        ),
        migrations.CreateModel(
            name="IssuedToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("jti", models.CharField(max_length=64, unique=True)),
                ("kind", models.CharField(choices=[("access", "Access token (RFC 9068)"), ("visa", "GA4GH ControlledAccessGrants visa")], max_length=8)),
                ("kid", models.CharField(max_length=64)),
                ("issued_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("grant", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="tokens", to="access.grant")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "db_table": "access_issuedtoken",
                "ordering": ["-issued_at"],
                "indexes": [models.Index(fields=["grant", "expires_at"], name="access_issu_grant_i_5845a6_idx"), models.Index(fields=["kid", "expires_at"], name="access_issu_kid_6b0352_idx")],
            },
        ),
        migrations.CreateModel(
            name="TokenRevocation",
            fields=[
                ("cursor", models.BigIntegerField(primary_key=True, serialize=False)),
                ("jti", models.CharField(max_length=64)),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField()),
                ("cause", models.CharField(choices=[("grant_revoked", "Grant revoked"), ("dataset_retired", "Dataset retired"), ("user_suspended", "User suspended"), ("key_compromised", "Signing key compromised")], max_length=16)),
                ("token", models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name="revocation", to="tokens.issuedtoken")),
            ],
            options={
                "db_table": "access_tokenrevocation",
                "ordering": ["cursor"],
            },
        ),
        migrations.CreateModel(
            name="ClientScopes",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scopes", models.CharField(blank=True, help_text="Space-separated.", max_length=200)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("application", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="client_scopes", to=oauth2_settings.APPLICATION_MODEL)),
            ],
            options={
                "db_table": "access_clientscopes",
                "verbose_name": "OAuth client scopes",
                "verbose_name_plural": "OAuth client scopes",
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[]),
        migrations.RunPython(content_types_forward, content_types_back),
    ]
