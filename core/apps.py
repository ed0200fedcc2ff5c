from django.apps import AppConfig


class CoreConfig(AppConfig):
    """No models: the project's shared plumbing. Registers the deployment checks."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from . import checks  # noqa: F401, PLC0415 - registering the checks is importing them
