"""Webhook deliveries for `/metrics` (registered in `WebhooksConfig.ready()`): the outbox of
each event type, one aggregate query per scrape whatever the number of deliveries. Labels:
event types (a closed list) and states; never a subscription's URL."""

from __future__ import annotations

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .choices import DeliveryStatus, WebhookEvent
from .models import WebhookDelivery


class WebhooksCollector:
    def collect(self):
        rows = (
            WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED)
            .values("event_type", "status")
            .annotate(
                n=Count("pk"),
                retrying=Count("pk", filter=Q(attempts__gt=0)),
                oldest=Min("created_at"),
            )
        )
        waiting = GaugeMetricFamily(
            "tessera_webhook_deliveries",
            "Webhook deliveries not delivered: pending (waiting or being retried) or failed "
            "(given up after 24 hours; retried only by an administrator).",
            labels=["event", "state"],
        )
        retrying = GaugeMetricFamily(
            "tessera_webhook_deliveries_retrying",
            "Pending webhook deliveries that failed at least once.",
            labels=["event"],
        )
        oldest = GaugeMetricFamily(
            "tessera_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0 when none is pending).",
        )
        counts = {(e, s): 0 for e in WebhookEvent.values for s in ("pending", "failed")}
        failing = dict.fromkeys(WebhookEvent.values, 0)
        first = None
        for row in rows:
            counts[(row["event_type"], row["status"])] = row["n"]
            if row["status"] == DeliveryStatus.PENDING:
                failing[row["event_type"]] += row["retrying"]
                if first is None or row["oldest"] < first:
                    first = row["oldest"]
        for (event, state), n in sorted(counts.items()):
            waiting.add_metric([event, state], n)
        for event, n in sorted(failing.items()):
            retrying.add_metric([event], n)
        oldest.add_metric([], (timezone.now() - first).total_seconds() if first else 0.0)
        yield waiting
        yield retrying
        yield oldest
