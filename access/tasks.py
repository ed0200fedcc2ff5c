"""Celery tasks: thin wrappers that load by id and call a service. Retries live here."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(bind=True, max_retries=8, default_retry_delay=30, retry_backoff=True, acks_late=True)
def notification_send(self, notification_id: int) -> bool:
    sent = services.notification_deliver(notification_id=notification_id)
    if not sent:
        # The outbox row keeps the failure; retry with backoff, and the sweep is the safety net.
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return sent


@shared_task
def notifications_sweep() -> int:
    """Send whatever the outbox still holds (after a broker or mail-server outage)."""
    sent = 0
    for pk in services.notifications_due():
        sent += bool(services.notification_deliver(notification_id=pk))
    return sent


@shared_task
def drafts_expire() -> dict:
    return services.drafts_expire()


@shared_task
def grants_expire() -> dict:
    return services.grants_expire()
