"""Signing keys, the tokens and visas Tessera signed, the revocation feed, and the privileged
OAuth scopes of each client.

These models moved here from `access`; they keep their tables (`access_*`) and the ledger keeps
naming them as it always has (`LEDGER_TARGET_TYPE`, see `audit.events`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from access.models import Grant

from .choices import KeyState, RevocationCause, TokenKind


class SigningKey(models.Model):
    """A key that signs tokens and visas; only its public half is ever published."""

    LEDGER_TARGET_TYPE = "access.signingkey"  # the ledger's name for it, from before the move

    kid = models.CharField(max_length=64, unique=True)
    alg = models.CharField(max_length=8)
    public_jwk = models.JSONField()
    # AES-GCM under the key-encryption key (tokens.keys); erased when the key is dropped.
    private_key_encrypted = models.TextField(blank=True)
    state = models.CharField(max_length=8, choices=KeyState.choices, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, help_text="Published in the JWKS.")
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "access_signingkey"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="one_active_signing_key"
            ),
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="next"), name="one_next_signing_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alg} {self.kid} ({self.state})"


class IssuedToken(models.Model):
    """A token or visa Tessera signed: enough to revoke it and to know when its key may go."""

    LEDGER_TARGET_TYPE = "access.issuedtoken"  # the ledger's name for it, from before the move

    jti = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=TokenKind.choices)
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kid = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "access_issuedtoken"
        ordering = ["-issued_at"]
        indexes = [
            models.Index(fields=["grant", "expires_at"]),
            models.Index(fields=["kid", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.jti}"


class TokenRevocation(models.Model):
    """One entry of the revocation feed. Cursors are assigned under a lock held to commit, so
    they become visible in increasing order (see tokens.issue)."""

    LEDGER_TARGET_TYPE = "access.tokenrevocation"  # the ledger's name for it, from before the move

    cursor = models.BigIntegerField(primary_key=True)
    token = models.OneToOneField(IssuedToken, on_delete=models.PROTECT, related_name="revocation")
    jti = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField()
    cause = models.CharField(max_length=16, choices=RevocationCause.choices)

    class Meta:
        db_table = "access_tokenrevocation"
        ordering = ["cursor"]

    def __str__(self) -> str:
        return f"#{self.cursor} {self.jti}"


class ClientScopes(models.Model):
    """The privileged OAuth scopes (introspection, ga4gh_passport) one OAuth client may obtain."""

    LEDGER_TARGET_TYPE = "access.clientscopes"  # the ledger's name for it, from before the move

    # Bound to the application's primary key, not its client_id: deleting the application
    # deletes this row, and a new registration reusing the client_id starts with nothing.
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="client_scopes"
    )
    scopes = models.CharField(max_length=200, blank=True, help_text="Space-separated.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "access_clientscopes"
        verbose_name = "OAuth client scopes"
        verbose_name_plural = "OAuth client scopes"

    def __str__(self) -> str:
        return f"{self.application_id}: {self.scopes or '(none)'}"
