from django.apps import AppConfig

from core.health import register_readiness_check
from core.metrics import register_collector


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        # The services and tasks import models, which load only after the app registry is built.
        from .services import notifications as notification_services  # noqa: PLC0415 - see above
        from .tasks import notification_enqueue  # noqa: PLC0415 - see above

        notification_services.notification_ready.connect(
            notification_enqueue, dispatch_uid="access.tasks.notification_enqueue"
        )

        # The catalogue (governance, a layer below) shows a person's holdings and drafts.
        from governance.cart import register_catalogue_cart  # noqa: PLC0415 - see above

        from .portal.cart import catalogue_cart  # noqa: PLC0415 - see above

        register_catalogue_cart(catalogue_cart)

        # /metrics and /readyz (core) read this app's figures through what it registers here.
        from .metrics import AccessCollector, outbox_problem  # noqa: PLC0415 - they import models

        register_collector("access", AccessCollector())
        register_readiness_check("outbox", outbox_problem)
