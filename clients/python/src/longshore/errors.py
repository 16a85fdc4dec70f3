"""Exceptions raised by the client.

Every API error is an :class:`APIError` carrying the RFC 9457 problem document Longshore answers
with (``status``, ``type``, ``title``, ``detail``, ``errors``), the ``X-Request-Id`` of the
request, any ``Retry-After`` and the ``RateLimit-*`` fields of a rate-limited route; the
subclass says which status it was. Transport failures are
:class:`APIConnectionError` (:class:`APITimeoutError` for timeouts). Messages never contain the
API key: they are built from the answer's body and status only.
"""

from __future__ import annotations

from typing import Any

from longshore.types import ProblemField


class LongshoreError(Exception):
    """Base class of every exception this package raises."""


class ConfigurationError(LongshoreError):
    """The client is missing its API URL or key, or one is malformed."""


class APIConnectionError(LongshoreError):
    """The request did not get an answer: connection refused or reset, DNS, TLS, protocol."""


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool)."""


class APIError(LongshoreError):
    """An error answer of the API (4xx or 5xx)."""

    status: int
    type: str
    title: str
    detail: str
    errors: list[ProblemField]
    request_id: str | None
    retry_after: float | None
    rate_limit_limit: int | None
    rate_limit_remaining: int | None
    rate_limit_reset: int | None
    body: Any

    def __init__(
        self,
        status: int,
        body: Any,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
        rate_limit_limit: int | None = None,
        rate_limit_remaining: int | None = None,
        rate_limit_reset: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.body = body
        problem: dict[str, Any] = body if isinstance(body, dict) else {}
        self.type = str(problem.get("type") or "about:blank")
        self.title = str(problem.get("title") or _reason(status))
        self.detail = str(problem.get("detail") or (body if isinstance(body, str) else ""))
        raw_errors = problem.get("errors")
        self.errors = [
            ProblemField(field=str(e.get("field", "")), message=str(e.get("message", "")))
            for e in (raw_errors if isinstance(raw_errors, list) else [])
            if isinstance(e, dict)
        ]
        self.request_id = request_id
        self.retry_after = retry_after
        #: ``RateLimit-Limit``: the key's bucket size (requests), on the tenant routes.
        self.rate_limit_limit = rate_limit_limit
        #: ``RateLimit-Remaining``: requests the key may still make right now.
        self.rate_limit_remaining = rate_limit_remaining
        #: ``RateLimit-Reset``: seconds until the key's bucket is full again.
        self.rate_limit_reset = rate_limit_reset
        self.method = method
        self.path = path
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" ({self.method} {self.path})" if self.method else ""
        text = f"{self.status} {self.title}{where}"
        if self.detail and self.detail != self.title:
            text += f": {self.detail[:500]}"
        if self.errors:
            fields = "; ".join(f"{e['field']}: {e['message']}" for e in self.errors[:20])
            if fields not in text:
                text += f" [{fields}]"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    @property
    def fields(self) -> dict[str, str]:
        """The field errors as ``{field: message}``."""
        return {e["field"]: e["message"] for e in self.errors}


class BadRequestError(APIError):
    """400: the body is not JSON (or the request is otherwise malformed)."""


class AuthenticationError(APIError):
    """401: missing, unknown or revoked API key (or a disabled tenant's); on ``/v1/admin``, no
    operator key (a tenant key is not one)."""


class PermissionDeniedError(APIError):
    """403."""


class NotFoundError(APIError):
    """404: no such resource for this tenant (or no such route)."""


class MethodNotAllowedError(APIError):
    """405."""


class ConflictError(APIError):
    """409: the state forbids it, an idempotency key reused with another body, or it exists."""


class PayloadTooLargeError(APIError):
    """413: the body is larger than the server accepts."""


class UnsupportedMediaTypeError(APIError):
    """415."""


class UnprocessableEntityError(APIError):
    """422: wrong types or values; ``errors`` names each field."""


ValidationError = UnprocessableEntityError


class RateLimitError(APIError):
    """429: the API key is over its request limit; ``retry_after`` says how long to wait, and
    ``rate_limit_limit`` / ``rate_limit_remaining`` / ``rate_limit_reset`` give the
    ``RateLimit-*`` fields of the answer."""


class ServerError(APIError):
    """A 5xx answer."""


class ServiceUnavailableError(ServerError):
    """503: the queue or the database is unreachable; retry (``retry_after``)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_class(status: int) -> type[APIError]:
    """The exception class for an error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else APIError


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "LongshoreError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "error_class",
]
