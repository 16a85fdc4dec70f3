"""One ``longshore.Client`` per configuration, shared by the email backend, the task backend and
the commands (httpx pools its connections; the client is thread-safe)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

from longshore.django.conf import get_settings

if TYPE_CHECKING:
    from longshore import Client

_lock = threading.Lock()
_clients: dict[tuple[str, str, float], Client] = {}


def get_client(
    api_url: str | None = None, api_key: str | None = None, timeout: float | None = None
) -> Client:
    """The shared client for these values (the ``LONGSHORE`` setting's where not given)."""
    from longshore import Client

    s = get_settings()
    url = (api_url or s.api_url).rstrip("/")
    key = api_key or s.api_key
    secs = float(timeout if timeout is not None else s.timeout)
    if not url or not key:
        missing = "API_URL" if not url else "API_KEY"
        raise ImproperlyConfigured(
            f"LONGSHORE['{missing}'] is missing (nor is LONGSHORE_{missing} set); "
            "manage.py check names every missing setting."
        )
    ident = (url, key, secs)
    with _lock:
        client = _clients.get(ident)
        if client is None:
            client = Client(api_url=url, api_key=key, timeout=secs)
            _clients[ident] = client
        return client


def close_clients() -> None:
    """Closes every shared client (tests; a forked worker process)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
