"""The async client: the same basics as the sync one."""

from __future__ import annotations

import uuid

import anyio
import pytest

from longshore import AsyncClient, ConflictError, NotFoundError, UnprocessableEntityError


async def test_async_job_lifecycle(async_client: AsyncClient) -> None:
    job = await async_client.jobs.create(type="diagnostic.sleep", payload={"ms": 5})
    with anyio.fail_after(30):
        while (await async_client.jobs.get(job["id"]))["state"] != "succeeded":
            await anyio.sleep(0.05)
    page = await async_client.jobs.list(limit=50)
    assert job["id"] in [j["id"] for j in page["data"]]


async def test_async_errors(async_client: AsyncClient) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        await async_client.jobs.create(type="diagnostic.sleep", max_attempts=0)
    assert "max_attempts" in info.value.fields
    with pytest.raises(NotFoundError):
        await async_client.jobs.get("job_01ARZ3NDEKTSV4RRFFQ69G5FAV")


async def test_async_idempotency(async_client: AsyncClient) -> None:
    key = str(uuid.uuid4())
    a = await async_client.jobs.create(type="diagnostic.noop", idempotency_key=key)
    b = await async_client.jobs.create(type="diagnostic.noop", idempotency_key=key)
    assert a["id"] == b["id"]
    with pytest.raises(ConflictError):
        await async_client.jobs.create(
            type="diagnostic.sleep", payload={"ms": 1}, idempotency_key=key
        )


async def test_async_paging(async_client: AsyncClient) -> None:
    prefix = f"apage-{uuid.uuid4().hex[:8]}"
    names = {f"{prefix}-{i}" for i in range(3)}
    for name in names:
        await async_client.queues.create(name=name)
    seen = [q["name"] async for q in async_client.queues.list_all(limit=2)]
    assert names <= set(seen)
    assert len(seen) == len(set(seen))
    for name in names:
        await async_client.queues.delete(name)
