"""Entitlement webhooks against a real receiver process (issue 15, part 4): every event type
arrives signed as Standard Webhooks says and verifies with the `standardwebhooks` package;
payloads name people by pseudonym only; an endpoint that is down loses nothing, gets the
deliveries in order when it is back, and sees a duplicate only under the same `webhook-id`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from access.models import Grant
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import renewals as renewal_services
from audit.actors import pseudonym_for
from governance import services as gov
from tests.access_world import approve_part
from tokens import keyring
from webhooks import services
from webhooks.choices import DeliveryStatus, WebhookEvent
from webhooks.models import WebhookDelivery, WebhookSubscription

from .conftest import subscribe

pytestmark = pytest.mark.django_db


def verified(receiver, secret) -> list[dict]:
    """Every request the receiver got, its signature checked (raises if one does not verify)."""
    hook = Webhook(secret)
    return [hook.verify(r["body"], r["headers"]) for r in receiver.received()]


def later(**delta):
    return timezone.now() + timedelta(**delta)


def test_every_event_type_arrives_signed_and_verifies(
    receiver, django_capture_on_commit_callbacks, submitted, researcher, teammate, chair,
    dataset, steward,
):  # fmt: skip
    receiver.start()
    _subscription, secret = subscribe(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        approve_part(submitted, dataset, chair, days=30)  # request.decided, grant.created x2
    with django_capture_on_commit_callbacks(execute=True):
        renewal = renewal_services.renewal_open(
            access_request=submitted, actor=researcher, months=6, progress_report="Two papers."
        )
        decision_services.decision_record(
            review=renewal.reviews.get(),
            actor=chair,
            outcome="approve",
            end_date=decision_services.latest_end_date(renewal),
        )  # request.decided, grant.extended x2
    teammates = Grant.objects.get(user=teammate)
    with django_capture_on_commit_callbacks(execute=True):
        grant_services.grant_revoke(grant=teammates, actor=chair, reason="Left the project.")
    with django_capture_on_commit_callbacks(execute=True):
        # The researcher's grant, an hour after its (extended) end.
        ends = Grant.objects.get(user=researcher).valid_until
        grant_services.grants_expire(now=ends + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        gov.dataset_retire(dataset=dataset, actor=steward, reason="Consent withdrawn.")
    with django_capture_on_commit_callbacks(execute=True):
        keyring.keys_rotate(actor=None, force=True)

    messages = verified(receiver, secret)
    assert {m["type"] for m in messages} == set(WebhookEvent.values)
    assert WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).count() == 0
    assert len(messages) == WebhookDelivery.objects.count()
    # Identifiers, accessions, pseudonyms and times; never a name, a username or an address.
    text = "\n".join(r["body"] for r in receiver.received())
    for person in (researcher, teammate, chair, steward):
        for personal in (person.username, person.email, person.first_name, person.last_name):
            if personal:
                assert personal not in text
    created = [m["data"] for m in messages if m["type"] == "grant.created"]
    assert {d["subject"] for d in created} == {pseudonym_for(researcher), pseudonym_for(teammate)}
    assert {d["dataset"] for d in created} == {dataset.accession}
    revoked = next(m["data"] for m in messages if m["type"] == "grant.revoked")
    assert revoked["grant"] == teammates.pk and revoked["revoked_at"]
    extended = [m["data"] for m in messages if m["type"] == "grant.extended"]
    assert all(d["valid_until"] > d["previous_valid_until"] for d in extended)
    decided = [m["data"] for m in messages if m["type"] == "request.decided"]
    assert [d["outcome"] for d in decided] == ["approve", "approve"]
    assert decided[0]["request"] == submitted.reference
    retired = next(m["data"] for m in messages if m["type"] == "dataset.retired")
    assert retired["dataset"] == dataset.accession
    rotated = next(m["data"] for m in messages if m["type"] == "key.rotated")
    assert rotated["activated"]
    # Each request's headers are the delivery's: one id per delivery, kept on every attempt.
    ids = [r["headers"]["webhook-id"] for r in receiver.received()]
    assert sorted(ids) == sorted(WebhookDelivery.objects.values_list("webhook_id", flat=True))


def test_a_receiver_down_then_up_loses_nothing_and_gets_them_in_order(
    receiver, django_capture_on_commit_callbacks, submitted, teammate, chair, dataset
):
    subscription, secret = subscribe(receiver.url)  # nobody listens on the port yet
    with django_capture_on_commit_callbacks(execute=True):
        approve_part(submitted, dataset, chair)
    with django_capture_on_commit_callbacks(execute=True):
        grant_services.grant_revoke(
            grant=Grant.objects.get(user=teammate), actor=chair, reason="Left the project."
        )
    with django_capture_on_commit_callbacks(execute=True):
        keyring.keys_rotate(actor=None, force=True)
    queued = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.event_type for d in queued] == [
        "request.decided", "grant.created", "grant.created", "grant.revoked", "key.rotated"
    ]  # fmt: skip
    # The first failed and waits for its retry; the later ones wait behind it, untried.
    assert [d.attempts for d in queued] == [1, 0, 0, 0, 0]
    assert all(d.status == DeliveryStatus.PENDING for d in queued)
    assert "ConnectionError" in queued[0].last_error

    # Back, but failing after it read the first request: that one must come again, same id.
    receiver.mode("fail")
    receiver.start()
    assert services.deliveries_send_due(now=later(minutes=5)) == 0
    receiver.mode("ok")
    assert services.deliveries_send_due(now=later(minutes=30)) == len(queued)

    received = receiver.received()
    ids = [r["headers"]["webhook-id"] for r in received]
    expected = [d.webhook_id for d in queued]
    assert ids == [expected[0], *expected]  # in order; the one duplicate has the same id
    assert [m["type"] for m in verified(receiver, secret)][1:] == [d.event_type for d in queued]
    assert set(
        WebhookDelivery.objects.filter(subscription=subscription).values_list("status", flat=True)
    ) == {DeliveryStatus.DELIVERED}


def test_a_delivery_is_given_up_after_the_retry_window_and_retry_now_sends_it(
    receiver, django_capture_on_commit_callbacks, admin_user, chair, submitted, dataset
):
    subscription, secret = subscribe(receiver.url, events=["request.decided"])
    with django_capture_on_commit_callbacks(execute=True):
        approve_part(submitted, dataset, chair)
    delivery = WebhookDelivery.objects.get()
    services.deliveries_send_due(now=later(hours=25))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert services.deliveries_send_due(now=later(hours=26)) == 0  # nothing due any more

    receiver.start()
    with django_capture_on_commit_callbacks(execute=True):
        retried = services.deliveries_retry(deliveries=[delivery], actor=admin_user)
    assert retried == [subscription.pk]
    services.deliveries_send_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [m["type"] for m in verified(receiver, secret)] == ["request.decided"]


def test_a_given_up_delivery_no_longer_holds_back_the_ones_after_it(
    receiver, django_capture_on_commit_callbacks, submitted, chair, dataset
):
    subscribe(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        approve_part(submitted, dataset, chair)
    first = WebhookDelivery.objects.order_by("pk").first()
    WebhookDelivery.objects.filter(pk=first.pk).update(created_at=later(hours=-25))
    receiver.mode("fail")
    receiver.start()
    services.deliveries_send_due(now=later(minutes=5))
    receiver.mode("ok")
    services.deliveries_send_due(now=later(minutes=10))
    first.refresh_from_db()
    assert first.status == DeliveryStatus.FAILED
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 2


def test_only_subscribed_events_and_active_subscriptions_are_queued(
    receiver, django_capture_on_commit_callbacks, submitted, chair, dataset
):
    receiver.start()
    subscribe(receiver.url, events=["grant.revoked"])
    paused, _ = subscribe(receiver.url, events=["grant.created"])
    services.subscription_update(subscription=paused, actor=None, active=False)
    with django_capture_on_commit_callbacks(execute=True):
        approve_part(submitted, dataset, chair)
    assert WebhookDelivery.objects.count() == 0
    assert receiver.received() == []


def test_a_change_that_rolls_back_sends_nothing(receiver, submitted, chair, dataset):
    receiver.start()
    subscribe(receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        approve_part(submitted, dataset, chair)
        raise RuntimeError("rolled back")
    assert WebhookDelivery.objects.count() == 0
    assert receiver.received() == []


def test_one_sender_at_a_time_and_a_lease_that_ran_out_is_taken_over(
    receiver, django_capture_on_commit_callbacks, submitted, chair, dataset
):
    receiver.start()
    subscription, secret = subscribe(receiver.url, events=["request.decided"])
    # Another sender holds the subscription's lease: the decision's webhook waits for it.
    held = later(minutes=1)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(lease_until=held)
    with django_capture_on_commit_callbacks(execute=True):
        approve_part(submitted, dataset, chair)
    assert services.subscription_deliver(subscription_id=subscription.pk) == 0
    assert receiver.received() == []
    # That sender died: once its lease has run out, the next one takes over and sends.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(lease_until=later(seconds=-1))
    assert services.subscription_deliver(subscription_id=subscription.pk) == 1
    assert [m["type"] for m in verified(receiver, secret)] == ["request.decided"]
    subscription.refresh_from_db()
    assert subscription.lease_until is None
