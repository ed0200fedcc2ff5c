"""SigningKey, IssuedToken, TokenRevocation and ClientScopes now belong to the `tokens` app
(`tokens.0001_initial`), with the same tables: dropped from access's state only, no SQL."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0001_squashed_0009_pre_restructure"),
        ("tokens", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="TokenRevocation"),
                migrations.DeleteModel(name="IssuedToken"),
                migrations.DeleteModel(name="SigningKey"),
                migrations.DeleteModel(name="ClientScopes"),
            ],
            database_operations=[],
        )
    ]
