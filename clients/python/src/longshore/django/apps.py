"""The ``longshore.django`` app: add it to ``INSTALLED_APPS`` for the system checks and the
management commands (the email backend and the task backend work without it)."""

from __future__ import annotations

from django.apps import AppConfig


class LongshoreConfig(AppConfig):
    name = "longshore.django"
    label = "longshore"
    verbose_name = "Longshore"

    def ready(self) -> None:
        from django.core import checks

        from longshore.django.checks import check_settings

        checks.register(check_settings, "longshore")
