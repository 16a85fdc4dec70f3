# Generated from longshore/_async/admin.py by scripts/generate_sync.py: do not edit.
# Edit the async client and run `python clients/python/scripts/generate_sync.py`.
"""The asynchronous operator client (``/v1/admin``): the single source of both.

``longshore/_sync/admin.py`` is generated from this file by ``scripts/generate_sync.py``, as the
tenant client is; edit this file, then run the script.

A client of its own rather than a resource group of :class:`~longshore.AsyncClient`: it holds an
operator key (``LONGSHORE_ADMIN_KEY``), which can create tenants and keys and disable them, and
never a tenant's ``lsk_…`` key, so code that only sends work never has operator powers within
reach. Its requests go through the same ``_HTTPClient._request`` (same retries and errors); the
drift test checks that this module's ``_request`` literals are exactly ``/openapi.json``'s
``/v1/admin`` operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Unpack, cast, overload

import httpx

from longshore import _base
from longshore._sync.client import _HTTPClient, _pages
from longshore.types import (
    AuditList,
    AuditView,
    CreateKey,
    CreateTenant,
    IssuedKeyView,
    KeyList,
    KeyView,
    RateLimitBody,
    TenantList,
    TenantView,
)


class AdminClient(_HTTPClient):
    """Longshore's operators' API (``/v1/admin``): tenants, their API keys and request limits,
    and the audit log every one of these actions writes to.

    ``api_url`` and ``admin_key`` default to ``LONGSHORE_API_URL`` and ``LONGSHORE_ADMIN_KEY``;
    the key may be spelled as the server's setting spells it (``label:secret``: only the secret
    is sent, the label is how the server's audit log names the operator). A tenant key
    (``lsk_…``) is refused by the server (:class:`~longshore.errors.AuthenticationError`).

    Retries are the tenant client's: ``GET`` on 429, 503 and connection failures; the ``POST``
    actions (which take no ``Idempotency-Key``) on 429 and failed connects only, since a 503 may
    come after the action was done; ``PUT``/``DELETE`` likewise.
    """

    def __init__(
        self,
        api_url: str | None = None,
        admin_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        url, key = _base.resolve_config(
            api_url,
            admin_key,
            key_arg="admin_key",
            key_env="LONGSHORE_ADMIN_KEY",
            key_name="operator key",
        )
        super().__init__(
            url,
            _base.operator_secret(key),
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )

        self.tenants = Tenants(self)
        self.keys = Keys(self)
        self.audit = Audit(self)


class _AdminResource:
    def __init__(self, client: AdminClient) -> None:
        self._client = client


class Tenants(_AdminResource):
    """``/v1/admin/tenants``: create, list, disable and enable tenants; their request limits."""

    @overload
    def create(self, body: CreateTenant, /) -> TenantView: ...
    @overload
    def create(self, **params: Unpack[CreateTenant]) -> TenantView: ...
    def create(self, *args: Any, **params: Any) -> TenantView:
        """A new tenant (``active``); ``rate_limit`` gives it its own request limit."""
        return cast(
            TenantView,
            self._client._request("POST", "/v1/admin/tenants", json=_base.merge_body(args, params)),
        )

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> TenantList:
        """A page of tenants, oldest first."""
        query = {"limit": limit, "cursor": cursor}
        return cast(TenantList, self._client._request("GET", "/v1/admin/tenants", query=query))

    def list_all(self, *, limit: int | None = None) -> Iterator[TenantView]:
        return _pages(self.list, {"limit": limit})

    def get(self, id: str) -> TenantView:
        return cast(
            TenantView,
            self._client._request("GET", "/v1/admin/tenants/{id}", params={"id": id}),
        )

    def disable(self, id: str) -> TenantView:
        """Its keys are refused (within the server's ``LONGSHORE_AUTH_CACHE_SECS``); its data
        and queued work are kept. Disabling a disabled tenant changes nothing."""
        return cast(
            TenantView,
            self._client._request("POST", "/v1/admin/tenants/{id}/disable", params={"id": id}),
        )

    def enable(self, id: str) -> TenantView:
        return cast(
            TenantView,
            self._client._request("POST", "/v1/admin/tenants/{id}/enable", params={"id": id}),
        )

    @overload
    def set_rate_limit(self, id: str, body: RateLimitBody, /) -> TenantView: ...
    @overload
    def set_rate_limit(self, id: str, /, **params: Unpack[RateLimitBody]) -> TenantView: ...
    def set_rate_limit(self, id: str, *args: Any, **params: Any) -> TenantView:
        """``PUT``: the tenant's own request limit per API key (``per_second``, ``burst``; a
        ``per_second`` of 0 lifts it), in place of the deployment's default."""
        return cast(
            TenantView,
            self._client._request(
                "PUT",
                "/v1/admin/tenants/{id}/rate-limit",
                params={"id": id},
                json=_base.merge_body(args, params),
            ),
        )

    def clear_rate_limit(self, id: str) -> TenantView:
        """``DELETE``: back to the deployment's default limit."""
        return cast(
            TenantView,
            self._client._request("DELETE", "/v1/admin/tenants/{id}/rate-limit", params={"id": id}),
        )


class Keys(_AdminResource):
    """Tenants' API keys: create (the token is in that answer only), list, revoke."""

    @overload
    def create(self, tenant_id: str, body: CreateKey, /) -> IssuedKeyView: ...
    @overload
    def create(self, tenant_id: str, /, **params: Unpack[CreateKey]) -> IssuedKeyView: ...
    def create(self, tenant_id: str, *args: Any, **params: Any) -> IssuedKeyView:
        """A new key for the tenant: ``{"key": {...}, "token": "lsk_…"}``; store the token
        now, it is never shown again."""
        return cast(
            IssuedKeyView,
            self._client._request(
                "POST",
                "/v1/admin/tenants/{id}/keys",
                params={"id": tenant_id},
                json=_base.merge_body(args, params),
            ),
        )

    def list(self, tenant_id: str) -> KeyList:
        """The tenant's keys, newest first (never their secrets)."""
        return cast(
            KeyList,
            self._client._request("GET", "/v1/admin/tenants/{id}/keys", params={"id": tenant_id}),
        )

    def revoke(self, id: str) -> KeyView:
        """Refused from then on (within ``LONGSHORE_AUTH_CACHE_SECS``); revoking a revoked key
        changes nothing."""
        return cast(
            KeyView,
            self._client._request("POST", "/v1/admin/keys/{id}/revoke", params={"id": id}),
        )


class Audit(_AdminResource):
    """``/v1/admin/audit``: every operator action, by whom, when and from where."""

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> AuditList:
        """A page of the audit log, newest first."""
        query = {"limit": limit, "cursor": cursor}
        return cast(AuditList, self._client._request("GET", "/v1/admin/audit", query=query))

    def list_all(self, *, limit: int | None = None) -> Iterator[AuditView]:
        """Every entry, newest first, page after page."""
        return _pages(self.list, {"limit": limit})
