from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit ledger"

    def ready(self) -> None:
        from . import capture, signals  # noqa: F401, PLC0415 - registers auditlog capture and login receivers once models load
