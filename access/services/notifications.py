"""The notification outbox: `notify` writes a row once per key in the caller's transaction, and
after commit `notification_ready` is sent so that `access.tasks` (connected in `AccessConfig.ready`)
queues its delivery; `notification_deliver` sends one row's e-mail, `notifications_due` lists what
the sweep still has to send."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from audit import events

from ..models import Notification

log = logging.getLogger(__name__)

# Sent after the commit that queued a notification, with `notification_id`. `access.tasks`
# (above the services: its tasks call them) connects the receiver that queues its delivery.
notification_ready = Signal()


def notify(
    *, recipient=None, address: str = "", kind: str, subject: str, body: str, key: str
) -> Notification | None:
    """Write an outbox row (once per key) and send it after commit; None if already queued.

    It goes to `recipient`'s e-mail, or, with no recipient, to `address` alone (a team
    invitation: whether the address has an account is never looked up)."""
    if recipient is not None and not recipient.email:
        return None
    if recipient is None and not address:
        return None
    notification, created = Notification.objects.get_or_create(
        dedupe_key=key[:200],
        defaults={
            "recipient": recipient,
            "address": "" if recipient is not None else address,
            "kind": kind,
            "subject": subject[:200],
            "body": body,
        },
    )
    if created:
        events.notification_queued(notification=notification)
        # robust: a broker outage must not fail the user's action; the outbox sweep sends it later.
        transaction.on_commit(
            lambda: notification_ready.send(sender=Notification, notification_id=notification.pk),
            robust=True,
        )
        return notification
    return None


def notify_committee(*, committee, kind: str, subject: str, body: str, key: str) -> None:
    """`notify` every member of the committee; each row's key is `key` and the member's id."""
    for membership in committee.memberships.select_related("user"):
        person = membership.user
        notify(recipient=person, kind=kind, subject=subject, body=body, key=f"{key}:{person.pk}")


@transaction.atomic
def notification_deliver(*, notification_id: int) -> bool:
    """Send one outbox e-mail; True when it left (or had left already). Trusted caller: the
    system (the outbox task), no actor."""
    notification = (
        Notification.objects.select_for_update(skip_locked=True).filter(pk=notification_id).first()
    )
    if notification is None or notification.sent_at is not None:
        return notification is not None
    try:
        send_mail(notification.subject, notification.body, None, [notification.to])
    except Exception as exc:  # any mail failure: keep the row, back off, try again later
        notification.attempts += 1
        notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
        notification.next_attempt_at = timezone.now() + timedelta(
            minutes=min(2**notification.attempts, 360)
        )
        notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        log.warning(
            "notification %s not sent (attempt %s): %s",
            notification.pk,
            notification.attempts,
            type(exc).__name__,
        )
        return False
    notification.sent_at = timezone.now()
    notification.attempts += 1
    notification.last_error = ""
    notification.save(update_fields=["sent_at", "attempts", "last_error"])
    return True


def notifications_due(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Notification.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
