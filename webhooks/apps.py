from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Entitlement webhooks: subscribed endpoints told of grants, decisions, retirements and key
    rotations, from a transactional outbox, signed as Standard Webhooks says."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from . import receivers  # noqa: PLC0415 - receivers import models, loaded after this

        receivers.connect()
