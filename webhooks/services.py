"""Subscriptions (every change a ledger event) and the outbox: deliveries queued in the
transaction of the change they announce, sent after commit, in order per subscription, retried
with exponential backoff for `TESSERA_WEBHOOK_RETRY_HOURS`.

Sending holds no transaction and no row lock while it waits for an endpoint: a sender takes the
subscription's lease with a conditional UPDATE, sends the head of its queue, records the outcome
in its own short transaction, and goes on. A decision that queues a delivery meanwhile only
inserts a row (its foreign key's KEY SHARE lock does not conflict with the lease's UPDATE of a
non-key column), so a slow or dead endpoint never holds up a decision."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit import events as ledger
from audit.choices import EventType
from core.exceptions import Forbidden, Invalid
from core.logs import url_without_secrets

from . import payloads, policy, signing
from .choices import DeliveryStatus, WebhookEvent
from .models import WebhookDelivery, WebhookSubscription

CONNECT_TIMEOUT_SECONDS = 3


# --- subscriptions (superusers in the admin, or `manage.py webhook_subscribe`) ---------------
def _require_admin(actor) -> None:
    """A superuser, or the system (actor None: the management command, a trusted caller)."""
    if actor is not None and not actor.is_superuser:
        raise Forbidden("Only an administrator may manage webhook subscriptions.")


def subscription_check(*, url: str, events_: Iterable[str], secret: str | None) -> list[str]:
    """The one check of an endpoint, its events and a secret (services, admin form, command):
    the chosen events, sorted, or `Invalid` naming each field's problem."""
    errors: dict[str, str] = {}
    problem = policy.url_problem(
        url, debug=settings.DEBUG, allowed_hosts=settings.TESSERA_WEBHOOK_ALLOWED_HOSTS
    )
    if problem:
        errors["url"] = problem
    chosen = sorted(set(events_))
    unknown = [e for e in chosen if e not in WebhookEvent.values]
    if not chosen or unknown:
        errors["events"] = f"Choose from: {', '.join(WebhookEvent.values)}."
    if secret is not None:
        problem = signing.secret_problem(secret)
        if problem:
            errors["secret"] = problem
    if errors:
        raise Invalid(errors)
    return chosen


@transaction.atomic
def subscription_create(
    *,
    url: str,
    events: Iterable[str],
    actor,
    secret: str | None = None,
    description: str = "",
    active: bool = True,
) -> tuple[WebhookSubscription, str]:
    """Subscribe an endpoint. Without `secret` one is generated. Returns the subscription and
    its secret, which the caller shows once (it is never shown again)."""
    _require_admin(actor)
    secret = secret.strip() if secret else None
    chosen = subscription_check(url=url, events_=events, secret=secret)
    secret = secret or signing.secret_new()
    subscription = WebhookSubscription.objects.create(
        url=url,
        events=chosen,
        secret=secret,
        description=description.strip(),
        active=active,
        created_by=actor,
    )
    ledger.webhook_subscribed(subscription=subscription, actor=actor)
    return subscription, secret


