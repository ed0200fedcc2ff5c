"""The one hook point: the ledger's `event_recorded` signal (audit/recorded.py), for the ledger
events a webhook follows (`payloads.SOURCES`), inside the transaction of the change."""

from __future__ import annotations

from audit.recorded import event_recorded

from .payloads import SOURCES
from .services import deliveries_enqueue
from .tasks import deliver_after_commit


def queue_webhooks(sender, *, obj, payload, **kwargs) -> None:
    """Queue the webhook of a ledger event; it is sent after commit."""
    deliver_after_commit(deliveries_enqueue(event_type=sender, obj=obj, ledger_payload=payload))


def connect() -> None:
    for event_type in SOURCES:
        event_recorded.connect(
            queue_webhooks, sender=event_type, dispatch_uid=f"webhooks.queue.{event_type}"
        )
