from __future__ import annotations

from django.conf import settings
from django.db import models

from core.logs import url_without_secrets

from .choices import DeliveryStatus, WebhookEvent


class WebhookSubscription(models.Model):
    """An endpoint told of entitlement changes, each request signed with its own secret."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="The event types this endpoint receives.")
    # The Standard Webhooks secret as given to the receiver ("whsec_" + base64). It must stay
    # readable to sign, so it is stored as is; the admin never shows it after it was set.
    secret = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # One sender at a time per subscription, so deliveries leave in order: a sender takes the
    # lease with a conditional UPDATE and holds no transaction while it waits for the endpoint.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        # Also the admin's history (`object_repr`) and the delivery log's column: no token.
        return self.description or url_without_secrets(self.url)

    def receives(self, event: str) -> bool:
        return self.active and event in self.events


class WebhookDelivery(models.Model):
    """One event for one subscription: the transactional outbox row and its delivery log."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.PROTECT, related_name="deliveries"
    )
    event_type = models.CharField(max_length=32, choices=WebhookEvent.choices)
    # The `webhook-id` header: the same on every attempt, so a receiver drops duplicates by it.
    webhook_id = models.CharField(max_length=64, unique=True)
    # The exact body sent and signed (JSON text), written once in the change's transaction.
    body = models.TextField()
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # A subscription's oldest pending delivery (the head of its queue), and the sweep.
            models.Index(fields=["subscription", "status", "id"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"
