"""A slow endpoint does not hold up a decision (real commits, a real receiver that holds its
request): the decision is committed while the receiver still holds the webhook it announced, and
a second decision meanwhile commits and returns, its webhook queued behind the first."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from access.models import Decision, Grant
from tests.access_world import approve_part, reference_data_restore
from webhooks.choices import DeliveryStatus
from webhooks.models import WebhookDelivery

from .conftest import subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _reference_data():
    reference_data_restore()  # what a transactional flush removed


def wait_for(found, what: str, limit: float = 60.0):
    """Poll until `found()` is truthy; the limit only stops a broken test from hanging."""
    deadline = time.monotonic() + limit
    while not (result := found()):
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.02)
    return result


def test_a_decision_commits_while_the_receiver_holds_its_webhook(
    receiver, submitted, chair, other_chair, dataset, other_dataset
):
    receiver.mode("block")
    receiver.start()
    subscribe(receiver.url, events=["request.decided"])
    errors: list[BaseException] = []

    def decide() -> None:
        try:
            approve_part(submitted, dataset, chair)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    deciding = threading.Thread(target=decide)
    deciding.start()
    try:
        wait_for(receiver.received, "the receiver got the first webhook")
        # The receiver holds the request, and the decision it announces is committed: this
        # thread's own connection sees the decision and its grants.
        assert deciding.is_alive()
        assert Decision.objects.filter(review__request=submitted).count() == 1
        assert Grant.objects.filter(request=submitted).count() == 2
        # A second decision meanwhile commits and returns at once: its webhook waits in line.
        approve_part(submitted, other_dataset, other_chair)
        assert deciding.is_alive()
        assert Decision.objects.filter(review__request=submitted).count() == 2
        assert len(receiver.received()) == 1
        assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2
    finally:
        receiver.mode("ok")
        deciding.join(60)
    assert not errors
    # The first sender, done with the first, sent the second too, in order.
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.status for d in deliveries] == [DeliveryStatus.DELIVERED] * 2
    ids = [r["headers"]["webhook-id"] for r in receiver.received()]
    assert ids == [d.webhook_id for d in deliveries]


def test_an_endpoint_that_is_down_never_fails_a_decision(receiver, submitted, chair, dataset):
    subscribe(receiver.url, events=["request.decided", "grant.created"])  # nobody listens
    approve_part(submitted, dataset, chair)
    assert Decision.objects.filter(review__request=submitted).count() == 1
    head = WebhookDelivery.objects.order_by("pk").first()
    assert head.status == DeliveryStatus.PENDING and head.attempts == 1
    assert head.last_error
