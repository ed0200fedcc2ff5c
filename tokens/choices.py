from django.db import models


class KeyState(models.TextChoices):
    """A token signing key's life: published before use, used, kept for verification, dropped."""

    NEXT = "next", "Next (published, not yet signing)"
    ACTIVE = "active", "Active (signing)"
    RETIRED = "retired", "Retired (published until its tokens expire)"
    DROPPED = "dropped", "Dropped (unpublished, private key erased)"


class TokenKind(models.TextChoices):
    ACCESS = "access", "Access token (RFC 9068)"
    VISA = "visa", "GA4GH ControlledAccessGrants visa"


class RevocationCause(models.TextChoices):
    GRANT_REVOKED = "grant_revoked", "Grant revoked"
    DATASET_RETIRED = "dataset_retired", "Dataset retired"
    USER_SUSPENDED = "user_suspended", "User suspended"
    KEY_COMPROMISED = "key_compromised", "Signing key compromised"
