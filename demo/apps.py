from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo world: `manage.py seed_demo` and its data. Nothing at runtime imports it."""

    name = "demo"
    verbose_name = "Demo"
