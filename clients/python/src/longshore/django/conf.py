"""The ``LONGSHORE`` setting, with ``LONGSHORE_<NAME>`` environment variables filling the gaps.

One dict in ``settings.py``::

    LONGSHORE = {
        "API_URL": "https://longshore.example.com",
        "API_KEY": "lsk_…",
        "TASK_SECRET": "whsec_…",       # verifies HTTP-task callbacks (a list while rotating)
        "EVENT_SECRET": "whsec_…",      # verifies events (a list while rotating)
        "CALLBACK_URL": "https://app.example.com/longshore/",
        "TIMEOUT": 10,
        "SEND_DEFAULTS": {"tags": ["app"], "track_clicks": False},
    }

**Precedence: the dict wins.** A name missing from the dict (or the whole dict missing) is read
from the environment variable ``LONGSHORE_<NAME>`` (``LONGSHORE_API_KEY``, …). So a project may
keep secrets out of ``settings.py`` entirely, and an explicit value in code is never overridden
behind its back. In the environment, secrets take a comma- or space-separated list, ``TIMEOUT``
a number of seconds and ``SEND_DEFAULTS`` a JSON object.

Nothing here raises at import: :func:`get_settings` reports what it read, and the system checks
(:mod:`longshore.django.checks`) name what is missing or bad at ``manage.py check`` and at start.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

#: Every name the ``LONGSHORE`` dict knows (each also ``LONGSHORE_<NAME>`` in the environment).
NAMES = (
    "API_URL",
    "API_KEY",
    "TASK_SECRET",
    "EVENT_SECRET",
    "TIMEOUT",
    "SEND_DEFAULTS",
    "CALLBACK_URL",
    "WEBHOOK_TOLERANCE",
    "IGNORE_UNSUPPORTED_FEATURES",
)

DEFAULT_TIMEOUT = 10.0
#: Seconds a signature's timestamp may be off (Longshore's own default).
DEFAULT_TOLERANCE = 300


@dataclass(frozen=True)
class LongshoreSettings:
    """What the ``LONGSHORE`` setting and the environment say, normalised.

    ``sources`` maps each name to where it came from (``"LONGSHORE['API_KEY']"`` or
    ``"LONGSHORE_API_KEY"``), for messages; ``raw`` keeps the values as given, for the checks.
    """

    api_url: str = ""
    api_key: str = ""
    task_secrets: tuple[str, ...] = ()
    event_secrets: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    send_defaults: dict[str, Any] = field(default_factory=dict)
    callback_url: str = ""
    tolerance: int = DEFAULT_TOLERANCE
    ignore_unsupported_features: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def where(self, name: str) -> str:
        """How to name setting ``name`` in a message."""
        return self.sources.get(name, f"LONGSHORE['{name}'] (or LONGSHORE_{name})")

    def callback(self, path: str) -> str:
        """The absolute URL of ``path`` under ``CALLBACK_URL``."""
        return self.callback_url + path.lstrip("/")


def secrets_list(value: Any) -> tuple[str, ...]:
    """A secret, or several (list/tuple, or a comma/space-separated string), as a tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return (str(value),)


def _env_value(name: str, text: str) -> Any:
    if name == "SEND_DEFAULTS":
        try:
            return json.loads(text)
        except ValueError:
            return text  # reported by the checks
    if name == "IGNORE_UNSUPPORTED_FEATURES":
        return text.strip().lower() in {"1", "true", "yes", "on"}
    return text


def read_raw() -> tuple[dict[str, Any], dict[str, str]]:
    """The values as given, and where each came from: the dict first, then the environment."""
    from django.conf import settings

    given = getattr(settings, "LONGSHORE", None)
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if isinstance(given, dict):
        for name in NAMES:
            if name in given and given[name] not in (None, ""):
                raw[name] = given[name]
                sources[name] = f"LONGSHORE['{name}']"
    for name in NAMES:
        if name in raw:
            continue
        env = os.environ.get(f"LONGSHORE_{name}")
        if env not in (None, ""):
            raw[name] = _env_value(name, env)
            sources[name] = f"LONGSHORE_{name}"
    return raw, sources


def get_settings() -> LongshoreSettings:
    """The current settings (read afresh each call: cheap, and ``override_settings`` works)."""
    raw, sources = read_raw()

    def number(name: str, default: float) -> float:
        try:
            return float(raw[name]) if name in raw else default
        except (TypeError, ValueError):
            return default

    send_defaults = raw.get("SEND_DEFAULTS", {})
    callback = str(raw.get("CALLBACK_URL", "")).strip()
    return LongshoreSettings(
        api_url=str(raw.get("API_URL", "")).strip().rstrip("/"),
        api_key=str(raw.get("API_KEY", "")).strip(),
        task_secrets=secrets_list(raw.get("TASK_SECRET")),
        event_secrets=secrets_list(raw.get("EVENT_SECRET")),
        timeout=number("TIMEOUT", DEFAULT_TIMEOUT),
        send_defaults=dict(send_defaults) if isinstance(send_defaults, dict) else {},
        callback_url=callback,
        tolerance=int(number("WEBHOOK_TOLERANCE", DEFAULT_TOLERANCE)),
        ignore_unsupported_features=bool(raw.get("IGNORE_UNSUPPORTED_FEATURES", False)),
        raw=raw,
        sources=sources,
    )
