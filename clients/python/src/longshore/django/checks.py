"""System checks for the ``LONGSHORE`` setting (``manage.py check``, and every ``runserver``).

| id | what |
|---|---|
| ``longshore.E001`` | ``API_URL`` missing |
| ``longshore.E002`` | ``API_URL`` not an ``http(s)://host`` URL |
| ``longshore.E003`` | ``API_KEY`` missing |
| ``longshore.E004`` | ``API_KEY`` not an ``lsk_…`` key |
| ``longshore.E005`` | ``TASK_SECRET`` not ``whsec_`` + base64 (each of them, when a list) |
| ``longshore.E006`` | ``EVENT_SECRET`` likewise |
| ``longshore.E007`` | ``CALLBACK_URL`` not an ``http(s)://`` URL ending in ``/`` |
| ``longshore.E008`` | ``TIMEOUT`` not a positive number of seconds |
| ``longshore.E009`` | ``SEND_DEFAULTS`` not a dict of known message attributes |
| ``longshore.E010`` | ``LONGSHORE`` not a dict, or a name in it this package does not know |
| ``longshore.E011`` | a ``LongshoreBackend`` task backend without ``TASK_SECRET`` |
| ``longshore.E012`` | a ``LongshoreBackend`` task backend without ``CALLBACK_URL`` |
| ``longshore.E013`` | a ``LongshoreBackend``'s ``OPTIONS`` bad (named) |
| ``longshore.W001`` | no ``EVENT_SECRET``: the events view refuses every event |
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Warning

from longshore.django.conf import NAMES, get_settings, secrets_list

#: Message attributes ``SEND_DEFAULTS`` may set (anymail's names, plus Longshore's few).
SEND_DEFAULT_KEYS = frozenset(
    {
        "tags",
        "metadata",
        "track_opens",
        "track_clicks",
        "template_id",
        "merge_global_data",
        "send_at",
        "esp_extra",
        "from_email",
        "reply_to",
        "bcc",
        "cc",
    }
)

TASKS_BACKEND = "longshore.django.tasks.LongshoreBackend"


def _http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` is not a usable ``whsec_`` secret, or None."""
    if not secret.startswith("whsec_"):
        return "does not start with 'whsec_'"
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return "is not 'whsec_' followed by base64"
    if not key:
        return "has an empty key after 'whsec_'"
    return None


