"""The client's retries, against a tiny local HTTP server that plays the API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from longshore import (
    AdminClient,
    APIConnectionError,
    AsyncAdminClient,
    AsyncClient,
    BadRequestError,
    Client,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
    _base,
)
from longshore_stack import CapturedRequest, CaptureServer

JOB = {"id": "job_x", "type": "diagnostic.noop", "state": "queued"}


def scripted(*answers: tuple[int, dict[str, str], bytes]) -> CaptureServer:
    """A server giving these answers in turn, then 200 with a job."""
    queue = list(answers)

    def respond(_req: CapturedRequest) -> tuple[int, dict[str, str], bytes]:
        if queue:
            return queue.pop(0)
        return 200, {"Content-Type": "application/json"}, json.dumps(JOB).encode()

    return CaptureServer(respond)


def problem(status: int, title: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    body = {"type": "/problems/x", "title": title, "status": status, "detail": title}
    headers = {"Content-Type": "application/problem+json", **headers}
    return status, headers, json.dumps(body).encode()


@pytest.fixture
def unavailable_once() -> Iterator[CaptureServer]:
    with scripted(problem(503, "Service unavailable", **{"Retry-After": "1"})) as server:
        yield server


def test_503_with_retry_after_then_200(unavailable_once: CaptureServer) -> None:
    with Client(unavailable_once.url, "lsk_test", max_retries=2) as c:
        started = time.monotonic()
        job = c.jobs.create(type="diagnostic.noop")
        elapsed = time.monotonic() - started
    assert job["id"] == "job_x"
    assert len(unavailable_once.requests) == 2
    assert elapsed >= 0.9, "Retry-After: 1 was honoured"
    first, second = unavailable_once.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.body == second.body
    assert first.headers["authorization"] == "Bearer lsk_test"


def test_caller_idempotency_key_is_sent(unavailable_once: CaptureServer) -> None:
    with Client(unavailable_once.url, "lsk_test") as c:
        c.jobs.create(type="diagnostic.noop", idempotency_key="mine")
    assert [r.headers["idempotency-key"] for r in unavailable_once.requests] == ["mine", "mine"]


def test_gives_up_after_max_retries() -> None:
    answers = [problem(503, "Down", **{"Retry-After": "0"})] * 3
    with scripted(*answers) as server, Client(server.url, "k", max_retries=1) as c:
        with pytest.raises(ServiceUnavailableError) as info:
            c.jobs.get("job_x")
        assert len(server.requests) == 2
        assert info.value.retry_after == 0


def test_503_of_an_unkeyed_post_is_not_retried() -> None:
    # A POST without Idempotency-Key (a rotation) may have been done: not sent again.
    with scripted(problem(503, "Down", **{"Retry-After": "0"})) as server:
        with Client(server.url, "k") as c, pytest.raises(ServiceUnavailableError):
            c.task_signing_secret.create()
        assert len(server.requests) == 1


def test_429_is_retried_for_any_request() -> None:
    with scripted(problem(429, "Slow down", **{"Retry-After": "0"})) as server:
        with Client(server.url, "k") as c:
            c.task_signing_secret.create()
        assert len(server.requests) == 2


def test_429_raises_with_retry_after_when_out_of_retries() -> None:
    with scripted(problem(429, "Slow down", **{"Retry-After": "7"})) as server:
        with Client(server.url, "k", max_retries=0) as c, pytest.raises(RateLimitError) as info:
            c.jobs.list()
        assert info.value.retry_after == 7
        assert "retry after 7s" in str(info.value)


RATE_LIMITED = {
    "Retry-After": "1",
    "RateLimit-Limit": "2000",
    "RateLimit-Remaining": "0",
    "RateLimit-Reset": "2",
}


def test_429_with_ratelimit_fields_waits_retry_after_then_200() -> None:
    with scripted(problem(429, "Too many requests", **RATE_LIMITED)) as server:
        with Client(server.url, "lsk_test") as c:
            started = time.monotonic()
            job = c.jobs.create(type="diagnostic.noop")
            elapsed = time.monotonic() - started
        assert job["id"] == "job_x"
        first, second = server.requests
        assert elapsed >= 0.9, "Retry-After: 1 was honoured"
        assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_429_error_carries_the_ratelimit_fields() -> None:
    server = scripted(problem(429, "Too many requests", **RATE_LIMITED))
    with server, Client(server.url, "k", max_retries=0) as c, pytest.raises(RateLimitError) as info:
        c.jobs.list()
    error = info.value
    assert (error.retry_after, error.rate_limit_limit) == (1, 2000)
    assert (error.rate_limit_remaining, error.rate_limit_reset) == (0, 2)


def test_ratelimit_fields_absent_or_malformed_are_none() -> None:
    server = scripted(problem(404, "Not found", **{"RateLimit-Remaining": "soon"}))
    with server, Client(server.url, "k") as c, pytest.raises(NotFoundError) as info:
        c.jobs.get("job_x")
    error = info.value
    assert (error.rate_limit_limit, error.rate_limit_remaining, error.rate_limit_reset) == (
        None,
        None,
        None,
    )


def test_admin_post_is_not_retried_on_503_and_has_no_idempotency_key() -> None:
    # /v1/admin's POSTs take no Idempotency-Key: a 503 may come after the tenant was made.
    with scripted(problem(503, "Down", **{"Retry-After": "0"})) as server:
        with AdminClient(server.url, "o" * 32) as admin, pytest.raises(ServiceUnavailableError):
            admin.tenants.create(name="acme")
        (only,) = server.requests
        assert "idempotency-key" not in only.headers
        assert only.headers["authorization"] == "Bearer " + "o" * 32


def test_admin_get_retried_on_503_and_any_request_on_429() -> None:
    answers = [problem(503, "Down", **{"Retry-After": "0"}), problem(429, "Slow", **RATE_LIMITED)]
    with scripted(*answers) as server, AdminClient(server.url, "ops:" + "o" * 32) as admin:
        admin.tenants.get("ten_x")
        assert len(server.requests) == 3
        assert {r.headers["authorization"] for r in server.requests} == {"Bearer " + "o" * 32}
    with scripted(problem(429, "Slow", **{"Retry-After": "0"})) as server:
        with AdminClient(server.url, "o" * 32) as admin:
            admin.keys.revoke("key_x")
        assert [r.method for r in server.requests] == ["POST", "POST"]


async def test_async_admin_put_not_retried_on_503() -> None:
    with scripted(problem(503, "Down", **{"Retry-After": "0"})) as server:
        async with AsyncAdminClient(server.url, "o" * 32) as admin:
            with pytest.raises(ServiceUnavailableError):
                await admin.tenants.set_rate_limit("ten_x", per_second=1, burst=1)
        (only,) = server.requests
        assert (only.method, only.path) == ("PUT", "/v1/admin/tenants/ten_x/rate-limit")
        assert json.loads(only.body) == {"per_second": 1, "burst": 1}


def test_other_4xx_not_retried() -> None:
    with scripted(problem(400, "Malformed request")) as server:
        with Client(server.url, "k") as c, pytest.raises(BadRequestError):
            c.jobs.list()
        assert len(server.requests) == 1


def test_connection_refused_is_retried_then_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base, "BACKOFF_BASE", 0.01)
    with CaptureServer() as server:
        url = server.url
    # Nothing listens there any more.
    with Client(url, "k", max_retries=2) as c, pytest.raises(APIConnectionError) as info:
        c.jobs.list()
    assert "ConnectError" in str(info.value)


def test_retry_after_http_date() -> None:
    when = time.time() + 30
    from email.utils import formatdate

    delay = _base.parse_retry_after(formatdate(when, usegmt=True), now=when - 30)
    assert delay is not None
    assert 29 <= delay <= 31
    assert _base.parse_retry_after("garbage") is None
    assert _base.retry_delay(0, 3600) == _base.MAX_RETRY_AFTER


async def test_async_503_then_200(unavailable_once: CaptureServer) -> None:
    async with AsyncClient(unavailable_once.url, "lsk_test") as c:
        job = await c.jobs.create(type="diagnostic.noop")
    assert job["id"] == "job_x"
    first, second = unavailable_once.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
