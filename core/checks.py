"""Deployment checks (`manage.py check --deploy`): the keys Tessera cannot run without in production.

Without them the first checkpoint signature or token would fail at run time; better to refuse at
deploy time with a message that says which variable to set.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from core.secrets import as_secret

REQUIRED_KEYS = (
    ("AUDIT_SIGNING_KEY", "the Ed25519 key that signs audit-ledger checkpoints", "tessera.E001"),
    (
        "TESSERA_KEY_ENCRYPTION_KEY",
        "the key that encrypts token signing keys at rest",
        "tessera.E002",
    ),
)


@register(Tags.security, deploy=True)
def production_keys(app_configs, **kwargs):  # noqa: ARG001 - system check signature
    if settings.DEBUG:
        return []  # development keys are generated under var/keys
    return [
        Error(
            f"{name} is not set: {what}.",
            hint=f"Set {name} or {name}_FILE (see README, 'Running in production').",
            id=check_id,
        )
        for name, what, check_id in REQUIRED_KEYS
        # Read from NAME or NAME_FILE by core.secrets when the settings were loaded.
        if as_secret(getattr(settings, name), name) is None
    ]
