"""Celery tasks: thin wrappers that load by id and call a service. Retries live here.

The services sit below this module: they never import it. A notification they queue is handed
to `notification_send` by `notification_enqueue`, the receiver of their `notification_ready`
signal (connected in `AccessConfig.ready`)."""

from __future__ import annotations

from celery import shared_task

from core.broker import enqueue

from .services import grants as grant_services
from .services import notifications as notification_services
from .services import requests as request_services
from .services import reviews as review_services
from .services import team as team_services


@shared_task(
    bind=True,
    max_retries=8,
    default_retry_delay=30,
    retry_backoff=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def notification_send(self, notification_id: int) -> bool:
    # Idempotent: delivered again after a worker died mid-task, or racing the sweep, it finds
    # the row sent (or locked by the other sender) and sends nothing.
    sent = notification_services.notification_deliver(notification_id=notification_id)
    if not sent:
        # The outbox row keeps the failure; retry with backoff, and the sweep is the safety net.
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return sent


def notification_enqueue(sender, *, notification_id: int, **kwargs) -> None:  # noqa: ARG001 - signal receiver
    """Receiver of `notification_ready` (sent after the commit that queued the notification).
    With the broker down the row stays pending and `notifications_sweep` sends it."""
    enqueue(notification_send, notification_id)


@shared_task
def notifications_sweep() -> int:
    """Send whatever the outbox still holds (after a broker or mail-server outage)."""
    sent = 0
    for pk in notification_services.notifications_due():
        sent += bool(notification_services.notification_deliver(notification_id=pk))
    return sent


@shared_task
def notifications_digest() -> int:
    """Each person's daily digest (Celery beat, once a day); a failed one is retried by the sweep."""
    sent = 0
    for recipient_id in notification_services.digest_recipients():
        sent += bool(notification_services.notification_digest_deliver(recipient_id=recipient_id))
    return sent


@shared_task
def drafts_expire() -> dict:
    return request_services.drafts_expire()


@shared_task
def grants_expire() -> dict:
    return grant_services.grants_expire()


@shared_task
def invitations_expire() -> int:
    return team_services.invitations_expire()


@shared_task
def review_reminders_send() -> int:
    return review_services.review_reminders_send()
