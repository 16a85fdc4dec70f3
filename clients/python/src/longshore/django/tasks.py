"""A Django Tasks backend on Longshore's HTTP tasks.

``settings.py`` (Django 6.x's ``django.tasks``, or the ``django-tasks`` backport on 5.2)::

    TASKS = {
        "default": {
            "BACKEND": "longshore.django.tasks.LongshoreBackend",
            "QUEUES": ["default", "emails"],          # Django's own option: allowed queue names
            "OPTIONS": {"MAX_ATTEMPTS": 5},
        }
    }
    LONGSHORE = {..., "TASK_SECRET": "whsec_…", "CALLBACK_URL": "https://app.example.com/longshore/"}
    # urls.py: path("longshore/", include("longshore.django.urls"))

``my_task.enqueue(*args, **kwargs)`` creates an HTTP task (``POST /v1/tasks``) whose request is
``POST {CALLBACK_URL}tasks/run/`` with a JSON body naming the task (its module path), its args,
kwargs and Django metadata. Longshore calls back when it is due (``run_after`` →
``schedule_time``); the view (:mod:`longshore.django.views`) checks the signature, runs the
function (an ``async def`` one through asgiref's ``async_to_sync``) and answers:

- ``200 {"return_value": …}``: done, ``SUCCESSFUL``;
- ``500`` with the exception: Longshore retries it after the queue's backoff;
- ``489`` with the exception: dead at once, ``FAILED``: when it raised :class:`PermanentFailure`
  (or a class in ``OPTIONS["PERMANENT_EXCEPTIONS"]``), or on its ``MAX_ATTEMPTS``-th attempt.

**At least once.** An attempt whose answer is lost runs again, with the same ``webhook-id``
(the result's ``id``): write task functions to be idempotent. A task that succeeded has its
answer kept in Django's default cache for a day, so a repeated delivery reaching a process
sharing that cache answers it again without running the function (best effort, not a
guarantee).

``get_result(id)`` / ``result.refresh()`` read ``GET /v1/tasks/{id}?view=full``: ``READY``
while it waits or between retries, ``RUNNING``, ``SUCCESSFUL``, ``FAILED`` (dead or cancelled);
``errors`` one per failed attempt (exception class and traceback, as the callback answered
them); ``worker_ids`` one per attempt (so ``attempts`` counts them). The task (its module
path), its args and kwargs, priority, queue, backend and ``run_after`` are read from the
request's body, which ``view=full`` returns: the same JSON the callback receives, whatever its
size. Nothing of the task travels in request headers. The return value is read from the
successful attempt's answer, of which Longshore keeps the first 2 KB: **a return value whose
JSON is larger cannot be read back** (``return_value`` raises :class:`ResultUnavailable`; store
big results yourself and return a reference).

Queues: a task goes to the Longshore queue ``OPTIONS["QUEUE_MAP"][queue_name]`` when mapped (a
name, or ``[[min_priority, name], …]``, the first whose ``min_priority`` the task's priority
reaches), otherwise ``<QUEUE_PREFIX><queue_name>`` (prefix ``django-``) for priority 0,
``…-high`` above and ``…-low`` below. Longshore runs a queue's tasks without ordering by
priority: separate queues keep urgent work from waiting behind a backlog (each has its own rate
and concurrency limits). A queue that does not exist is created on first use, with
``retry_config`` ``{max_attempts: MAX_ATTEMPTS, min_backoff: MIN_BACKOFF}`` merged with
``OPTIONS["QUEUE_SETTINGS"][<longshore queue>]`` (the ``POST /v1/queues`` body's fields).

``OPTIONS["ENQUEUE_ON_COMMIT"] = True`` creates the Longshore task when the current transaction
commits (``transaction.on_commit``), so the callback never runs before the rows it needs are
visible; a rolled-back transaction enqueues nothing. Until the commit the returned result's
``id`` is provisional (``pending-…``; ``get_result`` on it raises ``TaskResultDoesNotExist``)
and the same result object gets the real id then. ``task_enqueued`` is sent when the task
exists in Longshore.

Signals: ``task_enqueued`` (sender ``LongshoreBackend``) once created; ``task_started`` at each
attempt, in the process that runs it; ``task_finished`` once, when the outcome is final
(``SUCCESSFUL``, or ``FAILED`` on a permanent failure or the last attempt): an attempt that will
be retried sends none.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from traceback import format_exception
from typing import TYPE_CHECKING, Any, cast

from django.core.cache import caches
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from longshore.django._client import get_client
from longshore.django._compat import (
    BaseTaskBackend,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from longshore.django.conf import get_settings
from longshore.django.events import parse_time

if TYPE_CHECKING:
    from typing import ParamSpec, TypeVar

    AnyTask = Task[..., Any]
    AnyResult = TaskResult[..., Any]
    _P = ParamSpec("_P")
    _R = TypeVar("_R")

logger = logging.getLogger("longshore.django.tasks")

#: The path under ``CALLBACK_URL`` that runs tasks.
RUN_PATH = "tasks/run/"
#: The body format's version.
BODY_VERSION = 1
#: How much of an answer Longshore keeps (``response_excerpt``).
EXCERPT_BYTES = 2048
#: How long a succeeded task's answer stays in the cache (seconds).
DONE_CACHE_SECS = 86400

KNOWN_OPTIONS = frozenset(
    {
        "QUEUE_PREFIX",
        "QUEUE_MAP",
        "MAX_ATTEMPTS",
        "MIN_BACKOFF",
        "DISPATCH_DEADLINE",
        "QUEUE_SETTINGS",
        "ENQUEUE_ON_COMMIT",
        "PERMANENT_EXCEPTIONS",
        "RESULT_CACHE",
    }
)
_DURATION = re.compile(r"^\d+(\.\d+)?s$")


class PermanentFailure(Exception):  # noqa: N818 (it reads as what happened)
    """Raise it from a task for no retry: the task ends ``FAILED`` (dead in Longshore) at once.

    ``raise PermanentFailure("the account is closed") from exc`` keeps the cause in the
    traceback Longshore stores."""


class ResultUnavailable(Exception):  # noqa: N818
    """The task succeeded but its return value cannot be read back (over 2 KB of JSON)."""


class TaskCallbackError(Exception):
    """A failed attempt that did not answer with an exception of the task's (a timeout, a
    connection error, an error page): the attempt's error as Longshore recorded it."""


