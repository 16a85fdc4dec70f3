"""The sync client against a real `longshore-api dev`."""

from __future__ import annotations

import uuid

import pytest

import longshore
from longshore import (
    AuthenticationError,
    Client,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)
from longshore_stack import LongshoreStack, wait_until


def test_job_create_get_list_and_succeed(client: Client) -> None:
    job = client.jobs.create(type="diagnostic.sleep", payload={"ms": 10})
    assert job["id"].startswith("job_")
    assert job["state"] in {"queued", "running", "succeeded"}

    done = wait_until(
        lambda: (j := client.jobs.get(job["id"]))["state"] == "succeeded" and j,
        what="the job to succeed",
    )
    assert done["attempts"] >= 1
    page = client.jobs.list(type="diagnostic.sleep", limit=100)
    assert job["id"] in [j["id"] for j in page["data"]]


def test_failing_job_retries_then_succeeds(client: Client) -> None:
    job = client.jobs.create(
        type="diagnostic.sleep", payload={"ms": 1, "fail_times": 1}, max_attempts=3
    )
    done = wait_until(
        lambda: (j := client.jobs.get(job["id"]))["state"] == "succeeded" and j,
        timeout=30,
        what="the job to succeed on its second attempt",
    )
    assert done["attempts"] == 2


def test_validation_error_names_the_field(client: Client) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        client.jobs.create(type="diagnostic.sleep", payload={"ms": 1}, max_attempts=99)
    err = info.value
    assert err.status == 422
    assert err.type == "/problems/validation-error"
    assert "max_attempts" in err.fields
    assert err.request_id
    assert "max_attempts" in str(err)
    assert "422" in str(err)


def test_bad_key_is_authentication_error(longshore: LongshoreStack) -> None:
    bad = "lsk_" + "0" * 26 + "_" + "f" * 64
    with Client(longshore.api_url, bad) as c, pytest.raises(AuthenticationError) as info:
        c.jobs.list()
    assert info.value.status == 401
    assert bad not in str(info.value)
    assert bad not in repr(info.value)
    assert longshore.api_key not in str(info.value)


def test_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        client.jobs.get("job_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert info.value.status == 404
    assert info.value.title
    with pytest.raises(NotFoundError):
        client.templates.get("no-such-template")


def test_idempotency_key(client: Client) -> None:
    key = f"test-{uuid.uuid4()}"
    first = client.jobs.create(type="diagnostic.noop", idempotency_key=key)
    again = client.jobs.create(type="diagnostic.noop", idempotency_key=key)
    assert again["id"] == first["id"]
    with pytest.raises(ConflictError) as info:
        client.jobs.create(type="diagnostic.sleep", payload={"ms": 1}, idempotency_key=key)
    assert info.value.status == 409
    # Without a key of the caller's, every call is a new job.
    assert (
        client.jobs.create(type="diagnostic.noop")["id"]
        != client.jobs.create(type="diagnostic.noop")["id"]
    )


def test_auto_paging(client: Client) -> None:
    # Queues are listed by name: make five of this test's own.
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    names = {f"{prefix}-{i}" for i in range(5)}
    for name in names:
        client.queues.create(name=name)
    first = client.queues.list(limit=2)
    assert len(first["data"]) == 2
    assert first["has_more"]
    assert first.get("next_cursor")
    seen = [q["name"] for q in client.queues.list_all(limit=2)]
    assert names <= set(seen)
    assert len(seen) == len(set(seen))
    for name in names:
        client.queues.delete(name)
    assert not names & {q["name"] for q in client.queues.list_all(limit=2)}


def test_body_as_mapping_and_keyword_fields(client: Client) -> None:
    settings = client.email_settings.replace({"from": "Longshore Tests <tests@example.com>"})
    assert settings.get("from") == "Longshore Tests <tests@example.com>"
    with pytest.raises(TypeError):
        client.jobs.create({"type": "diagnostic.noop"}, type="diagnostic.noop")  # type: ignore[call-overload]


def test_configuration_from_environment(
    longshore: LongshoreStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LONGSHORE_API_URL", raising=False)
    monkeypatch.delenv("LONGSHORE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="LONGSHORE_API_URL"):
        Client()
    monkeypatch.setenv("LONGSHORE_API_URL", longshore.api_url)
    with pytest.raises(ConfigurationError, match="LONGSHORE_API_KEY"):
        Client()
    monkeypatch.setenv("LONGSHORE_API_KEY", longshore.api_key)
    with Client() as c:
        assert c.api_url == longshore.api_url
        assert longshore.api_key not in repr(c)
        assert c.task_signing_secret.get is not None
        c.jobs.list(limit=1)


def test_user_agent_and_version(longshore: LongshoreStack) -> None:
    import httpx

    seen: list[str] = []

    def hook(request: httpx.Request) -> None:
        seen.append(request.headers["user-agent"])

    http = httpx.Client(event_hooks={"request": [hook]})
    with Client(longshore.api_url, longshore.api_key, http_client=http) as c:
        c.jobs.list(limit=1)
    http.close()
    assert seen == [f"longshore-python/{longshore_version()}"]


def longshore_version() -> str:
    return longshore.__version__
