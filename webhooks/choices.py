from django.db import models


class WebhookEvent(models.TextChoices):
    """The events an endpoint may subscribe to (docs/webhooks.md gives each payload)."""

    GRANT_CREATED = "grant.created", "A grant was created (an approval)"
    GRANT_EXTENDED = "grant.extended", "A grant was extended (an approved renewal)"
    GRANT_REVOKED = "grant.revoked", "A grant was revoked"
    GRANT_EXPIRED = "grant.expired", "A grant reached its end"
    REQUEST_DECIDED = "request.decided", "A committee decided on a request"
    DATASET_RETIRED = "dataset.retired", "A dataset was retired"
    KEY_ROTATED = "key.rotated", "The token signing keys changed (fetch the JWKS again)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Given up"
