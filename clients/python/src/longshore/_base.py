"""What the async and the sync client share: configuration, request building, retry policy and
turning answers into results or exceptions. Nothing here does I/O, so it is written once and
used by both (the clients themselves are one source too: see scripts/generate_sync.py)."""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from longshore._version import __version__
from longshore.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    error_class,
)

USER_AGENT = f"longshore-python/{__version__}"

#: Longest wait a ``Retry-After`` may impose on one of the client's own retries.
MAX_RETRY_AFTER = 60.0
#: Backoff without ``Retry-After``: 0.5 s, 1 s, 2 s, … (at most 8 s), times a jitter of 50-100 %.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def resolve_config(
    api_url: str | None,
    api_key: str | None,
    *,
    key_arg: str = "api_key",
    key_env: str = "LONGSHORE_API_KEY",
    key_name: str = "API key",
) -> tuple[str, str]:
    """The base URL and key: the arguments, else ``LONGSHORE_API_URL`` / ``key_env``."""
    url = api_url if api_url is not None else os.environ.get("LONGSHORE_API_URL", "")
    key = api_key if api_key is not None else os.environ.get(key_env, "")
    url, key = url.strip(), key.strip()
    if not url:
        raise ConfigurationError(
            "no Longshore API URL: pass api_url= or set LONGSHORE_API_URL "
            "(e.g. http://127.0.0.1:8080)"
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"the Longshore API URL must start with http(s)://, not {url!r}")
    if not key:
        raise ConfigurationError(f"no Longshore {key_name}: pass {key_arg}= or set {key_env}")
    if any(c.isspace() for c in key) or not key.isprintable():
        raise ConfigurationError(
            f"the Longshore {key_name} contains whitespace or control characters"
        )
    return url.rstrip("/"), key


_LABEL = re.compile(r"[A-Za-z0-9._-]{1,64}")


def operator_secret(key: str) -> str:
    """The secret to present of an operator key given as the server's ``LONGSHORE_ADMIN_KEY``
    spells it: ``label:secret`` (the label only names the operator in the audit log) or a bare
    secret. Several keys (``a:…,b:…``) are refused: which one to send is the caller's choice."""
    if "," in key:
        raise ConfigurationError(
            "the operator key lists several keys (as LONGSHORE_ADMIN_KEY may): pass one secret"
        )
    label, sep, secret = key.partition(":")
    if sep and secret and _LABEL.fullmatch(label):
        return secret
    return key


def default_headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def format_path(template: str, params: Mapping[str, object] | None) -> str:
    """``/v1/jobs/{id}`` with ``id`` filled in, each value percent-encoded as one segment."""
    if not params:
        return template
    path = template
    for name, value in params.items():
        text = str(value)
        if not text:
            raise ValueError(f"{name} must not be empty")
        path = path.replace("{" + name + "}", quote(text, safe=""))
    return path


def clean_query(query: Mapping[str, object] | None) -> dict[str, str | int] | None:
    """The query without its ``None`` values (booleans as ``true``/``false``)."""
    if not query:
        return None
    out: dict[str, str | int] = {}
    for k, v in query.items():
        if v is None:
            continue
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, int):
            out[k] = v
        else:
            out[k] = str(v)
    return out or None


def merge_body(args: tuple[Any, ...], params: Mapping[str, Any]) -> dict[str, Any]:
    """A request body given either as one positional mapping or as keyword arguments."""
    if len(args) > 1:
        raise TypeError(f"expected one request body, got {len(args)} positional arguments")
    if args and params:
        raise TypeError("pass the request body either as a mapping or as keyword arguments")
    body = args[0] if args else params
    if not isinstance(body, Mapping):
        raise TypeError(f"the request body must be a mapping, not {type(body).__name__}")
    return dict(body)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), ``None`` if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """How long to wait before retry number ``attempt`` (0-based)."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    step: float = min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt)
    return step * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not security)


def is_repeatable(method: str, idempotency_key: str | None) -> bool:
    """Whether sending the request twice is harmless: a safe method, or an idempotency key."""
    return method in SAFE_METHODS or idempotency_key is not None


def should_retry_status(status: int, repeatable: bool) -> bool:
    """429 never did anything, so it is always retried; 503 may have, so only repeatable ones."""
    return status == 429 or (status == 503 and repeatable)


def should_retry_exception(exc: httpx.TransportError, repeatable: bool) -> bool:
    """A failed connect sent nothing; anything later may have been received."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    return repeatable


def transport_error(exc: httpx.TransportError, method: str, path: str) -> APIConnectionError:
    kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    what = type(exc).__name__
    detail = str(exc) or what
    return kind(f"{method} {path}: {what}: {detail}")


def parse_count(value: str | None) -> int | None:
    """A non-negative integer header (``RateLimit-Remaining``, …), ``None`` if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


def error_from_response(response: httpx.Response, method: str, path: str) -> APIError:
    body: Any
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = response.text[:2000]
    cls = error_class(response.status_code)
    headers = response.headers
    return cls(
        response.status_code,
        body,
        request_id=headers.get("x-request-id"),
        retry_after=parse_retry_after(headers.get("retry-after")),
        rate_limit_limit=parse_count(headers.get("ratelimit-limit")),
        rate_limit_remaining=parse_count(headers.get("ratelimit-remaining")),
        rate_limit_reset=parse_count(headers.get("ratelimit-reset")),
        method=method,
        path=path,
    )


def decode_response(response: httpx.Response, raw: bool) -> Any:
    if raw:
        return response.content
    if response.status_code == 204 or not response.content:
        return None
    return response.json()
