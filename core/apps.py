from django.apps import AppConfig


class CoreConfig(AppConfig):
    """No models: the project's shared plumbing. Registers the deployment checks and the
    cache's readiness warning."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from . import checks  # noqa: F401, PLC0415 - registering the checks is importing them
        from .caching import cache_unreachable  # noqa: PLC0415 - reads the configured cache
        from .health import register_readiness_warning  # noqa: PLC0415

        register_readiness_warning("cache", cache_unreachable)
