"""The append-only, hash-chained audit ledger, its pending queue and its signed checkpoints."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models

from .canonical import payload_text
from .choices import ActorKind, EventType


class CanonicalJSONField(models.TextField):
    """JSON kept as its canonical text (sorted keys, compact, UTF-8; see audit.canonical), so the
    database holds exactly the bytes that were hashed: verification hashes them as they are,
    without parsing, and no database-side JSON type can respell a number or reorder a key."""

    def from_db_value(self, value, expression, connection):  # noqa: ARG002 - Django Field hook
        return None if value is None else json.loads(value)

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        return None if value is None else payload_text(value)

    def value_to_string(self, obj):
        return payload_text(self.value_from_object(obj))


class PendingEvent(models.Model):
    """An event written by a business transaction and not yet chained into the ledger.

    Writers insert here without any global lock; the sequencer (`audit.ledger.sequence`) moves
    committed rows into `AuditEvent` in id order, deleting them here in the same transaction.
    Database triggers refuse UPDATE and TRUNCATE, and refuse DELETE of a row that is not already
    in the ledger with the same content, so an event can leave this table only by being chained.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField()
    event_type = models.CharField(max_length=64)
    actor_id = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=8)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    payload = CanonicalJSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    client_addr = models.CharField(max_length=45, blank=True)

    def __str__(self) -> str:
        return f"pending {self.pk} {self.event_type}"


class AuditEvent(models.Model):
    """One ledger entry; its hash covers its fields and the previous entry's hash."""

    seq = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField()
    # No `choices=` at the database level: every new kind of event would otherwise need a
    # migration of this table. `audit.ledger.append` refuses types outside `EventType`.
    event_type = models.CharField(max_length=64, db_index=True)
    actor_id = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    payload = CanonicalJSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    client_addr = models.CharField(max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Bookkeeping, not hashed: the PendingEvent this entry was chained from. UNIQUE, so a
    # pending event can never be chained twice.
    pending_id = models.BigIntegerField(unique=True, null=True, editable=False)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}"

    @property
    def event_type_label(self) -> str:
        try:
            return str(EventType(self.event_type).label)
        except ValueError:
            return self.event_type


class Checkpoint(models.Model):
    """A signed statement of the ledger's Merkle tree root over events 0..tree_size-1."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    # The exact signed bytes (UTF-8 text) and the Ed25519 signature over them, base64.
    body = models.TextField()
    signature = models.CharField(max_length=128)
    # Not signed, only a shortcut: the roots of the perfect subtrees covering the first
    # tree_size leaves (hex, `audit.merkle.CompactRange`), so that the next checkpoint hashes
    # only the entries appended since. `audit_verify` recomputes every root from scratch.
    compact_nodes = models.JSONField(default=list)

    class Meta:
        ordering = ["tree_size"]
        get_latest_by = "tree_size"

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} {self.root_hash[:12]}"


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


class BoundedWindow(models.Model):
    """How many events of one kind one actor or address caused in one time window, and how
    many of them were not written to the ledger (`audit.bounded`)."""

    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=128)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "window_start"], name="one_bounded_window_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} {self.window_start:%Y-%m-%d %H:%M} ({self.count})"
