"""The asynchronous client: the single source of both clients.

``longshore/_sync/client.py`` is generated from this file by ``scripts/generate_sync.py`` (``async``
and ``await`` removed, ``AsyncClient`` → ``Client``, ``httpx.AsyncClient`` → ``httpx.Client``,
``asleep`` → ``sleep``, ``AsyncIterator`` → ``Iterator``, …) and committed; the tests fail while
it differs from what the script writes. Edit this file, then run the script.

Every API call goes through ``self._client._request(METHOD, "/literal/{template}", ...)``: the
drift test collects those literals with ``ast`` and compares them with ``/openapi.json``. The
operator client (``/v1/admin``) is ``admin.py`` next to this file, built on the same
``_HTTPClient``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Self, Unpack, cast, overload

import httpx

from longshore import _base
from longshore._sleep import asleep
from longshore.types import (
    AttemptOutcome,
    BatchRequest,
    BatchView,
    CountView,
    CreateDocument,
    CreateEmail,
    CreateEndpoint,
    CreateJob,
    CreatePayment,
    CreateReport,
    CreateSuppression,
    CreateTemplate,
    DocumentKind,
    DocumentList,
    DocumentView,
    EmailList,
    EmailSettingsBody,
    EmailSettingsView,
    EmailStatus,
    EmailView,
    EndpointList,
    EndpointView,
    Event,
    EventAttemptList,
    EventAttemptView,
    EventEndpointBody,
    EventEndpointList,
    EventEndpointPatch,
    EventEndpointView,
    EventList,
    EventType,
    ExpenseList,
    ExpenseView,
    Job,
    JobList,
    JobStateView,
    PaymentList,
    PaymentStatusView,
    PaymentView,
    PayoutList,
    PayoutStatus,
    PayoutView,
    QueueBody,
    QueueList,
    QueuePatch,
    QueueView,
    ReplayedView,
    ReplayEventBody,
    ReplayFailedBody,
    ReportList,
    ReportView,
    ResponseView,
    RotateSecret,
    ScheduleBody,
    ScheduleList,
    ScheduleView,
    SigningSecretView,
    SuppressionView,
    TaskBody,
    TaskList,
    TaskStatus,
    TaskView,
    TemplateContent,
    TemplateList,
    TemplateView,
    WebhookEventList,
    WebhookEventView,
)


class _HTTPClient:
    """What the tenant client and the operator client share: the HTTP connection, the
    configuration and ``_request`` (retries as :class:`AsyncClient` says)."""

    def __init__(
        self,
        api_url: str,
        key: str,
        *,
        timeout: float | httpx.Timeout,
        max_retries: int,
        http_client: httpx.AsyncClient | None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.api_url = api_url
        self.max_retries = max_retries
        self.timeout = timeout
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=timeout)
        self._headers = _base.default_headers(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self.api_url!r})"

    async def close(self) -> None:
        """Closes the HTTP connections (unless the ``http_client`` was given)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        raw: bool = False,
    ) -> Any:
        """Sends one API call (retrying as the class says) and returns its decoded JSON (or
        its bytes with ``raw``); raises an :class:`~longshore.errors.APIError` subclass."""
        url_path = _base.format_path(path, params)
        headers = dict(self._headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if raw:
            headers["Accept"] = "*/*"
        repeatable = _base.is_repeatable(method, idempotency_key)
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    self.api_url + url_path,
                    params=_base.clean_query(query),
                    json=json,
                    headers=headers,
                    timeout=self.timeout,
                )
            except httpx.TransportError as exc:
                if attempt < self.max_retries and _base.should_retry_exception(exc, repeatable):
                    await asleep(_base.retry_delay(attempt, None))
                    attempt += 1
                    continue
                raise _base.transport_error(exc, method, url_path) from exc
            if response.is_success:
                return _base.decode_response(response, raw)
            error = _base.error_from_response(response, method, url_path)
            if attempt < self.max_retries and _base.should_retry_status(
                response.status_code, repeatable
            ):
                await asleep(_base.retry_delay(attempt, error.retry_after))
                attempt += 1
                continue
            raise error


