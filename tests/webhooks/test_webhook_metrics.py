"""The webhook outbox in `/metrics` (docs/operations.md): pending deliveries by event type,
those retrying, the given-up ones, and the age of the oldest pending one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.access_world import approve_part
from tests.test_metrics import scrape, value
from webhooks.choices import DeliveryStatus
from webhooks.models import WebhookDelivery

from .conftest import subscribe

pytestmark = pytest.mark.django_db


def test_the_outbox_of_webhooks_is_in_the_metrics(submitted, dataset, chair, settings):
    settings.DEBUG = True  # a plain-HTTP endpoint on loopback, as in development
    # Nothing listens there: every delivery stays pending after its first failed attempt.
    subscribe("http://127.0.0.1:9/hook", events=["grant.created", "request.decided"])
    approve_part(submitted, dataset, chair)
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
    grants = pending.filter(event_type="grant.created").count()
    assert grants == 2 and pending.filter(event_type="request.decided").count() == 1
    # One delivery of the decision given up, and an old pending grant delivery.
    decided = pending.get(event_type="request.decided")
    decided.status = DeliveryStatus.FAILED
    decided.save(update_fields=["status"])
    WebhookDelivery.objects.filter(pk=pending.filter(event_type="grant.created").first().pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    m = scrape()
    assert value(m, "tessera_webhook_deliveries", event="grant.created", state="pending") == grants
    assert value(m, "tessera_webhook_deliveries", event="request.decided", state="failed") == 1
    assert value(m, "tessera_webhook_deliveries", event="request.decided", state="pending") == 0
    retrying = pending.filter(event_type="grant.created", attempts__gt=0).count()
    assert value(m, "tessera_webhook_deliveries_retrying", event="grant.created") == retrying
    assert 7000 < value(m, "tessera_webhook_oldest_pending_age_seconds") < 7300
    # Labels are event types and states only: never a subscription's address.
    for family in m.values():
        for sample in family.samples:
            assert "127.0.0.1" not in str(sample.labels)
