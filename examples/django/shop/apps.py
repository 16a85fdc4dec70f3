from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self) -> None:
        from shop import receivers  # noqa: F401 (connects the signal receivers)
