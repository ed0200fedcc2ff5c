"""Celery tasks: thin, they call the services. Eager unless a broker is configured."""

from __future__ import annotations

from functools import partial

from celery import shared_task
from django.db import transaction

from core.broker import enqueue

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def webhook_deliver(subscription_id: int) -> int:
    # No Celery retry: a failed delivery keeps its own backoff in its row, and the sweep sends it.
    return services.subscription_deliver(subscription_id=subscription_id)


@shared_task(ignore_result=True)
def webhooks_sweep() -> int:
    """Send what is due: retries, and anything queued while the broker or a worker was down."""
    return services.deliveries_send_due()


def deliver_after_commit(subscription_ids: list[int]) -> None:
    """Send for these subscriptions once the current transaction commits. Robust: a broker
    that is down (or an eager send that fails) never fails the change; the sweep catches up."""
    for pk in subscription_ids:
        transaction.on_commit(partial(enqueue, webhook_deliver, pk), robust=True)
