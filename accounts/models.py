"""People's accounts: their suspensions (moved here from `access`, keeping the
`access_suspension` table; the ledger keeps naming it `access.suspension`)."""

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
