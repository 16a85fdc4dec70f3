"""Verify and parse the signed requests Longshore sends your app: events (to your event
endpoints) and HTTP tasks (to the URLs of your tasks).

Both are signed the Standard Webhooks way: ``webhook-id``, ``webhook-timestamp`` (Unix seconds)
and ``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded part of the ``whsec_…`` secret
(two while a rotated secret overlaps).

Written here on the standard library (``hmac`` + ``compare_digest``) rather than with the
``standardwebhooks`` package: that one pulls in a generated API client's dependencies, and
answers a stale timestamp and a wrong signature with the same exception, where an app wants to
tell them apart (a clock problem is not an attack).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from longshore.errors import LongshoreError

#: Largest difference between a request's timestamp and now, both ways (the server's default).
DEFAULT_TOLERANCE = 300
#: Bounds on the headers, as the server applies them to what it receives.
MAX_HEADER_BYTES = 2048
MAX_SIGNATURES = 8

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)


class WebhookVerificationError(LongshoreError):
    """The request is not a valid signed request from Longshore (answer it with a 4xx)."""


class MissingHeaderError(WebhookVerificationError):
    """A required header is absent."""


class MalformedHeaderError(WebhookVerificationError):
    """A header is present but unreadable (not a number, too long, no ``v1`` signature, …)."""


class StaleTimestampError(WebhookVerificationError):
    """``webhook-timestamp`` is further from now than the tolerance (a replay, or a clock off)."""


class SignatureMismatchError(WebhookVerificationError):
    """No signature matches: wrong secret, or the id, timestamp or body was changed."""


class InvalidPayloadError(WebhookVerificationError):
    """The signature is good but the body is not the JSON an event is."""


Secret = str | bytes


def _key(secret: Secret) -> bytes:
    """The HMAC key of a ``whsec_…`` secret (or raw key bytes)."""
    if isinstance(secret, bytes):
        if not secret:
            raise ValueError("the webhook secret is empty")
        return secret
    text = secret.strip()
    text = text.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "the webhook secret is not a whsec_… secret (base64 after the prefix)"
        ) from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _secrets(secret_or_secrets: Secret | Iterable[Secret]) -> list[bytes]:
    if isinstance(secret_or_secrets, str | bytes):
        items: list[Secret] = [secret_or_secrets]
    else:
        items = list(secret_or_secrets)
    if not items:
        raise ValueError("no webhook secret given")
    return [_key(s) for s in items]


def sign(secret: Secret, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,…`` signature of a request (what Longshore puts in ``webhook-signature``)."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def _header(headers: Mapping[str, str], name: str, *, required: bool = True) -> str | None:
    """A header, looked up case-insensitively, bounded in size."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        for k, v in headers.items():
            if k.lower() == lower:
                value = v
                break
    if value is None:
        if required:
            raise MissingHeaderError(f"missing header {name}")
        return None
    if len(value) > MAX_HEADER_BYTES:
        raise MalformedHeaderError(f"header {name} is longer than {MAX_HEADER_BYTES} bytes")
    return value


def _require(headers: Mapping[str, str], name: str) -> str:
    value = _header(headers, name)
    if value is None:  # pragma: no cover (_header raised)
        raise MissingHeaderError(f"missing header {name}")
    return value


