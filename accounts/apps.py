from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People's accounts: suspension and reinstatement, the User admin, sign-in with an
    identity provider (OpenID Connect) and the identities it vouches for."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported here: both import models, which are loaded only once apps are ready.
        from access import selectors as access_selectors  # noqa: PLC0415 - imports models
        from tokens import subjects  # noqa: PLC0415 - imports models, loaded after this

        from . import selectors  # noqa: PLC0415 - imports models, loaded after this

        # Visas name a person's subject at the identity provider (tokens/subjects.py).
        subjects.register_federated_subject(selectors.federated_subject)
        # "My invitations" lists only addresses the person owns for certain (access/selectors).
        access_selectors.register_verified_addresses(selectors.verified_addresses)
