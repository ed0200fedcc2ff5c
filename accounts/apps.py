from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People's accounts: suspension and reinstatement, the User admin (and, next, identity)."""

    name = "accounts"
    verbose_name = "Accounts"