def longshore_task_backends() -> dict[str, dict[str, Any]]:
    """The ``TASKS`` entries that use Longshore's backend (or a subclass of it)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    found: dict[str, dict[str, Any]] = {}
    tasks = getattr(settings, "TASKS", None)
    if not isinstance(tasks, dict):
        return found
    for alias, params in tasks.items():
        backend = params.get("BACKEND") if isinstance(params, dict) else None
        if backend == TASKS_BACKEND:
            found[alias] = params
            continue
        if isinstance(backend, str) and backend.startswith("longshore."):
            try:
                from longshore.django.tasks import LongshoreBackend

                cls = import_string(backend)
                if isinstance(cls, type) and issubclass(cls, LongshoreBackend):
                    found[alias] = params
            except ImportError:
                continue
    return found


def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    from django.conf import settings

    errors: list[CheckMessage] = []
    given = getattr(settings, "LONGSHORE", None)
    if given is not None and not isinstance(given, dict):
        errors.append(
            Error(
                f"LONGSHORE must be a dict, not {type(given).__name__}.",
                hint="LONGSHORE = {'API_URL': …, 'API_KEY': …}",
                id="longshore.E010",
            )
        )
    elif isinstance(given, dict):
        for name in sorted(set(given) - set(NAMES)):
            errors.append(
                Error(
                    f"LONGSHORE[{name!r}] is not a Longshore setting.",
                    hint="Known: " + ", ".join(NAMES) + ".",
                    id="longshore.E010",
                )
            )

    s = get_settings()
    raw = s.raw

    if "API_URL" not in raw:
        errors.append(
            Error(
                "LONGSHORE['API_URL'] is missing (nor is LONGSHORE_API_URL set).",
                hint="The base URL of the Longshore API, e.g. 'http://127.0.0.1:8080'.",
                id="longshore.E001",
            )
        )
    elif not _http_url(s.api_url):
        errors.append(
            Error(
                f"{s.where('API_URL')} is not an http(s) URL: {raw['API_URL']!r}.",
                hint="e.g. 'https://longshore.example.com'.",
                id="longshore.E002",
            )
        )

    if "API_KEY" not in raw:
        errors.append(
            Error(
                "LONGSHORE['API_KEY'] is missing (nor is LONGSHORE_API_KEY set).",
                hint="An API key 'lsk_…' (longshore-api keys create --tenant ten_…).",
                id="longshore.E003",
            )
        )
    elif not s.api_key.startswith("lsk_"):
        errors.append(
            Error(
                f"{s.where('API_KEY')} is not a Longshore API key (they start with 'lsk_').",
                id="longshore.E004",
            )
        )

    for name, ident in (("TASK_SECRET", "longshore.E005"), ("EVENT_SECRET", "longshore.E006")):
        if name not in raw:
            continue
        values = secrets_list(raw[name])
        if not values:
            errors.append(Error(f"{s.where(name)} is empty.", id=ident))
        for n, value in enumerate(values):
            problem = secret_problem(value)
            if problem:
                which = s.where(name) + (f" (item {n + 1})" if len(values) > 1 else "")
                errors.append(
                    Error(
                        f"{which} {problem}.",
                        hint="Signing secrets look like 'whsec_' + base64, as Longshore "
                        "shows them once (manage.py longshore_task_secret / "
                        "longshore_register_endpoint).",
                        id=ident,
                    )
                )

    if "CALLBACK_URL" in raw:
        url = s.callback_url
        if not _http_url(url):
            errors.append(
                Error(
                    f"{s.where('CALLBACK_URL')} is not an http(s) URL: {raw['CALLBACK_URL']!r}.",
                    hint="Where Longshore reaches this app's longshore.django.urls, e.g. "
                    "'https://app.example.com/longshore/'.",
                    id="longshore.E007",
                )
            )
        elif not url.endswith("/"):
            errors.append(
                Error(
                    f"{s.where('CALLBACK_URL')} must end with '/': {url!r}.",
                    hint=f"{url + '/'!r}",
                    id="longshore.E007",
                )
            )

    if "TIMEOUT" in raw:
        try:
            ok = float(raw["TIMEOUT"]) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            errors.append(
                Error(
                    f"{s.where('TIMEOUT')} must be a positive number of seconds, "
                    f"not {raw['TIMEOUT']!r}.",
                    id="longshore.E008",
                )
            )

    if "SEND_DEFAULTS" in raw:
        defaults = raw["SEND_DEFAULTS"]
        if not isinstance(defaults, dict):
            errors.append(
                Error(
                    f"{s.where('SEND_DEFAULTS')} must be a dict (a JSON object in the "
                    f"environment), not {type(defaults).__name__}.",
                    id="longshore.E009",
                )
            )
        else:
            for key in sorted(set(defaults) - SEND_DEFAULT_KEYS):
                errors.append(
                    Error(
                        f"{s.where('SEND_DEFAULTS')} has {key!r}, which is not a message "
                        "attribute the email backend knows.",
                        hint="Known: " + ", ".join(sorted(SEND_DEFAULT_KEYS)) + ".",
                        id="longshore.E009",
                    )
                )

    backends = longshore_task_backends()
    for alias, params in backends.items():
        if not s.task_secrets:
            errors.append(
                Error(
                    f"TASKS[{alias!r}] uses Longshore, but LONGSHORE['TASK_SECRET'] is missing "
                    "(nor is LONGSHORE_TASK_SECRET set): its callbacks cannot be verified.",
                    hint="manage.py longshore_task_secret creates one.",
                    id="longshore.E011",
                )
            )
        if "CALLBACK_URL" not in raw:
            errors.append(
                Error(
                    f"TASKS[{alias!r}] uses Longshore, but LONGSHORE['CALLBACK_URL'] is missing "
                    "(nor is LONGSHORE_CALLBACK_URL set): Longshore would not know where to "
                    "call.",
                    hint="The URL of path('longshore/', include('longshore.django.urls')), "
                    "e.g. 'https://app.example.com/longshore/'.",
                    id="longshore.E012",
                )
            )
        from longshore.django.tasks import options_problems

        for problem in options_problems(params.get("OPTIONS", {})):
            errors.append(Error(f"TASKS[{alias!r}]['OPTIONS']: {problem}", id="longshore.E013"))

    if "EVENT_SECRET" not in raw:
        errors.append(
            Warning(
                "LONGSHORE['EVENT_SECRET'] is not set (nor LONGSHORE_EVENT_SECRET): the events "
                "view refuses every event.",
                hint="manage.py longshore_register_endpoint registers the endpoint and prints "
                "the secret.",
                id="longshore.W001",
            )
        )
    return errors