@transaction.atomic
def subscription_update(
    *,
    subscription: WebhookSubscription,
    actor,
    url: str | None = None,
    events: Iterable[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
    secret: str | None = None,
) -> WebhookSubscription:
    """Change an endpoint, its events, whether it is active, or its secret (None keeps each).
    Deliveries already queued keep their body; each attempt is signed with the current secret."""
    _require_admin(actor)
    # FOR NO KEY UPDATE: a decision queueing a delivery meanwhile (its foreign key's KEY SHARE
    # lock) does not wait for this change.
    subscription = WebhookSubscription.objects.select_for_update(no_key=True).get(
        pk=subscription.pk
    )
    secret = secret.strip() if secret else None
    chosen = subscription_check(
        url=subscription.url if url is None else url,
        events_=subscription.events if events is None else events,
        secret=secret,
    )
    wanted: dict[str, Any] = {
        "url": subscription.url if url is None else url,
        "events": chosen,
        "active": subscription.active if active is None else active,
        "description": subscription.description if description is None else description.strip(),
    }
    changes = {
        name: [getattr(subscription, name), value]
        for name, value in wanted.items()
        if getattr(subscription, name) != value
    }
    secret_changed = secret is not None and secret != subscription.secret
    if not changes and not secret_changed:
        return subscription
    for name, (_old, new) in changes.items():
        setattr(subscription, name, new)
    if secret_changed:
        subscription.secret = secret
    subscription.save(update_fields=[*changes, *(["secret"] if secret_changed else [])])
    ledger.webhook_subscription_changed(
        subscription=subscription, actor=actor, changes=changes, secret_changed=secret_changed
    )
    return subscription


@transaction.atomic
def deliveries_retry(*, deliveries: Iterable[WebhookDelivery], actor) -> list[int]:
    """The admin's "retry now": the chosen deliveries not yet delivered are due at once; a
    given-up one is pending again for one more attempt (past its retry window, a failure gives
    it up again at once). One ledger event per subscription. Returns the subscriptions to send
    for after commit. Order is kept among pending deliveries, not across a give-up: a given-up
    delivery retried goes out when it reaches the head of its queue (by id), before those
    queued after it that are still pending."""
    _require_admin(actor)
    now = timezone.now()
    rows = list(
        WebhookDelivery.objects.select_for_update(of=("self",))
        .filter(pk__in=[d.pk for d in deliveries])
        .exclude(status=DeliveryStatus.DELIVERED)
        .select_related("subscription")
        .order_by("pk")
    )
    by_subscription: dict[int, list[WebhookDelivery]] = {}
    for row in rows:
        by_subscription.setdefault(row.subscription_id, []).append(row)
    for retried in by_subscription.values():
        given_up = [r.pk for r in retried if r.status == DeliveryStatus.FAILED]
        WebhookDelivery.objects.filter(pk__in=given_up).update(status=DeliveryStatus.PENDING)
        WebhookDelivery.objects.filter(pk__in=[r.pk for r in retried]).update(next_attempt_at=now)
        ledger.webhook_retried(
            subscription=retried[0].subscription,
            actor=actor,
            webhook_ids=[r.webhook_id for r in retried],
        )
    return sorted(by_subscription)


# --- the outbox -------------------------------------------------------------------------------
def deliveries_enqueue(*, event_type: EventType, obj, ledger_payload: dict) -> list[int]:
    """Queue the webhook that follows a ledger event, one row per active subscription that wants
    it, in the caller's transaction. Trusted caller: the ledger's signal (`webhooks.receivers`).
    Returns the subscriptions to send for after commit."""
    event, build = payloads.SOURCES[event_type]
    subscriptions = [
        s for s in WebhookSubscription.objects.filter(active=True) if s.receives(event)
    ]
    if not subscriptions:
        return []
    now = timezone.now()
    body = payloads.body_for(event=event, data=build(obj, ledger_payload), at=now)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=subscription,
            event_type=event,
            webhook_id=signing.webhook_id_new(),
            body=body,
            created_at=now,
            next_attempt_at=now,
        )
        for subscription in subscriptions
    )
    return [s.pk for s in subscriptions]


def deliveries_send_due(*, now: datetime | None = None) -> int:
    """The sweep: send for every subscription with a delivery due (retries, and whatever was
    queued while the broker or a worker was down). Trusted caller: Celery beat. `now` decides
    what is due. Returns how many were delivered."""
    return sum(
        subscription_deliver(subscription_id=pk, now=now) for pk in _subscriptions_due(now=now)
    )


def _subscriptions_due(*, now: datetime | None) -> list[int]:
    now = now or timezone.now()
    return sorted(
        set(
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                subscription__active=True,
            ).values_list("subscription_id", flat=True)
        )
    )


def _lease_seconds() -> float:
    return CONNECT_TIMEOUT_SECONDS + settings.TESSERA_WEBHOOK_TIMEOUT + 30


def _lease_take(subscription_id: int) -> datetime | None:
    """The subscription's lease (its expiry, which names it), or None while another sender
    holds one. The conditional UPDATE's row count says who won."""
    now = timezone.now()
    until = now + timedelta(seconds=_lease_seconds())
    taken = (
        WebhookSubscription.objects.filter(pk=subscription_id, active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=until)
    )
    return until if taken else None


def _lease_renew(
    subscription_id: int, lease: datetime
) -> tuple[WebhookSubscription | None, datetime]:
    """Extend our lease: the subscription as it now is and the new lease, or None once it was
    switched off or the lease was lost (it ran out and another sender took over)."""
    until = timezone.now() + timedelta(seconds=_lease_seconds())
    kept = WebhookSubscription.objects.filter(pk=subscription_id, lease_until=lease).update(
        lease_until=until
    )
    if not kept:
        return None, lease
    return WebhookSubscription.objects.filter(pk=subscription_id, active=True).first(), until


def _lease_release(subscription_id: int, lease: datetime) -> None:
    # Only our own: a lease that ran out may be another sender's by now.
    WebhookSubscription.objects.filter(pk=subscription_id, lease_until=lease).update(
        lease_until=None
    )


def _queue(subscription_id: int, *, limit: int):
    """The subscription's pending deliveries, oldest first: the head and those behind it."""
    return WebhookDelivery.objects.filter(
        subscription_id=subscription_id, status=DeliveryStatus.PENDING
    ).order_by("pk")[:limit]


# Deliveries read per query while sending; the lease is renewed (and the subscription read
# again: switched off, a new secret) when a third of it has passed.
BATCH = 100


def subscription_deliver(*, subscription_id: int, now: datetime | None = None) -> int:
    """Send a subscription's due deliveries, oldest first; stop at the first that fails (the
    later ones wait for it). Trusted caller: the Celery task. Returns how many were delivered.
    `now` decides what is due (the sweep's clock); signatures always carry the real time."""
    delivered = 0
    while (lease := _lease_take(subscription_id)) is not None:
        held = [lease]
        try:
            with _commits_without_flush():
                delivered += _send_queue(subscription_id, held, now=now)
        finally:
            _lease_release(subscription_id, held[0])
        # A delivery committed while we held the lease would otherwise wait for the sweep.
        head = _queue(subscription_id, limit=1).first()
        if head is None or head.next_attempt_at > (now or timezone.now()):
            break
    return delivered


