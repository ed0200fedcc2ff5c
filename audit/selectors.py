"""Permission-filtered reads of the ledger. Everything here flushes the queue first, so that a
reader never sees a ledger that lacks an event already committed."""

from __future__ import annotations

from django.db.models import QuerySet

from .ledger import flush
from .models import AuditEvent, Checkpoint

AUDITOR_PERMISSION = "audit.view_auditevent"


def is_auditor(user) -> bool:
    return bool(user and user.is_active and user.has_perm(AUDITOR_PERMISSION))


def event_list_for_auditor(
    user,
    *,
    after: int | None = None,
    event_type: str = "",
    target: str = "",
    limit: int = 100,
) -> list[AuditEvent]:
    """Events after `after` in seq order (a stable page: the ledger only grows at the end).

    `event_type` is an exact type ("governance.dataset_published") or an area ("governance");
    `target` is "type" or "type:id" ("governance.dataset:TSR-DS-000001").
    """
    if not is_auditor(user):
        raise PermissionError("auditors only")
    flush()
    events: QuerySet[AuditEvent] = AuditEvent.objects.order_by("seq")
    if after is not None:
        events = events.filter(seq__gt=after)
    if event_type:
        if "." in event_type:
            events = events.filter(event_type=event_type)
        else:
            events = events.filter(event_type__startswith=event_type + ".")
    if target:
        target_type, sep, target_id = target.partition(":")
        events = events.filter(target_type=target_type)
        if sep:
            events = events.filter(target_id=target_id)
    return list(events[:limit])


def event_get_for_auditor(user, seq: int) -> AuditEvent | None:
    if not is_auditor(user):
        raise PermissionError("auditors only")
    flush()
    return AuditEvent.objects.filter(seq=seq).first()


def checkpoint_latest() -> Checkpoint | None:
    """Public: checkpoints carry sizes, roots and signatures only."""
    return Checkpoint.objects.order_by("-tree_size").first()


def checkpoint_get(tree_size: int) -> Checkpoint | None:
    return Checkpoint.objects.filter(tree_size=tree_size).first()
