"""The append-only, hash-chained audit ledger."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .choices import ActorKind, EventType


class AuditEvent(models.Model):
    """One ledger entry; its hash covers its fields and the previous entry's hash."""

    seq = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField()
    event_type = models.CharField(max_length=64, choices=EventType.choices, db_index=True)
    actor_id = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    client_addr = models.CharField(max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}"


def new_pseudonym() -> str:
    return uuid.uuid4().hex


class ActorPseudonym(models.Model):
    """The stable pseudonymous id that stands for a person in the ledger and in tokens.

    Lives outside the ledger so that erasing a person (GDPR Art. 17) deletes this row and
    never touches the ledger.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pseudonym"
    )
    pseudonym = models.CharField(max_length=40, unique=True, default=new_pseudonym, editable=False)

    def __str__(self) -> str:
        return str(self.pseudonym)
