from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run` and the tests (no tables). The top layer: it uses every
    app through its services and nothing imports it. Installed only when DEMO_DATA is on
    (deploy/local.py sets it for run and test), so a production image has no load_demo."""

    name = "demo"
    label = "demo"
    verbose_name = "演示数据"