class TaskCancelled(Exception):  # noqa: N818
    """The task was cancelled in Longshore (``POST /v1/tasks/{id}/cancel``)."""


@dataclasses.dataclass(frozen=True)
class _Unavailable:
    reason: str


class LongshoreTaskResult(TaskResult):  # type: ignore[type-arg,misc,unused-ignore]
    """A ``TaskResult`` whose ``return_value`` says why it is unavailable, when it is."""

    __slots__ = ()

    @property
    def return_value(self) -> Any:
        value = self._return_value  # type: ignore[attr-defined,unused-ignore]
        if self.status == TaskResultStatus.SUCCESSFUL and isinstance(value, _Unavailable):
            raise ResultUnavailable(value.reason)
        return super().return_value


def options_problems(options: Any) -> list[str]:
    """What is wrong with a ``LongshoreBackend``'s ``OPTIONS`` (for the system checks)."""
    if not isinstance(options, dict):
        return [f"must be a dict, not {type(options).__name__}"]
    problems = [
        f"{k!r} is not an option of LongshoreBackend" for k in options if k not in KNOWN_OPTIONS
    ]
    attempts = options.get("MAX_ATTEMPTS", 5)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        problems.append(f"MAX_ATTEMPTS must be a whole number ≥ 1, not {attempts!r}")
    for name in ("MIN_BACKOFF", "DISPATCH_DEADLINE"):
        value = options.get(name)
        if value is not None and not (isinstance(value, str) and _DURATION.match(value)):
            problems.append(f"{name} must be a duration like '10s', not {value!r}")
    queue_map = options.get("QUEUE_MAP", {})
    if not isinstance(queue_map, dict):
        problems.append("QUEUE_MAP must be a dict of Django queue name → Longshore queue")
    else:
        for name, target in queue_map.items():
            if isinstance(target, str):
                continue
            ok = (
                isinstance(target, list | tuple)
                and all(
                    isinstance(p, list | tuple)
                    and len(p) == 2
                    and isinstance(p[0], int)
                    and isinstance(p[1], str)
                    for p in target
                )
                and len(target) > 0
            )
            if not ok:
                problems.append(
                    f"QUEUE_MAP[{name!r}] must be a queue name or [[min_priority, name], …]"
                )
    perm = options.get("PERMANENT_EXCEPTIONS", [])
    if not isinstance(perm, list | tuple) or not all(isinstance(p, str) for p in perm):
        problems.append("PERMANENT_EXCEPTIONS must be a list of exception class paths")
    return problems


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _queue_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:100]