def _now(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return now.timestamp()
    return float(now)


def _timestamp(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or len(text) > 12:
        raise MalformedHeaderError(f"webhook-timestamp is not Unix seconds: {text[:40]!r}")
    return int(text)


def verify(
    secret_or_secrets: Secret | Iterable[Secret],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | datetime | None = None,
) -> None:
    """Checks a request's Standard Webhooks signature; raises a
    :class:`WebhookVerificationError` subclass saying what is wrong, returns ``None`` if good.

    ``secret_or_secrets``: a ``whsec_…`` secret, or several (e.g. the new and the old one
    while you rotate): any of them may have signed. ``headers`` is looked up
    case-insensitively. ``now`` (Unix seconds or a datetime) is for tests.
    """
    keys = _secrets(secret_or_secrets)
    msg_id = _require(headers, "webhook-id")
    stamp = _require(headers, "webhook-timestamp")
    signatures = _require(headers, "webhook-signature")
    if not msg_id.strip():
        raise MalformedHeaderError("webhook-id is empty")
    timestamp = _timestamp(stamp)

    candidates = signatures.split()
    if len(candidates) > MAX_SIGNATURES:
        raise MalformedHeaderError(
            f"webhook-signature has {len(candidates)} signatures (at most {MAX_SIGNATURES})"
        )
    v1 = [c.removeprefix("v1,") for c in candidates if c.startswith("v1,")]
    if not v1:
        raise MalformedHeaderError("webhook-signature has no v1 signature")

    current = _now(now)
    if current - timestamp > tolerance:
        raise StaleTimestampError(
            f"webhook-timestamp is {int(current - timestamp)}s old (tolerance {tolerance:g}s)"
        )
    if timestamp - current > tolerance:
        raise StaleTimestampError(
            f"webhook-timestamp is {int(timestamp - current)}s in the future "
            f"(tolerance {tolerance:g}s)"
        )

    signed = f"{msg_id}.{timestamp}.".encode() + bytes(body)
    for key in keys:
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        for candidate in v1:
            if hmac.compare_digest(expected, candidate.encode("utf-8", "replace")):
                return
    raise SignatureMismatchError(
        "no webhook-signature matches (wrong secret, or the request was changed)"
    )


@dataclass(frozen=True)
class Event:
    """An event Longshore posted to an event endpoint."""

    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)
    webhook_id: str = ""


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_event(
    secret_or_secrets: Secret | Iterable[Secret],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | datetime | None = None,
) -> Event:
    """Verifies (as :func:`verify`) and parses an event request."""
    verify(secret_or_secrets, headers, body, tolerance=tolerance, now=now)
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPayloadError(f"the event's body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidPayloadError("the event's body is not a JSON object")
    try:
        event_id, event_type, stamp = raw["id"], raw["type"], raw["timestamp"]
        data = raw.get("data") or {}
        if not (
            isinstance(event_id, str)
            and isinstance(event_type, str)
            and isinstance(stamp, str)
            and isinstance(data, dict)
        ):
            raise TypeError
        timestamp = _datetime(stamp)
    except (KeyError, TypeError, ValueError):
        raise InvalidPayloadError(
            "the event's body lacks a string id, type or timestamp (RFC 3339), or an object data"
        ) from None
    webhook_id = _require(headers, "webhook-id")
    return Event(
        id=event_id,
        type=event_type,
        timestamp=timestamp,
        data=data,
        raw=raw,
        webhook_id=webhook_id,
    )


@dataclass(frozen=True)
class TaskRequest:
    """An HTTP task's request, as Longshore delivered it (verified)."""

    id: str
    """``webhook-id``: the task's id, the same on every attempt (de-duplicate on it)."""
    queue: str
    name: str | None
    task_id: str
    job_id: str | None
    attempt: int
    """1-based."""
    retry_count: int
    """Attempts before this one."""
    eta: datetime | None
    """When the task was due."""
    first_attempt: datetime | None
    """When it was first tried (absent on the first attempt)."""
    timestamp: datetime
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(repr=False, default_factory=dict)


def _int_header(headers: Mapping[str, str], name: str, default: int) -> int:
    value = _header(headers, name, required=False)
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise MalformedHeaderError(f"{name} is not an integer: {value[:40]!r}") from None


def _time_header(headers: Mapping[str, str], name: str) -> datetime | None:
    value = _header(headers, name, required=False)
    if value is None or not value.strip():
        return None
    try:
        return datetime.fromtimestamp(float(value.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedHeaderError(f"{name} is not Unix seconds: {value[:40]!r}") from None


def parse_task(
    secret_or_secrets: Secret | Iterable[Secret],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | datetime | None = None,
) -> TaskRequest:
    """Verifies (as :func:`verify`) an HTTP task's request and reads its ``Longshore-*``
    headers."""
    verify(secret_or_secrets, headers, body, tolerance=tolerance, now=now)
    msg_id = _require(headers, "webhook-id")
    stamp = _timestamp(_require(headers, "webhook-timestamp"))
    queue = _require(headers, "Longshore-Queue-Name")
    attempt = _int_header(headers, "Longshore-Task-Attempt", 1)
    return TaskRequest(
        id=msg_id,
        queue=queue,
        name=_header(headers, "Longshore-Task-Name", required=False),
        task_id=_header(headers, "Longshore-Task-Id", required=False) or msg_id,
        job_id=_header(headers, "Longshore-Job-Id", required=False),
        attempt=attempt,
        retry_count=_int_header(headers, "Longshore-Task-Retry-Count", attempt - 1),
        eta=_time_header(headers, "Longshore-Task-ETA"),
        first_attempt=_time_header(headers, "Longshore-Task-First-Attempt"),
        timestamp=datetime.fromtimestamp(stamp, tz=UTC),
        body=bytes(body),
        headers=headers,
    )


__all__ = [
    "DEFAULT_TOLERANCE",
    "Event",
    "InvalidPayloadError",
    "MalformedHeaderError",
    "MissingHeaderError",
    "SignatureMismatchError",
    "StaleTimestampError",
    "TaskRequest",
    "WebhookVerificationError",
    "parse_event",
    "parse_task",
    "sign",
    "verify",
]
