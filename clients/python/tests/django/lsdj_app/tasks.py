"""Task functions the suite enqueues. State that must survive between attempts (and be seen by
the test) goes to files the test names."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from longshore.django._compat import TaskContext
from longshore.django.tasks import PermanentFailure

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task  # type: ignore[no-redef]


class NeverRetryError(Exception):
    pass


def _record(path: str, **fields: Any) -> None:
    with open(path, "a") as f:
        f.write(json.dumps({"at": time.time(), **fields}) + "\n")


@task
def add(a: int, b: int) -> int:
    return a + b


@task(queue_name="other", priority=10)
def shout(word: str, *, times: int = 1) -> dict[str, Any]:
    return {"word": word.upper() * times}


@task
def flaky(path: str) -> str:
    """Fails its first run (recorded in ``path``), succeeds the next."""
    runs = Path(path).read_text().count("\n") if Path(path).exists() else 0
    _record(path, run=runs + 1)
    if runs == 0:
        raise RuntimeError("first run fails")
    return f"ok after {runs + 1} runs"


@task
def doomed(path: str) -> None:
    _record(path)
    raise PermanentFailure("the account is closed")


@task(backend="short")
def always_fails(path: str) -> None:
    _record(path)
    raise ValueError("always")


@task(backend="short")
def never_retry(path: str) -> None:
    _record(path)
    raise NeverRetryError("listed in PERMANENT_EXCEPTIONS")


@task
def record_time(path: str) -> float:
    _record(path)
    return time.time()


@task
def big() -> str:
    return "x" * 5000


@task
async def async_double(n: int) -> int:
    return n * 2


@task(takes_context=True)
def with_context(context: TaskContext, path: str) -> dict[str, Any]:
    _record(path)
    return {"attempt": context.attempt, "id": context.task_result.id}


@task(backend="oncommit")
def after_commit(n: int) -> int:
    return n + 1
