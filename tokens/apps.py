from django.apps import AppConfig

from core.health import register_readiness_check, register_readiness_warning
from core.metrics import register_collector


class TokensConfig(AppConfig):
    """Signing keys, access tokens, GA4GH visas, revocation, introspection and OAuth clients."""

    name = "tokens"
    verbose_name = "Tokens"

    def ready(self) -> None:
        # Imported here: the receivers import models, which are loaded only once apps are ready.
        from . import receivers  # noqa: PLC0415 - receivers import models, loaded after this

        receivers.connect()

        # /metrics and /readyz (core) read this app's figures through what it registers here.
        from .metrics import (  # noqa: PLC0415 - they import models
            TokensCollector,
            signing_key_overdue,
            signing_key_problem,
        )

        register_collector("tokens", TokensCollector())
        register_readiness_check("signing_key", signing_key_problem)
        register_readiness_warning("signing_key_age", signing_key_overdue)
