from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        # Imported here, not at the top: the models must be loaded before the services and tasks.
        from .services import notifications as notification_services
        from .tasks import notification_enqueue

        notification_services.notification_ready.connect(
            notification_enqueue, dispatch_uid="access.tasks.notification_enqueue"
        )
