"""Helpers of the Django suite."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any


class Recorder:
    """Collects what receivers get, from any thread (the live server's included)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, **kwargs: Any) -> None:
        with self._cond:
            self.items.append(kwargs)
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[Any], bool], timeout: float = 30, what: str = ""
    ) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for item in self.items:
                    if predicate(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"nothing matching {what or predicate} within {timeout}s; got "
                        f"{len(self.items)} items"
                    )
                self._cond.wait(left)

    def matching(self, predicate: Callable[[Any], bool]) -> list[Any]:
        with self._cond:
            return [i for i in self.items if predicate(i)]


def poll(
    condition: Callable[[], Any], timeout: float = 30, interval: float = 0.2, what: str = ""
) -> Any:
    """``condition()`` once it is truthy, polling at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


def signed_headers(
    secret: str, msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Standard Webhooks headers for ``body``, computed here (not with the package's code)."""
    ts = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "Content-Type": "application/json",
    }
