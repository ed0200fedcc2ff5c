"""People's accounts: their suspensions (moved here from `access`, keeping the
`access_suspension` table; the ledger keeps naming it `access.suspension`), their external
identities (OpenID Connect) and their profile (what an identity provider says about them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Suspension(models.Model):
    """A person's account suspended: by whom, when and why (the ledger refers to it by id)."""

    LEDGER_TARGET_TYPE = "access.suspension"  # the ledger's name for it, from before the move

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="suspensions"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()
    suspended_at = models.DateTimeField(default=timezone.now)
    # Set when the account is reinstated (`accounts.services.user_reinstate`).
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lift_reason = models.TextField(blank=True)

    class Meta:
        db_table = "access_suspension"
        ordering = ["-suspended_at"]

    def __str__(self) -> str:
        return f"{self.user} suspended {self.suspended_at:%Y-%m-%d}"


class ExternalIdentity(models.Model):
    """A person's identity at an OpenID provider: the (issuer, subject) pair is their stable
    identity there, whatever their e-mail address becomes. One account may hold several (one
    per provider, or linked later); an identity belongs to one account only.

    `email`, `email_verified` and `affiliation` are what the provider last said (they are
    copied to the user and their profile at each sign-in, `accounts.services.identity_sign_in`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="external_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created = models.DateTimeField(default=timezone.now)
    last_login = models.DateTimeField(null=True, blank=True)
    email = models.EmailField(blank=True)
    email_verified = models.BooleanField(default=False)
    # eduperson_scoped_affiliation values (member@uni.example), comma-separated, sorted.
    affiliation = models.TextField(blank=True)

    class Meta:
        ordering = ["created", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_account_per_identity")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class Profile(models.Model):
    """What Tessera knows about a person beyond Django's user (name and e-mail live there):
    whether their e-mail address was verified by an identity provider, their affiliation, and
    the ORCID iD they gave on their account page (`accounts.profile.profile_update`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    # True only when an identity provider said `email_verified` for the user's current address.
    email_verified = models.BooleanField(default=False)
    affiliation = models.TextField(blank=True)
    # `0000-0002-1825-0097`, checked by accounts.orcid (format and ISO 7064 MOD 11-2); optional.
    orcid = models.CharField("ORCID iD", max_length=19, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"
