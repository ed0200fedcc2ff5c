from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance catalogue"

    def ready(self) -> None:
        from . import auditing  # noqa: F401, PLC0415 - registers models with auditlog once they load