class AsyncClient(_HTTPClient):
    """Longshore's API, as a tenant (an ``lsk_…`` API key).

    ``api_url`` and ``api_key`` default to ``LONGSHORE_API_URL`` and ``LONGSHORE_API_KEY``.
    ``max_retries`` bounds the client's own retries: of 429 (always: nothing was done), of 503
    and of connection failures for requests that are safe to send again (``GET``, or a create
    carrying an ``Idempotency-Key``, which the client adds to every create and keeps across its
    retries), after ``Retry-After`` (capped at 60 s) or an exponential backoff with jitter.
    Other errors raise at once (:mod:`longshore.errors`).
    """

    def __init__(
        self,
        api_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        url, key = _base.resolve_config(api_url, api_key)
        super().__init__(
            url, key, timeout=timeout, max_retries=max_retries, http_client=http_client
        )

        self.jobs = Jobs(self)
        self.payments = Payments(self)
        self.payouts = Payouts(self)
        self.expenses = Expenses(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.webhook_events = WebhookEvents(self)
        self.documents = Documents(self)
        self.certificate_batches = CertificateBatches(self)
        self.schedules = Schedules(self)
        self.reports = Reports(self)
        self.emails = Emails(self)
        self.templates = Templates(self)
        self.suppressions = Suppressions(self)
        self.email_settings = EmailSettings(self)
        self.queues = Queues(self)
        self.tasks = Tasks(self)
        self.task_signing_secret = TaskSigningSecret(self)
        self.event_endpoints = EventEndpoints(self)
        self.events = Events(self)


def _key(idempotency_key: str | None) -> str:
    """The caller's Idempotency-Key, or a fresh one for this call (kept across its retries)."""
    return idempotency_key if idempotency_key is not None else _base.new_idempotency_key()


async def _pages(fetch: Callable[..., Any], kwargs: dict[str, Any]) -> AsyncIterator[Any]:
    """Every item of a listing, page after page (``next_cursor``)."""
    cursor = kwargs.pop("cursor", None)
    while True:
        page = await fetch(**kwargs, cursor=cursor)
        for item in page["data"]:
            yield item
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor:
            return


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class Jobs(_Resource):
    """``/v1/jobs``: submit, follow, retry and cancel jobs."""

    @overload
    async def create(self, body: CreateJob, /, *, idempotency_key: str | None = None) -> Job: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[CreateJob]
    ) -> Job: ...
    async def create(self, *args: Any, idempotency_key: str | None = None, **params: Any) -> Job:
        return cast(
            Job,
            await self._client._request(
                "POST",
                "/v1/jobs",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def list(
        self,
        *,
        state: JobStateView | None = None,
        type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JobList:
        query = {"state": state, "type": type, "limit": limit, "cursor": cursor}
        return cast(JobList, await self._client._request("GET", "/v1/jobs", query=query))

    def list_all(
        self,
        *,
        state: JobStateView | None = None,
        type: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Job]:
        return _pages(self.list, {"state": state, "type": type, "limit": limit})

    async def get(self, id: str) -> Job:
        return cast(Job, await self._client._request("GET", "/v1/jobs/{id}", params={"id": id}))

    async def retry(self, id: str) -> Job:
        return cast(
            Job, await self._client._request("POST", "/v1/jobs/{id}/retry", params={"id": id})
        )

    async def cancel(self, id: str) -> Job:
        return cast(
            Job, await self._client._request("POST", "/v1/jobs/{id}/cancel", params={"id": id})
        )


class Payments(_Resource):
    """``/v1/payments``."""

    @overload
    async def create(
        self, body: CreatePayment, /, *, idempotency_key: str | None = None
    ) -> PaymentView: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[CreatePayment]
    ) -> PaymentView: ...
    async def create(
        self,
        *args: Any,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> PaymentView:
        return cast(
            PaymentView,
            await self._client._request(
                "POST",
                "/v1/payments",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def list(
        self,
        *,
        status: PaymentStatusView | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> PaymentList:
        query = {"status": status, "limit": limit, "cursor": cursor}
        return cast(PaymentList, await self._client._request("GET", "/v1/payments", query=query))

    def list_all(
        self, *, status: PaymentStatusView | None = None, limit: int | None = None
    ) -> AsyncIterator[PaymentView]:
        return _pages(self.list, {"status": status, "limit": limit})

    async def get(self, id: str) -> PaymentView:
        return cast(
            PaymentView,
            await self._client._request("GET", "/v1/payments/{id}", params={"id": id}),
        )


class Payouts(_Resource):
    """``/v1/payouts`` (recorded from the gateways' events)."""

    async def list(
        self,
        *,
        status: PayoutStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> PayoutList:
        query = {"status": status, "limit": limit, "cursor": cursor}
        return cast(PayoutList, await self._client._request("GET", "/v1/payouts", query=query))

    def list_all(
        self, *, status: PayoutStatus | None = None, limit: int | None = None
    ) -> AsyncIterator[PayoutView]:
        return _pages(self.list, {"status": status, "limit": limit})

    async def get(self, id: str) -> PayoutView:
        return cast(
            PayoutView, await self._client._request("GET", "/v1/payouts/{id}", params={"id": id})
        )


class Expenses(_Resource):
    """``/v1/expenses`` (recorded from the gateways' events)."""

    async def list(
        self,
        *,
        category: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ExpenseList:
        query = {"category": category, "limit": limit, "cursor": cursor}
        return cast(ExpenseList, await self._client._request("GET", "/v1/expenses", query=query))

    def list_all(
        self, *, category: str | None = None, limit: int | None = None
    ) -> AsyncIterator[ExpenseView]:
        return _pages(self.list, {"category": category, "limit": limit})

    async def get(self, id: str) -> ExpenseView:
        return cast(
            ExpenseView,
            await self._client._request("GET", "/v1/expenses/{id}", params={"id": id}),
        )


class WebhookEndpoints(_Resource):
    """``/v1/webhook-endpoints``: where payment gateways post (``/hooks/{id}``)."""

    @overload
    async def create(self, body: CreateEndpoint, /) -> EndpointView: ...
    @overload
    async def create(self, **params: Unpack[CreateEndpoint]) -> EndpointView: ...
    async def create(self, *args: Any, **params: Any) -> EndpointView:
        return cast(
            EndpointView,
            await self._client._request(
                "POST", "/v1/webhook-endpoints", json=_base.merge_body(args, params)
            ),
        )

    async def list(self) -> EndpointList:
        return cast(EndpointList, await self._client._request("GET", "/v1/webhook-endpoints"))

    async def get(self, id: str) -> EndpointView:
        return cast(
            EndpointView,
            await self._client._request("GET", "/v1/webhook-endpoints/{id}", params={"id": id}),
        )

    @overload
    async def rotate_secret(self, id: str, body: RotateSecret, /) -> EndpointView: ...
    @overload
    async def rotate_secret(self, id: str, /, **params: Unpack[RotateSecret]) -> EndpointView: ...
    async def rotate_secret(self, id: str, *args: Any, **params: Any) -> EndpointView:
        return cast(
            EndpointView,
            await self._client._request(
                "POST",
                "/v1/webhook-endpoints/{id}/rotate-secret",
                params={"id": id},
                json=_base.merge_body(args, params),
            ),
        )


class WebhookEvents(_Resource):
    """``/v1/webhook-events``: what the gateways delivered."""

    async def list(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> WebhookEventList:
        query = {"status": status, "limit": limit, "cursor": cursor}
        return cast(
            WebhookEventList,
            await self._client._request("GET", "/v1/webhook-events", query=query),
        )

    def list_all(
        self, *, status: str | None = None, limit: int | None = None
    ) -> AsyncIterator[WebhookEventView]:
        return _pages(self.list, {"status": status, "limit": limit})

    async def get(self, id: str) -> WebhookEventView:
        return cast(
            WebhookEventView,
            await self._client._request("GET", "/v1/webhook-events/{id}", params={"id": id}),
        )

    async def replay(self, id: str) -> WebhookEventView:
        return cast(
            WebhookEventView,
            await self._client._request(
                "POST", "/v1/webhook-events/{id}/replay", params={"id": id}
            ),
        )


class Documents(_Resource):
    """``/v1/documents``: certificates, receipts, investor updates (PDF)."""

    @overload
    async def create(
        self, body: CreateDocument, /, *, idempotency_key: str | None = None
    ) -> DocumentView: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[CreateDocument]
    ) -> DocumentView: ...
    async def create(
        self,
        *args: Any,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> DocumentView:
        return cast(
            DocumentView,
            await self._client._request(
                "POST",
                "/v1/documents",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def list(
        self,
        *,
        kind: DocumentKind | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DocumentList:
        query = {"kind": kind, "limit": limit, "cursor": cursor}
        return cast(DocumentList, await self._client._request("GET", "/v1/documents", query=query))

    def list_all(
        self, *, kind: DocumentKind | None = None, limit: int | None = None
    ) -> AsyncIterator[DocumentView]:
        return _pages(self.list, {"kind": kind, "limit": limit})

    async def get(self, id: str) -> DocumentView:
        return cast(
            DocumentView,
            await self._client._request("GET", "/v1/documents/{id}", params={"id": id}),
        )

    async def content(self, id: str) -> bytes:
        """The rendered PDF."""
        return cast(
            bytes,
            await self._client._request(
                "GET", "/v1/documents/{id}/content", params={"id": id}, raw=True
            ),
        )

    async def revoke(self, id: str) -> DocumentView:
        return cast(
            DocumentView,
            await self._client._request("POST", "/v1/documents/{id}/revoke", params={"id": id}),
        )


class CertificateBatches(_Resource):
    """``/v1/certificate-batches``: one certificate per recipient."""

    @overload
    async def create(
        self, body: BatchRequest, /, *, idempotency_key: str | None = None
    ) -> BatchView: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[BatchRequest]
    ) -> BatchView: ...
    async def create(
        self,
        *args: Any,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> BatchView:
        return cast(
            BatchView,
            await self._client._request(
                "POST",
                "/v1/certificate-batches",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def get(self, id: str) -> BatchView:
        return cast(
            BatchView,
            await self._client._request("GET", "/v1/certificate-batches/{id}", params={"id": id}),
        )


class Schedules(_Resource):
    """``/v1/schedules``: periodic reports and HTTP tasks."""

    @overload
    async def create(
        self, body: ScheduleBody, /, *, idempotency_key: str | None = None
    ) -> ScheduleView: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[ScheduleBody]
    ) -> ScheduleView: ...
    async def create(
        self,
        *args: Any,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> ScheduleView:
        return cast(
            ScheduleView,
            await self._client._request(
                "POST",
                "/v1/schedules",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> ScheduleList:
        query = {"limit": limit, "cursor": cursor}
        return cast(ScheduleList, await self._client._request("GET", "/v1/schedules", query=query))

    def list_all(self, *, limit: int | None = None) -> AsyncIterator[ScheduleView]:
        return _pages(self.list, {"limit": limit})

    async def get(self, id: str) -> ScheduleView:
        return cast(
            ScheduleView,
            await self._client._request("GET", "/v1/schedules/{id}", params={"id": id}),
        )

    @overload
    async def update(self, id: str, body: ScheduleBody, /) -> ScheduleView: ...
    @overload
    async def update(self, id: str, /, **params: Unpack[ScheduleBody]) -> ScheduleView: ...
    async def update(self, id: str, *args: Any, **params: Any) -> ScheduleView:
        """``PATCH``: send only what changes."""
        return cast(
            ScheduleView,
            await self._client._request(
                "PATCH",
                "/v1/schedules/{id}",
                params={"id": id},
                json=_base.merge_body(args, params),
            ),
        )

    async def delete(self, id: str) -> None:
        await self._client._request("DELETE", "/v1/schedules/{id}", params={"id": id})

    async def run(self, id: str) -> ReportView | TaskView:
        """Runs the schedule now: a report (``rpt_…``) or an HTTP task, as it makes."""
        return cast(
            ReportView | TaskView,
            await self._client._request("POST", "/v1/schedules/{id}/run", params={"id": id}),
        )


class Reports(_Resource):
    """``/v1/reports``: CSV and PDF reports, optionally emailed."""

    @overload
    async def create(
        self, body: CreateReport, /, *, idempotency_key: str | None = None
    ) -> ReportView: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[CreateReport]
    ) -> ReportView: ...
    async def create(
        self,
        *args: Any,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> ReportView:
        """``from`` is a Python keyword: pass the body as a mapping (``create({"from": …})``)
        or as ``**{"from": …}``."""
        return cast(
            ReportView,
            await self._client._request(
                "POST",
                "/v1/reports",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def list(
        self,
        *,
        schedule_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ReportList:
        query = {"schedule_id": schedule_id, "limit": limit, "cursor": cursor}
        return cast(ReportList, await self._client._request("GET", "/v1/reports", query=query))

    def list_all(
        self, *, schedule_id: str | None = None, limit: int | None = None
    ) -> AsyncIterator[ReportView]:
        return _pages(self.list, {"schedule_id": schedule_id, "limit": limit})

    async def get(self, id: str) -> ReportView:
        return cast(
            ReportView, await self._client._request("GET", "/v1/reports/{id}", params={"id": id})
        )

    async def csv(self, id: str) -> bytes:
        """The report's CSV file."""
        return cast(
            bytes,
            await self._client._request("GET", "/v1/reports/{id}/csv", params={"id": id}, raw=True),
        )

    async def pdf(self, id: str) -> bytes:
        """The report's PDF file."""
        return cast(
            bytes,
            await self._client._request("GET", "/v1/reports/{id}/pdf", params={"id": id}, raw=True),
        )


class Emails(_Resource):
    """``/v1/emails``: send and follow emails."""

    @overload
    async def create(
        self, body: CreateEmail, /, *, idempotency_key: str | None = None
    ) -> EmailView: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[CreateEmail]
    ) -> EmailView: ...
    async def create(
        self,
        *args: Any,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> EmailView:
        """``from`` is a Python keyword: pass the body as a mapping (``create({"from": …})``)
        or as ``**{"from": …}``, or set a sender default (``email_settings.replace``)."""
        return cast(
            EmailView,
            await self._client._request(
                "POST",
                "/v1/emails",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def list(
        self,
        *,
        status: EmailStatus | None = None,
        tag: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EmailList:
        query = {"status": status, "tag": tag, "limit": limit, "cursor": cursor}
        return cast(EmailList, await self._client._request("GET", "/v1/emails", query=query))

    def list_all(
        self, *, status: EmailStatus | None = None, tag: str | None = None, limit: int | None = None
    ) -> AsyncIterator[EmailView]:
        return _pages(self.list, {"status": status, "tag": tag, "limit": limit})

    async def get(self, id: str) -> EmailView:
        return cast(
            EmailView, await self._client._request("GET", "/v1/emails/{id}", params={"id": id})
        )

    async def cancel(self, id: str) -> EmailView:
        return cast(
            EmailView,
            await self._client._request("POST", "/v1/emails/{id}/cancel", params={"id": id}),
        )


class Templates(_Resource):
    """``/v1/templates``: stored email templates."""

    @overload
    async def create(self, body: CreateTemplate, /) -> TemplateView: ...
    @overload
    async def create(self, **params: Unpack[CreateTemplate]) -> TemplateView: ...
    async def create(self, *args: Any, **params: Any) -> TemplateView:
        return cast(
            TemplateView,
            await self._client._request(
                "POST", "/v1/templates", json=_base.merge_body(args, params)
            ),
        )

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> TemplateList:
        query = {"limit": limit, "cursor": cursor}
        return cast(TemplateList, await self._client._request("GET", "/v1/templates", query=query))

    def list_all(self, *, limit: int | None = None) -> AsyncIterator[TemplateView]:
        return _pages(self.list, {"limit": limit})

    async def get(self, name: str) -> TemplateView:
        return cast(
            TemplateView,
            await self._client._request("GET", "/v1/templates/{name}", params={"name": name}),
        )

    @overload
    async def replace(self, name: str, body: TemplateContent, /) -> TemplateView: ...
    @overload
    async def replace(self, name: str, /, **params: Unpack[TemplateContent]) -> TemplateView: ...
    async def replace(self, name: str, *args: Any, **params: Any) -> TemplateView:
        """``PUT``: creates or replaces the template."""
        return cast(
            TemplateView,
            await self._client._request(
                "PUT",
                "/v1/templates/{name}",
                params={"name": name},
                json=_base.merge_body(args, params),
            ),
        )

    async def delete(self, name: str) -> None:
        await self._client._request("DELETE", "/v1/templates/{name}", params={"name": name})


class Suppressions(_Resource):
    """``/v1/suppressions``: addresses no email goes to."""

    @overload
    async def create(self, body: CreateSuppression, /) -> SuppressionView: ...
    @overload
    async def create(self, **params: Unpack[CreateSuppression]) -> SuppressionView: ...
    async def create(self, *args: Any, **params: Any) -> SuppressionView:
        return cast(
            SuppressionView,
            await self._client._request(
                "POST", "/v1/suppressions", json=_base.merge_body(args, params)
            ),
        )

    async def get(self, address: str) -> SuppressionView:
        return cast(
            SuppressionView,
            await self._client._request(
                "GET", "/v1/suppressions/{address}", params={"address": address}
            ),
        )

    async def delete(self, address: str) -> None:
        await self._client._request(
            "DELETE", "/v1/suppressions/{address}", params={"address": address}
        )


class EmailSettings(_Resource):
    """``/v1/email-settings``: the tenant's sender defaults and deferral policy."""

    async def get(self) -> EmailSettingsView:
        return cast(EmailSettingsView, await self._client._request("GET", "/v1/email-settings"))

    @overload
    async def replace(self, body: EmailSettingsBody, /) -> EmailSettingsView: ...
    @overload
    async def replace(self, **params: Unpack[EmailSettingsBody]) -> EmailSettingsView: ...
    async def replace(self, *args: Any, **params: Any) -> EmailSettingsView:
        """``PUT``: ``from`` is a Python keyword, so pass a mapping (``replace({"from": …})``)."""
        return cast(
            EmailSettingsView,
            await self._client._request(
                "PUT", "/v1/email-settings", json=_base.merge_body(args, params)
            ),
        )


class Queues(_Resource):
    """``/v1/queues``: HTTP task queues."""

    @overload
    async def create(self, body: QueueBody, /) -> QueueView: ...
    @overload
    async def create(self, **params: Unpack[QueueBody]) -> QueueView: ...
    async def create(self, *args: Any, **params: Any) -> QueueView:
        return cast(
            QueueView,
            await self._client._request("POST", "/v1/queues", json=_base.merge_body(args, params)),
        )

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> QueueList:
        query = {"limit": limit, "cursor": cursor}
        return cast(QueueList, await self._client._request("GET", "/v1/queues", query=query))

    def list_all(self, *, limit: int | None = None) -> AsyncIterator[QueueView]:
        return _pages(self.list, {"limit": limit})

    async def get(self, name: str) -> QueueView:
        return cast(
            QueueView,
            await self._client._request("GET", "/v1/queues/{name}", params={"name": name}),
        )

    @overload
    async def update(self, name: str, body: QueuePatch, /) -> QueueView: ...
    @overload
    async def update(self, name: str, /, **params: Unpack[QueuePatch]) -> QueueView: ...
    async def update(self, name: str, *args: Any, **params: Any) -> QueueView:
        """``PATCH``: send only what changes."""
        return cast(
            QueueView,
            await self._client._request(
                "PATCH",
                "/v1/queues/{name}",
                params={"name": name},
                json=_base.merge_body(args, params),
            ),
        )

    async def delete(self, name: str) -> None:
        await self._client._request("DELETE", "/v1/queues/{name}", params={"name": name})

    async def pause(self, name: str) -> QueueView:
        return cast(
            QueueView,
            await self._client._request("POST", "/v1/queues/{name}/pause", params={"name": name}),
        )

    async def resume(self, name: str) -> QueueView:
        return cast(
            QueueView,
            await self._client._request("POST", "/v1/queues/{name}/resume", params={"name": name}),
        )

    async def purge(self, name: str) -> CountView:
        """Cancels every task of the queue not yet started."""
        return cast(
            CountView,
            await self._client._request("POST", "/v1/queues/{name}/purge", params={"name": name}),
        )


class Tasks(_Resource):
    """``/v1/tasks``: HTTP tasks (Longshore calls your app)."""

    @overload
    async def create(
        self, body: TaskBody, /, *, idempotency_key: str | None = None
    ) -> TaskView: ...
    @overload
    async def create(
        self, *, idempotency_key: str | None = None, **params: Unpack[TaskBody]
    ) -> TaskView: ...
    async def create(
        self, *args: Any, idempotency_key: str | None = None, **params: Any
    ) -> TaskView:
        return cast(
            TaskView,
            await self._client._request(
                "POST",
                "/v1/tasks",
                json=_base.merge_body(args, params),
                idempotency_key=_key(idempotency_key),
            ),
        )

    async def list(
        self,
        *,
        queue: str | None = None,
        status: TaskStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> TaskList:
        query = {"queue": queue, "status": status, "limit": limit, "cursor": cursor}
        return cast(TaskList, await self._client._request("GET", "/v1/tasks", query=query))

    def list_all(
        self,
        *,
        queue: str | None = None,
        status: TaskStatus | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[TaskView]:
        return _pages(self.list, {"queue": queue, "status": status, "limit": limit})

    async def get(self, id: str, *, view: ResponseView | None = None) -> TaskView:
        """The task with its attempts; ``view="full"`` adds its request's body
        (``http_request["body"]``, base64)."""
        return cast(
            TaskView,
            await self._client._request(
                "GET", "/v1/tasks/{id}", params={"id": id}, query={"view": view}
            ),
        )

    async def cancel(self, id: str) -> TaskView:
        return cast(
            TaskView,
            await self._client._request("POST", "/v1/tasks/{id}/cancel", params={"id": id}),
        )

    async def retry(self, id: str) -> TaskView:
        return cast(
            TaskView,
            await self._client._request("POST", "/v1/tasks/{id}/retry", params={"id": id}),
        )

    async def retry_dead(self, *, queue: str | None = None) -> CountView:
        """Retries every dead task (of one queue)."""
        return cast(
            CountView,
            await self._client._request("POST", "/v1/tasks/retry-dead", query={"queue": queue}),
        )


class TaskSigningSecret(_Resource):
    """``/v1/task-signing-secret``: the secret HTTP task requests are signed with."""

    async def create(self) -> SigningSecretView:
        """Creates or rotates the secret; the answer is the only time it is shown."""
        return cast(
            SigningSecretView, await self._client._request("POST", "/v1/task-signing-secret")
        )

    rotate = create

    async def get(self) -> SigningSecretView:
        """The secret's dates (never the secret)."""
        return cast(
            SigningSecretView, await self._client._request("GET", "/v1/task-signing-secret")
        )


class EventEndpoints(_Resource):
    """``/v1/event-endpoints``: where Longshore posts its events."""

    @overload
    async def create(self, body: EventEndpointBody, /) -> EventEndpointView: ...
    @overload
    async def create(self, **params: Unpack[EventEndpointBody]) -> EventEndpointView: ...
    async def create(self, *args: Any, **params: Any) -> EventEndpointView:
        """The answer carries the signing ``secret``, shown this once."""
        return cast(
            EventEndpointView,
            await self._client._request(
                "POST", "/v1/event-endpoints", json=_base.merge_body(args, params)
            ),
        )

    async def list(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> EventEndpointList:
        query = {"limit": limit, "cursor": cursor}
        return cast(
            EventEndpointList,
            await self._client._request("GET", "/v1/event-endpoints", query=query),
        )

    def list_all(self, *, limit: int | None = None) -> AsyncIterator[EventEndpointView]:
        return _pages(self.list, {"limit": limit})

    async def get(self, id: str) -> EventEndpointView:
        return cast(
            EventEndpointView,
            await self._client._request("GET", "/v1/event-endpoints/{id}", params={"id": id}),
        )

    @overload
    async def update(self, id: str, body: EventEndpointPatch, /) -> EventEndpointView: ...
    @overload
    async def update(
        self, id: str, /, **params: Unpack[EventEndpointPatch]
    ) -> EventEndpointView: ...
    async def update(self, id: str, *args: Any, **params: Any) -> EventEndpointView:
        """``PATCH``: send only what changes."""
        return cast(
            EventEndpointView,
            await self._client._request(
                "PATCH",
                "/v1/event-endpoints/{id}",
                params={"id": id},
                json=_base.merge_body(args, params),
            ),
        )

    async def delete(self, id: str) -> None:
        await self._client._request("DELETE", "/v1/event-endpoints/{id}", params={"id": id})

    async def rotate_secret(self, id: str) -> EventEndpointView:
        """A new signing secret (shown once); the previous one keeps signing for a while."""
        return cast(
            EventEndpointView,
            await self._client._request(
                "POST", "/v1/event-endpoints/{id}/secret", params={"id": id}
            ),
        )

    async def attempts(
        self,
        id: str,
        *,
        event_id: str | None = None,
        status: AttemptOutcome | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventAttemptList:
        query = {"event_id": event_id, "status": status, "limit": limit, "cursor": cursor}
        return cast(
            EventAttemptList,
            await self._client._request(
                "GET", "/v1/event-endpoints/{id}/attempts", params={"id": id}, query=query
            ),
        )

    def attempts_all(
        self,
        id: str,
        *,
        event_id: str | None = None,
        status: AttemptOutcome | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[EventAttemptView]:
        async def fetch(**kwargs: Any) -> EventAttemptList:
            return await self.attempts(id, **kwargs)

        return _pages(fetch, {"event_id": event_id, "status": status, "limit": limit})

    @overload
    async def replay(self, id: str, body: ReplayFailedBody, /) -> ReplayedView: ...
    @overload
    async def replay(self, id: str, /, **params: Unpack[ReplayFailedBody]) -> ReplayedView: ...
    async def replay(self, id: str, *args: Any, **params: Any) -> ReplayedView:
        """Sends again every failed delivery of events ``since`` then."""
        return cast(
            ReplayedView,
            await self._client._request(
                "POST",
                "/v1/event-endpoints/{id}/replay",
                params={"id": id},
                json=_base.merge_body(args, params),
            ),
        )


class Events(_Resource):
    """``/v1/events``: what Longshore told (or will tell) your endpoints."""

    async def list(
        self,
        *,
        type: EventType | None = None,
        resource_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventList:
        query = {"type": type, "resource_id": resource_id, "limit": limit, "cursor": cursor}
        return cast(EventList, await self._client._request("GET", "/v1/events", query=query))

    def list_all(
        self,
        *,
        type: EventType | None = None,
        resource_id: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Event]:
        return _pages(self.list, {"type": type, "resource_id": resource_id, "limit": limit})

    async def get(self, id: str) -> Event:
        """The event with its delivery to each endpoint."""
        return cast(Event, await self._client._request("GET", "/v1/events/{id}", params={"id": id}))

    @overload
    async def replay(self, id: str, body: ReplayEventBody, /) -> ReplayedView: ...
    @overload
    async def replay(self, id: str, /, **params: Unpack[ReplayEventBody]) -> ReplayedView: ...
    async def replay(self, id: str, *args: Any, **params: Any) -> ReplayedView:
        """Sends the event again, to every endpoint it went to or to ``endpoint_id``."""
        return cast(
            ReplayedView,
            await self._client._request(
                "POST",
                "/v1/events/{id}/replay",
                params={"id": id},
                json=_base.merge_body(args, params),
            ),
        )
