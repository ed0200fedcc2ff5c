from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Entitlement webhooks: subscribed endpoints told of grants, decisions, retirements and key
    rotations, from a transactional outbox, signed as Standard Webhooks says."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from core.metrics import register_collector  # noqa: PLC0415 - see below

        from . import receivers  # noqa: PLC0415 - receivers import models, loaded after this
        from .metrics import WebhooksCollector  # noqa: PLC0415 - it imports models

        receivers.connect()
        register_collector("webhooks", WebhooksCollector())
