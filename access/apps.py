from django.apps import AppConfig


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
