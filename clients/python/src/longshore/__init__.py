"""Longshore's Python client.

    from longshore import Client

    with Client() as longshore:          # LONGSHORE_API_URL, LONGSHORE_API_KEY
        job = longshore.jobs.create(type="diagnostic.noop")

``AsyncClient`` is the same API with ``await``. ``AdminClient`` / ``AsyncAdminClient`` are the
operators' API (``/v1/admin``: tenants, their keys and limits, the audit log) with an operator
key (``LONGSHORE_ADMIN_KEY``). Errors are in :mod:`longshore.errors` (and here),
request and response shapes in :mod:`longshore.types`, signature checks of what Longshore sends
your app in :mod:`longshore.webhooks`; the Django integration is :mod:`longshore.django`.
"""

from longshore._async.admin import AsyncAdminClient
from longshore._async.client import AsyncClient
from longshore._sync.admin import AdminClient
from longshore._sync.client import Client
from longshore._version import __version__
from longshore.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    LongshoreError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    ValidationError,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AdminClient",
    "AsyncAdminClient",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
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
    "__version__",
]