def _send_queue(subscription_id: int, held: list[datetime], *, now: datetime | None) -> int:
    """Send the queue while we hold the lease (`held[0]`, updated as it is renewed)."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, active=True).first()
    delivered = 0
    renewed = time.monotonic()
    while subscription is not None:
        batch = list(_queue(subscription_id, limit=BATCH))
        if not batch:
            return delivered
        for head in batch:
            if head.next_attempt_at > (now or timezone.now()):
                return delivered
            outcome = _attempt(head, subscription, now=now)
            if outcome == DeliveryStatus.PENDING:
                return delivered  # failed: it holds the queue until its retry is due
            # Delivered, or given up: a given-up delivery no longer holds the queue.
            delivered += outcome == DeliveryStatus.DELIVERED
            if time.monotonic() - renewed > _lease_seconds() / 3:
                subscription, held[0] = _lease_renew(subscription_id, held[0])
                renewed = time.monotonic()
                if subscription is None:
                    return delivered
    return delivered


def _http() -> requests.Session:
    """One session per process (kept-alive connections to the endpoints)."""
    global _session, _session_pid  # one per process: a forked worker opens its own
    if _session is None or _session_pid != os.getpid():
        _session, _session_pid = requests.Session(), os.getpid()
    return _session


_session: requests.Session | None = None
_session_pid: int | None = None


def _attempt(delivery: WebhookDelivery, subscription: WebhookSubscription, *, now) -> str:
    """POST one delivery and record the outcome, its new status. Never raises for the
    endpoint's failures."""
    sent_at = timezone.now()
    body = delivery.body.encode()
    status_code: int | None = None
    # Checked again before each send: a name may resolve elsewhere since it was subscribed.
    problem = policy.url_problem(
        subscription.url,
        debug=settings.DEBUG,
        allowed_hosts=settings.TESSERA_WEBHOOK_ALLOWED_HOSTS,
    )
    if problem:
        error = problem
    else:
        headers = signing.signed_headers(
            secret=subscription.secret,
            webhook_id=delivery.webhook_id,
            timestamp=sent_at,
            body=body,
        )
        try:
            response = _http().post(
                subscription.url,
                data=body,
                headers=headers,
                timeout=(CONNECT_TIMEOUT_SECONDS, settings.TESSERA_WEBHOOK_TIMEOUT),
                allow_redirects=False,
            )
            status_code = response.status_code
            response.close()
            error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
        except requests.RequestException as exc:
            error = _failure_text(exc, subscription.url)
    finished = timezone.now()
    common: dict[str, Any] = {
        "attempts": F("attempts") + 1,
        "last_attempt_at": finished,
        "last_status_code": status_code,
        "last_error": error,
    }
    if not error:
        outcome = DeliveryStatus.DELIVERED
        common.update(status=outcome, delivered_at=finished)
    else:
        retry = policy.retry_at(
            created_at=delivery.created_at,
            attempts=delivery.attempts + 1,
            now=now or finished,
            hours=settings.TESSERA_WEBHOOK_RETRY_HOURS,
        )
        outcome = DeliveryStatus.FAILED if retry is None else DeliveryStatus.PENDING
        common.update(status=outcome, **({"next_attempt_at": retry} if retry else {}))
    _outcome_record(delivery.pk, common)
    return outcome


def _failure_text(exc: requests.RequestException, url: str) -> str:
    """The failure as the delivery log keeps it. requests quotes the URL it sent ("Max retries
    exceeded with url: /in?token=…"), as given or as it re-quoted it: each with its secrets
    blanked (`url_without_secrets`)."""
    text = f"{type(exc).__name__}: {exc}"
    sent = getattr(exc.request, "url", None) or url
    for full in {url, sent}:
        safe = url_without_secrets(full)
        text = text.replace(full, safe).replace(_path_and_query(full), _path_and_query(safe))
    return text[:300]


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _outcome_record(delivery_id: int, fields: dict[str, Any]) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(**fields)


@contextmanager
def _commits_without_flush():
    """While a sender works through a queue, its commits do not wait for the disk
    (PostgreSQL's `synchronous_commit = off`, for this session until the queue is done; only
    outside a transaction, so nothing else shares it). A crash within the next few hundred
    milliseconds may lose an outcome: the delivery is then still pending and is sent again
    with the same `webhook-id`, which at-least-once delivery allows. Waiting for the WAL
    flush on every delivery cost most of the throughput (bench/webhook_delivery.py,
    PostgreSQL, 1000 deliveries, a loaded 2-core machine: 226/s against 629/s for a plain POST
    loop, 0.36; without the flush 288/s and 412/s against 544/s and 387/s, 0.53 and 1.07; one
    autocommit UPDATE took 3.8 ms synchronous, 0.13 ms without)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
