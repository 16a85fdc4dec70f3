"""Waiting between retries, in both flavours (the sync client's ``sleep`` is what unasync turns
``asleep`` into)."""

from __future__ import annotations

import time

import anyio


async def asleep(seconds: float) -> None:
    await anyio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)