class LongshoreBackend(BaseTaskBackend):  # type: ignore[misc,unused-ignore]
    """Runs Django tasks as Longshore HTTP tasks that call back into this app."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        opts: dict[str, Any] = self.options if isinstance(self.options, dict) else {}
        self.queue_prefix = str(opts.get("QUEUE_PREFIX", "django-"))
        self.queue_map: dict[str, Any] = dict(opts.get("QUEUE_MAP", {}) or {})
        self.max_attempts = int(opts.get("MAX_ATTEMPTS", 5))
        self.min_backoff = str(opts.get("MIN_BACKOFF", "1s"))
        self.dispatch_deadline: str | None = opts.get("DISPATCH_DEADLINE")
        self.queue_settings: dict[str, dict[str, Any]] = dict(opts.get("QUEUE_SETTINGS", {}))
        self.enqueue_on_commit = bool(opts.get("ENQUEUE_ON_COMMIT", False))
        self.permanent_exceptions: tuple[str, ...] = tuple(opts.get("PERMANENT_EXCEPTIONS", ()))
        self.result_cache = str(opts.get("RESULT_CACHE", "default"))
        self._queues_seen: set[str] = set()

    # -- where ------------------------------------------------------------------------------

    def longshore_queue(self, task: AnyTask) -> str:
        """The Longshore queue a task goes to (see the module's documentation)."""
        mapped = self.queue_map.get(task.queue_name)
        if isinstance(mapped, str):
            return mapped
        if isinstance(mapped, list | tuple) and mapped:
            bands = sorted(mapped, key=lambda p: -int(p[0]))
            for min_priority, name in bands:
                if task.priority >= int(min_priority):
                    return str(name)
            return str(bands[-1][1])
        band = "-high" if task.priority > 0 else "-low" if task.priority < 0 else ""
        return _queue_safe(f"{self.queue_prefix}{task.queue_name}{band}")

    def ensure_queue(self, name: str) -> None:
        """Creates Longshore queue ``name`` with this backend's settings (409: it exists)."""
        from longshore.django import _api

        body: dict[str, Any] = {
            "name": name,
            "retry_config": {"max_attempts": self.max_attempts, "min_backoff": self.min_backoff},
        }
        extra = self.queue_settings.get(name, {})
        for k, v in extra.items():
            if isinstance(v, dict) and isinstance(body.get(k), dict):
                body[k] = {**body[k], **v}
            else:
                body[k] = v
        _api.create_queue(get_client(), body)
        self._queues_seen.add(name)

    # -- enqueue ----------------------------------------------------------------------------

    def enqueue(self, task: Task[_P, _R], args: Any, kwargs: Any) -> TaskResult[_P, _R]:
        self.validate_task(task)
        result = LongshoreTaskResult(
            task=task,
            id="pending-" + get_random_string(32),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=list(args),
            kwargs=dict(kwargs),
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        if self.enqueue_on_commit:
            transaction.on_commit(lambda: self._create(result))
        else:
            self._create(result)
        return cast("TaskResult[_P, _R]", result)

    def request_body(self, result: AnyResult) -> dict[str, Any]:
        """What the callback receives (JSON, signed by Longshore)."""
        task = result.task
        return {
            "longshore_django": BODY_VERSION,
            "task": task.module_path,
            "args": result.args,
            "kwargs": result.kwargs,
            "backend": self.alias,
            "queue_name": task.queue_name,
            "priority": task.priority,
            "takes_context": task.takes_context,
            "run_after": _iso(task.run_after),
            "max_attempts": self.max_attempts,
        }

    def _create(self, result: AnyResult) -> None:
        from longshore.django import _api

        s = get_settings()
        task = result.task
        body = self.request_body(result)
        request: dict[str, Any] = {
            "queue": self.longshore_queue(task),
            "http_request": {
                "url": s.callback(RUN_PATH),
                "http_method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body_text": json.dumps(body, separators=(",", ":")),
            },
        }
        if task.run_after is not None:
            request["schedule_time"] = _iso(task.run_after)
        if self.dispatch_deadline:
            request["dispatch_deadline"] = self.dispatch_deadline
        key = f"django-task-{uuid.uuid4()}"
        client = get_client()
        queue = request["queue"]
        if queue not in self._queues_seen:
            # Cheaper than a failed create when the queue is new; a 409 says it exists.
            self.ensure_queue(queue)
        view = _api.create_task(client, request, key)
        object.__setattr__(result, "id", str(view["id"]))
        object.__setattr__(result, "enqueued_at", parse_time(view.get("created_at")))
        task_enqueued.send(type(self), task_result=result)

    # -- results ----------------------------------------------------------------------------

    def get_result(self, result_id: str) -> AnyResult:
        from longshore.django import _api

        if result_id.startswith("pending-"):
            raise TaskResultDoesNotExist(
                f"{result_id} is enqueued when the transaction commits (ENQUEUE_ON_COMMIT); "
                "it has no Longshore task yet"
            )
        view = _api.get_task(get_client(), result_id)
        if view is None:
            raise TaskResultDoesNotExist(result_id)
        return self.result_from_view(view)

    def result_from_view(self, view: dict[str, Any]) -> AnyResult:
        """A ``TaskResult`` from Longshore's ``TaskView`` read with ``view="full"`` (its
        ``attempt_log``, and the request's body, which names the task and holds its args)."""
        body = _callback_body(view)
        task = _load_task(str(body.get("task")))
        changes: dict[str, Any] = {
            "priority": int(body.get("priority", task.priority)),
            "queue_name": str(body.get("queue_name", task.queue_name)),
            "backend": str(body.get("backend", self.alias)),
        }
        run_after = parse_time(body.get("run_after"))
        if run_after is not None:
            changes["run_after"] = run_after
        # The backend it ran on may be gone from the settings: keep the task as declared then.
        with contextlib.suppress(Exception):
            task = dataclasses.replace(task, **changes)

        attempts: list[dict[str, Any]] = list(view.get("attempt_log") or [])
        status = str(view.get("status"))
        job_state = str(view.get("job_state") or "")
        if status == "succeeded":
            django_status = TaskResultStatus.SUCCESSFUL
        elif status in {"dead", "cancelled"}:
            django_status = TaskResultStatus.FAILED
        elif job_state == "running":
            django_status = TaskResultStatus.RUNNING
        else:
            django_status = TaskResultStatus.READY

        errors = []
        return_value: Any = None
        for attempt in attempts:
            code = attempt.get("status")
            excerpt = attempt.get("response_excerpt") or ""
            if isinstance(code, int) and 200 <= code < 300:
                return_value = _return_value(excerpt)
                continue
            errors.append(_task_error(attempt, excerpt))
        if status == "cancelled":
            errors.append(
                TaskError(
                    exception_class_path=f"{__name__}.TaskCancelled",
                    traceback=f"cancelled in Longshore (task {view.get('id')})",
                )
            )
        result = LongshoreTaskResult(
            task=task,
            id=str(view["id"]),
            status=django_status,
            enqueued_at=parse_time(view.get("created_at")),
            started_at=parse_time(view.get("first_attempt_time")),
            last_attempted_at=parse_time(view.get("last_attempt_time")),
            finished_at=parse_time(view.get("finished_at")),
            args=list(body.get("args") or []),
            kwargs=dict(body.get("kwargs") or {}),
            backend=str(body.get("backend", self.alias)),
            errors=errors,
            worker_ids=[f"longshore-attempt-{a.get('attempt')}" for a in attempts],
        )
        if django_status == TaskResultStatus.SUCCESSFUL:
            object.__setattr__(result, "_return_value", return_value)
        return result


def _callback_body(view: dict[str, Any]) -> dict[str, Any]:
    """The JSON body the callback receives (:meth:`LongshoreBackend.request_body`), from a task
    read with ``view="full"`` (``http_request.body``, base64)."""
    request = view.get("http_request") or {}
    if "body" not in request:
        raise TaskResultDoesNotExist(
            f"task {view.get('id')} was read without its body: read it with view='full'"
        )
    try:
        body = json.loads(base64.b64decode(str(request["body"]), validate=True))
    except ValueError:  # not base64, not UTF-8 or not JSON (binascii.Error is a ValueError)
        body = None
    if not isinstance(body, dict) or "longshore_django" not in body or "task" not in body:
        raise TaskResultDoesNotExist(
            f"{view.get('id')} is a Longshore task, but not one a Django task backend created"
        )
    return body


def _return_value(excerpt: str) -> Any:
    try:
        answer = json.loads(excerpt)
    except ValueError:
        size = len(excerpt.encode())
        if size >= EXCERPT_BYTES - 8:
            return _Unavailable(
                "the return value's JSON is larger than the 2 KB of the answer Longshore keeps; "
                "store large results elsewhere and return a reference"
            )
        return _Unavailable(f"the callback's answer is not JSON: {excerpt[:200]!r}")
    if not isinstance(answer, dict) or "return_value" not in answer:
        return _Unavailable("the callback's answer has no return_value")
    return answer["return_value"]


def _task_error(attempt: dict[str, Any], excerpt: str) -> Any:
    try:
        answer = json.loads(excerpt)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("exception_class"), str):
        return TaskError(
            exception_class_path=answer["exception_class"],
            traceback=str(answer.get("traceback") or answer.get("error") or ""),
        )
    what = attempt.get("error") or f"HTTP {attempt.get('status')}"
    return TaskError(
        exception_class_path=f"{__name__}.TaskCallbackError",
        traceback=f"attempt {attempt.get('attempt')}: {what}\n{excerpt[:1000]}".rstrip(),
    )


def _load_task(path: str) -> AnyTask:
    obj = import_string(path)
    if not isinstance(obj, Task):
        raise TypeError(f"{path} is not a Django task (decorate it with @task)")
    return obj


# ---------------------------------------------------------------------------------------------
# Running a callback (the view's work)


@dataclasses.dataclass
class Answer:
    """What the callback view answers."""

    status: int
    body: dict[str, Any]


def _error_body(exc: BaseException) -> dict[str, Any]:
    cls = type(exc)
    path = f"{cls.__module__}.{cls.__qualname__}"
    message = str(exc)[:300]
    tb = "".join(format_exception(exc))
    room = EXCERPT_BYTES - 200 - len(path.encode()) - len(message.encode()) * 2
    if len(tb.encode()) > room:
        tb = "…" + tb[-max(room, 200) :]
    return {"exception_class": path, "error": message, "traceback": tb}


def _is_permanent(exc: BaseException, backend: Any) -> bool:
    if isinstance(exc, PermanentFailure):
        return True
    for path in getattr(backend, "permanent_exceptions", ()):
        try:
            cls = import_string(path)
        except ImportError:
            continue
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def run_callback(
    body: dict[str, Any],
    task_id: str,
    attempt: int,
    first_attempt: datetime | None = None,
) -> Answer:
    """Runs the task a verified callback names and says what to answer."""
    alias = str(body.get("backend") or "default")
    try:
        backend: Any = task_backends[alias]
    except Exception:
        backend = None
    cache_alias = getattr(backend, "result_cache", "default")
    done_key = f"longshore:task-done:{task_id}"
    try:
        cache = caches[cache_alias]
        done = cache.get(done_key)
    except Exception:  # no such cache: run as if nothing was recorded
        cache, done = None, None
    if isinstance(done, dict):
        logger.info("task %s already succeeded: answering again without running it", task_id)
        return Answer(200, done)

    path = str(body.get("task"))
    try:
        task = _load_task(path)
    except ImportError as exc:
        # Perhaps a deploy is under way and this process does not have it yet: retry.
        logger.error("task %s: cannot import %s: %s", task_id, path, exc)
        return Answer(500, _error_body(exc))
    except (TypeError, AttributeError, ValueError) as exc:
        return Answer(489, _error_body(exc))
    with contextlib.suppress(Exception):  # the task as declared still runs
        task = dataclasses.replace(
            task,
            priority=int(body.get("priority", task.priority)),
            queue_name=str(body.get("queue_name", task.queue_name)),
            backend=alias,
        )

    now = timezone.now()
    max_attempts = int(body.get("max_attempts") or getattr(backend, "max_attempts", 5) or 5)
    result = LongshoreTaskResult(
        task=task,
        id=task_id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=None,
        started_at=first_attempt or now,
        last_attempted_at=now,
        finished_at=None,
        args=list(body.get("args") or []),
        kwargs=dict(body.get("kwargs") or {}),
        backend=alias,
        errors=[],
        worker_ids=[f"longshore-attempt-{n}" for n in range(1, attempt + 1)],
    )
    sender = type(backend) if backend is not None else LongshoreBackend
    task_started.send(sender=sender, task_result=result)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
        else:
            value = task.call(*result.args, **result.kwargs)
        answer = {"return_value": _normalize(value)}
        encoded = json.dumps(answer)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        final = _is_permanent(exc, backend) or attempt >= max_attempts
        error = _error_body(exc)
        result.errors.append(
            TaskError(exception_class_path=error["exception_class"], traceback=error["traceback"])
        )
        if not final:
            logger.warning(
                "task %s (%s) failed on attempt %s of %s; Longshore retries it",
                task_id,
                path,
                attempt,
                max_attempts,
                exc_info=exc,
            )
            return Answer(500, error)
        object.__setattr__(result, "status", TaskResultStatus.FAILED)
        object.__setattr__(result, "finished_at", timezone.now())
        task_finished.send(sender=sender, task_result=result)
        return Answer(489, error)

    if len(encoded.encode()) > EXCERPT_BYTES:
        logger.warning(
            "task %s (%s) returned %s bytes of JSON: more than the 2 KB Longshore keeps, so "
            "get_result() cannot read it back",
            task_id,
            path,
            len(encoded.encode()),
        )
    object.__setattr__(result, "_return_value", answer["return_value"])
    object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
    object.__setattr__(result, "finished_at", timezone.now())
    if cache is not None:
        try:
            cache.set(done_key, answer, DONE_CACHE_SECS)
        except Exception:
            logger.exception("task %s: could not record its answer in the cache", task_id)
    task_finished.send(sender=sender, task_result=result)
    return Answer(200, answer)


def _normalize(value: Any) -> Any:
    try:
        from django.utils.json import normalize_json  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # Django 5.2: the backport has it
        from django_tasks.utils import (  # type: ignore[import-not-found,no-redef,unused-ignore]
            normalize_json,
        )
    return normalize_json(value)


__all__ = [
    "LongshoreBackend",
    "LongshoreTaskResult",
    "PermanentFailure",
    "ResultUnavailable",
    "TaskCallbackError",
    "TaskCancelled",
    "run_callback",
]
