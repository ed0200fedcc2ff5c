"""Appending to the ledger.

Appends are serialised so that the chain never forks and `seq` never gaps: on PostgreSQL a
transaction-level advisory lock, held until the surrounding transaction commits or rolls back;
on SQLite the database's single write lock (transactions begin IMMEDIATE, see settings).
An event is appended inside the caller's transaction, so it commits or rolls back with the
change it records.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from . import context
from .actors import Actor, actor_for
from .canonical import GENESIS_HASH, entry_hash
from .models import AuditEvent

# Arbitrary but fixed key for pg_advisory_xact_lock: "TSRA" as an int.
LEDGER_LOCK_KEY = 0x54535241


def _lock_ledger() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])


def append(
    *,
    event_type: str,
    actor: Any = None,
    target_type: str = "",
    target_id: str | int = "",
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the current transaction and return it."""
    who: Actor = actor_for(actor)
    ctx = context.current()
    with transaction.atomic():
        _lock_ledger()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        seq = last["seq"] + 1 if last else 0
        entry = {
            "seq": seq,
            "occurred_at": timezone.now(),
            "event_type": str(event_type),
            "actor_id": who.id,
            "actor_kind": str(who.kind),
            "target_type": target_type,
            "target_id": str(target_id),
            "payload": payload or {},
            "request_id": ctx.request_id,
            "client_addr": ctx.client_addr,
            "prev_hash": last["hash"] if last else GENESIS_HASH,
        }
        entry["hash"] = entry_hash(entry)
        return AuditEvent.objects.create(**entry)
