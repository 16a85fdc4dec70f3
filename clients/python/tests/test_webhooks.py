"""longshore.webhooks against a real HTTP task Longshore delivers to a local server."""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Iterator

import pytest

from longshore import Client, webhooks
from longshore.webhooks import (
    MalformedHeaderError,
    MissingHeaderError,
    SignatureMismatchError,
    StaleTimestampError,
)
from longshore_stack import CapturedRequest, CaptureServer


@pytest.fixture(scope="module")
def delivered(longshore: object) -> Iterator[tuple[str, CapturedRequest, str]]:
    """(secret, the captured request, the task's id) of one HTTP task."""
    from longshore_stack import LongshoreStack

    assert isinstance(longshore, LongshoreStack)
    with (
        Client(longshore.api_url, longshore.api_key) as client,
        CaptureServer() as server,
    ):
        secret = client.task_signing_secret.create()["secret"]
        assert secret.startswith("whsec_")
        queue = f"hooks-{uuid.uuid4().hex[:8]}"
        client.queues.create(name=queue)
        task = client.tasks.create(
            queue=queue,
            name="recompute-7",
            http_request={
                "url": f"{server.url}/tasks/recompute",
                "headers": {"Content-Type": "application/json"},
                "body_text": '{"account": 7}',
            },
        )
        request = server.wait_for(lambda r: r.path == "/tasks/recompute")
        yield secret, request, task["id"]


def test_parse_task_from_a_real_delivery(delivered: tuple[str, CapturedRequest, str]) -> None:
    secret, request, task_id = delivered
    webhooks.verify(secret, request.headers, request.body)
    # Header names in any case.
    upper = {k.upper(): v for k, v in request.headers.items()}
    task = webhooks.parse_task(secret, upper, request.body)
    assert task.id == request.headers["webhook-id"]
    assert task.task_id == task_id
    assert task.queue.startswith("hooks-")
    assert task.name == "recompute-7"
    assert task.attempt == 1
    assert task.retry_count == 0
    assert task.job_id
    assert task.eta is not None
    assert task.body == b'{"account": 7}'
    assert request.method == "POST"


def test_tampered_body_is_a_mismatch(delivered: tuple[str, CapturedRequest, str]) -> None:
    secret, request, _ = delivered
    with pytest.raises(SignatureMismatchError) as info:
        webhooks.verify(secret, request.headers, request.body + b" ")
    assert secret not in str(info.value)
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(SignatureMismatchError):
        webhooks.verify(other, request.headers, request.body)


def test_old_timestamp_is_stale(delivered: tuple[str, CapturedRequest, str]) -> None:
    secret, request, _ = delivered
    stamp = int(request.headers["webhook-timestamp"])
    with pytest.raises(StaleTimestampError, match="old"):
        webhooks.verify(secret, request.headers, request.body, now=stamp + 301)
    with pytest.raises(StaleTimestampError, match="future"):
        webhooks.verify(secret, request.headers, request.body, now=stamp - 301)
    webhooks.verify(secret, request.headers, request.body, now=stamp + 299)
    webhooks.verify(secret, request.headers, request.body, now=stamp + 1000, tolerance=2000)


def test_rotation_accepts_either_secret(delivered: tuple[str, CapturedRequest, str]) -> None:
    secret, request, _ = delivered
    new = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    webhooks.verify([new, secret], request.headers, request.body)
    # A request signed by both (what Longshore sends while a rotated secret overlaps).
    headers = dict(request.headers)
    extra = webhooks.sign(
        new, headers["webhook-id"], int(headers["webhook-timestamp"]), request.body
    )
    headers["webhook-signature"] = f"{extra} {headers['webhook-signature']}"
    webhooks.verify(new, headers, request.body)
    webhooks.verify(secret, headers, request.body)


def test_task_signature_after_rotation(longshore: object) -> None:
    """After POST /v1/task-signing-secret again, deliveries carry both signatures (once the
    worker's short cache of the secrets has passed)."""
    from longshore_stack import LongshoreStack

    assert isinstance(longshore, LongshoreStack)
    with Client(longshore.api_url, longshore.api_key) as client, CaptureServer() as server:
        old = client.task_signing_secret.create()["secret"]
        new = client.task_signing_secret.create()["secret"]
        assert client.task_signing_secret.get().get("previous_valid_until")
        queue = f"rot-{uuid.uuid4().hex[:8]}"
        client.queues.create(name=queue)
        deadline = time.monotonic() + 30
        while True:
            path = f"/rotated/{uuid.uuid4().hex}"
            client.tasks.create(queue=queue, http_request={"url": server.url + path})
            request = server.wait_for(lambda r, p=path: r.path == p)
            if len(request.headers["webhook-signature"].split()) == 2:
                break
            assert time.monotonic() < deadline, "no request carried two signatures within 30s"
    webhooks.verify(new, request.headers, request.body)
    webhooks.verify(old, request.headers, request.body)
    webhooks.verify([old, new], request.headers, request.body)


def _signed(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": webhooks.sign(secret, "msg_1", ts, body),
    }


SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_header_errors() -> None:
    body = b"{}"
    good = _signed(SECRET, body)
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in good.items() if k != name}
        with pytest.raises(MissingHeaderError, match=name):
            webhooks.verify(SECRET, headers, body)
    with pytest.raises(MalformedHeaderError, match="timestamp"):
        webhooks.verify(SECRET, {**good, "webhook-timestamp": "soon"}, body)
    with pytest.raises(MalformedHeaderError, match="v1"):
        webhooks.verify(SECRET, {**good, "webhook-signature": "v2,abc"}, body)
    with pytest.raises(MalformedHeaderError, match="at most 8"):
        webhooks.verify(SECRET, {**good, "webhook-signature": " ".join(["v1,x"] * 9)}, body)
    with pytest.raises(MalformedHeaderError, match="longer than"):
        webhooks.verify(SECRET, {**good, "webhook-signature": "v1," + "A" * 3000}, body)
    with pytest.raises(ValueError, match="whsec_"):
        webhooks.verify("whsec_not base64!", good, body)


def test_parse_event() -> None:
    body = (
        b'{"id": "msg_9", "type": "email.opened", "timestamp": "2026-12-07T15:04:05.123Z",'
        b' "data": {"event_type": "opened", "email_id": "em_1"}}'
    )
    event = webhooks.parse_event(SECRET, _signed(SECRET, body), body)
    assert event.id == "msg_9"
    assert event.type == "email.opened"
    assert event.timestamp.year == 2026
    assert event.timestamp.tzinfo is not None
    assert event.data["email_id"] == "em_1"
    assert event.raw["data"] == event.data
    bad = b"[1]"
    with pytest.raises(webhooks.InvalidPayloadError):
        webhooks.parse_event(SECRET, _signed(SECRET, bad), bad)
