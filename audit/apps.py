from django.apps import AppConfig

from core.health import register_readiness_check
from core.metrics import register_collector


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit ledger"

    def ready(self) -> None:
        from . import capture, signals  # noqa: F401, PLC0415 - registers auditlog capture and login receivers once models load

        # /metrics and /readyz (core) read this app's figures through what it registers here.
        from .metrics import LedgerCollector, ledger_problem  # noqa: PLC0415 - they import models

        register_collector("audit", LedgerCollector())
        register_readiness_check("ledger", ledger_problem)
