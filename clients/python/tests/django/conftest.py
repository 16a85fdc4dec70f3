"""The Django suite: pytest-django with ``lsdj_settings``, the client suite's ``longshore`` and
``smtp_sink`` session fixtures, and the app served by pytest-django's ``live_server`` so
Longshore calls back into it (``longshore-api dev`` allows 127.0.0.1 and localhost)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsdj_settings")
# The suite sets LONGSHORE itself: nothing from the environment leaks in.
for _name in (
    "API_URL",
    "API_KEY",
    "TASK_SECRET",
    "EVENT_SECRET",
    "TIMEOUT",
    "SEND_DEFAULTS",
    "CALLBACK_URL",
    "WEBHOOK_TOLERANCE",
    "IGNORE_UNSUPPORTED_FEATURES",
):
    os.environ.pop(f"LONGSHORE_{_name}", None)

import django.conf  # noqa: E402
from lsdj_helpers import Recorder  # noqa: E402

# Reading a setting configures them, so pytest-django's pytest_configure sets Django up (it
# only does when the settings are configured already; the settings module is named here, not
# in the ini, since the client suite does not use Django).
django.conf.settings.DATABASES  # noqa: B018


@dataclass
class DjangoStack:
    api_url: str
    api_key: str
    callback_url: str
    task_secret: str
    event_secret: str
    endpoint_id: str
    signals: dict[str, Recorder] = field(default_factory=dict)


@pytest.fixture(scope="session")
def django_stack(longshore: Any, live_server: Any) -> Iterator[DjangoStack]:
    """Longshore knows this app: a task signing secret, an event endpoint at the live server,
    and the ``LONGSHORE`` setting pointing at both."""
    from django.conf import settings

    from longshore import Client
    from longshore.django import signals
    from longshore.django._client import close_clients

    with Client(longshore.api_url, longshore.api_key) as c:
        task_secret = c.task_signing_secret.create()["secret"]
        callback = live_server.url + "/longshore/"
        endpoint = c.event_endpoints.create({"url": callback + "events/"})
    settings.LONGSHORE = {
        "API_URL": longshore.api_url,
        "API_KEY": longshore.api_key,
        "TASK_SECRET": task_secret,
        "EVENT_SECRET": endpoint["secret"],
        "CALLBACK_URL": callback,
        "TIMEOUT": 15,
    }
    stack = DjangoStack(
        api_url=longshore.api_url,
        api_key=longshore.api_key,
        callback_url=callback,
        task_secret=task_secret,
        event_secret=endpoint["secret"],
        endpoint_id=endpoint["id"],
    )
    for name in ("tracking", "event_received", "document_event", "task_event"):
        recorder = Recorder()
        getattr(signals, name).connect(recorder, weak=False, dispatch_uid=f"test-{name}")
        stack.signals[name] = recorder
    try:
        from anymail.signals import tracking as anymail_tracking
    except ImportError:
        pass
    else:
        recorder = Recorder()
        anymail_tracking.connect(recorder, weak=False, dispatch_uid="test-anymail")
        stack.signals["anymail"] = recorder
    yield stack
    close_clients()


@pytest.fixture
def api(django_stack: DjangoStack) -> Iterator[Any]:
    """A plain client for the same tenant (to look at what the Django side did)."""
    from longshore import Client

    with Client(django_stack.api_url, django_stack.api_key) as c:
        yield c


@pytest.fixture
def longshore_mail(settings: Any, django_stack: DjangoStack) -> None:
    """Undo pytest-django's locmem email backend: mail goes through Longshore."""
    import django

    if django.VERSION >= (6, 1):
        settings.MAILERS = {"default": {"BACKEND": "longshore.django.mail.EmailBackend"}}
    else:
        settings.EMAIL_BACKEND = "longshore.django.mail.EmailBackend"
