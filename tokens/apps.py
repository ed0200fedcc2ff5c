from django.apps import AppConfig


class TokensConfig(AppConfig):
    """Signing keys, access tokens, GA4GH visas, revocation, introspection and OAuth clients."""

    name = "tokens"
    verbose_name = "Tokens"
