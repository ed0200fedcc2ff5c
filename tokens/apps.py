from django.apps import AppConfig


class TokensConfig(AppConfig):
    """Signing keys, access tokens, GA4GH visas, revocation, introspection and OAuth clients."""

    name = "tokens"
    verbose_name = "Tokens"

    def ready(self) -> None:
        # Imported here: the receivers import models, which are loaded only once apps are ready.
        from . import receivers  # noqa: PLC0415 - receivers import models, loaded after this

        receivers.connect()
