"""The Django Tasks backend against the real Longshore: enqueue → HTTP task → callback view →
result read back from Longshore."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone
from lsdj_app import tasks
from lsdj_helpers import Recorder, poll, signed_headers

from longshore.django._compat import (
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_enqueued,
    task_finished,
    task_started,
)
from longshore.django.tasks import LongshoreBackend, ResultUnavailable

pytestmark = pytest.mark.usefixtures("django_stack")


def finished(result: Any, timeout: float = 30) -> Any:
    """Refreshes ``result`` from Longshore until it is finished (bounded)."""

    def done() -> bool:
        result.refresh()
        return bool(result.is_finished)

    poll(done, timeout=timeout, what=f"task {result.id} to finish")
    return result


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_enqueue_runs_through_the_callback_and_get_result_reads_it_back() -> None:
    result = tasks.add.enqueue(2, 3)
    assert result.id.startswith("task_")
    assert result.status == TaskResultStatus.READY
    assert result.enqueued_at is not None
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert result.attempts == 1
    assert result.errors == []

    again = tasks.add.get_result(result.id)
    assert again.return_value == 5
    assert again.args == [2, 3]
    assert again.task.func is tasks.add.func
    assert again.started_at is not None
    assert again.finished_at is not None


def test_queue_priority_and_kwargs(api: Any) -> None:
    result = tasks.shout.enqueue("hi", times=2)
    finished(result)
    assert result.return_value == {"word": "HIHI"}
    view = api.tasks.get(result.id)
    assert view["queue"] == "django-other-high"  # queue "other", priority 10
    assert result.kwargs == {"times": 2}


def test_get_result_reads_args_of_any_size_from_the_body(api: Any) -> None:
    word = "é" * 6000  # about 36 KB of JSON: more than a proxy takes in one header
    result = tasks.shout.enqueue(word, times=0)
    finished(result)
    assert result.return_value == {"word": ""}
    again = tasks.shout.get_result(result.id)
    assert again.args == [word]
    assert again.kwargs == {"times": 0}
    assert again.task.queue_name == "other"
    assert again.task.priority == 10

    basic = api.tasks.get(result.id)
    assert "body" not in basic["http_request"]
    assert [h for h in basic["http_request"]["headers"] if h.lower() != "content-type"] == []
    full = api.tasks.get(result.id, view="full")
    body = json.loads(base64.b64decode(full["http_request"]["body"]))
    assert body["task"] == "lsdj_app.tasks.shout"
    assert body["args"] == [word]
    assert full["http_request"]["body_bytes"] == len(base64.b64decode(full["http_request"]["body"]))


def test_a_task_that_fails_once_is_retried_and_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "flaky.log"
    result = tasks.flaky.enqueue(str(path))
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "ok after 2 runs"
    assert result.attempts == 2
    assert len(result.errors) == 1
    assert result.errors[0].exception_class_path == "builtins.RuntimeError"
    assert "first run fails" in result.errors[0].traceback
    assert result.errors[0].exception_class is RuntimeError
    assert len(lines(path)) == 2


def test_permanent_failure_is_failed_at_once(tmp_path: Path, api: Any) -> None:
    path = tmp_path / "doomed.log"
    result = tasks.doomed.enqueue(str(path))
    finished(result)
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 1
    assert result.errors[0].exception_class_path == "longshore.django.tasks.PermanentFailure"
    with pytest.raises(ValueError, match="failed"):
        _ = result.return_value
    assert api.tasks.get(result.id)["status"] == "dead"
    assert len(lines(path)) == 1


def test_permanent_exceptions_option_and_max_attempts(tmp_path: Path) -> None:
    never = tasks.never_retry.enqueue(str(tmp_path / "never.log"))
    always = tasks.always_fails.enqueue(str(tmp_path / "always.log"))
    finished(never)
    assert never.status == TaskResultStatus.FAILED
    assert never.attempts == 1
    assert never.errors[0].exception_class_path == "lsdj_app.tasks.NeverRetryError"
    finished(always)
    assert always.status == TaskResultStatus.FAILED
    assert always.attempts == 2  # the "short" backend's MAX_ATTEMPTS
    assert [e.exception_class_path for e in always.errors] == ["builtins.ValueError"] * 2
    assert len(lines(tmp_path / "always.log")) == 2


def test_deferred_task_does_not_run_before_run_after(tmp_path: Path) -> None:
    path = tmp_path / "deferred.log"
    run_after = timezone.now() + timedelta(seconds=3)
    result = tasks.record_time.using(run_after=run_after).enqueue(str(path))
    result.refresh()
    assert result.status == TaskResultStatus.READY
    assert result.task.run_after == run_after.replace(microsecond=result.task.run_after.microsecond)
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    # Longshore's record of the attempt, and the function's own clock, are both after run_after.
    assert result.started_at is not None
    assert result.started_at >= run_after - timedelta(milliseconds=1)
    ran_at = lines(path)[0]["at"]
    assert ran_at >= run_after.timestamp()
    assert result.return_value >= run_after.timestamp()


def test_signals_enqueued_started_finished(tmp_path: Path) -> None:
    recorders = {s: Recorder() for s in ("enqueued", "started", "finished")}
    task_enqueued.connect(recorders["enqueued"], weak=False)
    task_started.connect(recorders["started"], weak=False)
    task_finished.connect(recorders["finished"], weak=False)
    try:
        result = tasks.flaky.enqueue(str(tmp_path / "signals.log"))
        finished(result)
        got = {
            name: rec.matching(lambda kw: kw["task_result"].id == result.id)
            for name, rec in recorders.items()
        }
    finally:
        task_enqueued.disconnect(recorders["enqueued"])
        task_started.disconnect(recorders["started"])
        task_finished.disconnect(recorders["finished"])
    assert len(got["enqueued"]) == 1
    assert got["enqueued"][0]["sender"] is LongshoreBackend
    assert len(got["started"]) == 2  # one per attempt
    assert [kw["task_result"].attempts for kw in got["started"]] == [1, 2]
    assert len(got["finished"]) == 1  # only the final outcome
    final = got["finished"][0]["task_result"]
    assert final.status == TaskResultStatus.SUCCESSFUL
    assert final.return_value == "ok after 2 runs"


def test_async_task_and_context(tmp_path: Path) -> None:
    doubled = tasks.async_double.enqueue(21)
    ctx = tasks.with_context.enqueue(str(tmp_path / "ctx.log"))
    finished(doubled)
    finished(ctx)
    assert doubled.return_value == 42
    assert ctx.return_value == {"attempt": 1, "id": ctx.id}


def test_a_return_value_over_2kb_cannot_be_read_back() -> None:
    result = tasks.big.enqueue()
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    with pytest.raises(ResultUnavailable, match="2 KB"):
        _ = result.return_value


def test_enqueue_on_commit() -> None:
    from django.db import transaction

    enqueued = Recorder()
    task_enqueued.connect(enqueued, weak=False)
    try:
        with transaction.atomic():
            result = tasks.after_commit.enqueue(1)
            assert result.id.startswith("pending-")  # nothing in Longshore yet
            with pytest.raises(TaskResultDoesNotExist, match="commits"):
                tasks.after_commit.get_result(result.id)
            assert enqueued.items == []
        assert result.id.startswith("task_")  # created at the commit, the same object updated
        assert len(enqueued.items) == 1
        finished(result)
        assert result.return_value == 2

        with transaction.atomic():
            rolled_back = tasks.after_commit.enqueue(5)
            transaction.set_rollback(True)
        assert rolled_back.id.startswith("pending-")
        assert len(enqueued.items) == 1  # a rolled-back transaction enqueued nothing
    finally:
        task_enqueued.disconnect(enqueued)


def test_unknown_result_id() -> None:
    with pytest.raises(TaskResultDoesNotExist):
        tasks.add.get_result("task_00000000000000000000000000")


def _task_body(path: Path) -> bytes:
    return json.dumps(
        {
            "longshore_django": 1,
            "task": "lsdj_app.tasks.record_time",
            "args": [str(path)],
            "kwargs": {},
            "backend": "default",
            "queue_name": "default",
            "priority": 0,
            "max_attempts": 3,
        }
    ).encode()


def test_callback_refuses_bad_and_stale_signatures(django_stack: Any, tmp_path: Path) -> None:
    path = tmp_path / "forged.log"
    started = Recorder()
    task_started.connect(started, weak=False)
    url = django_stack.callback_url + "tasks/run/"
    body = _task_body(path)
    try:
        good = signed_headers(django_stack.task_secret, "task_forged1", body)
        wrong_secret = signed_headers(
            "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "task_forged1", body
        )
        tampered = dict(good)
        stale = signed_headers(
            django_stack.task_secret,
            "task_forged2",
            body,
            timestamp=int(timezone.now().timestamp()) - 3600,
        )
        answers = [
            httpx.post(url, content=body, headers=wrong_secret),
            httpx.post(url, content=body + b" ", headers=tampered),
            httpx.post(url, content=body, headers=stale),
            httpx.post(url, content=body, headers={"Content-Type": "application/json"}),
        ]
    finally:
        task_started.disconnect(started)
    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    assert "Stale" in answers[2].text
    assert not path.exists()
    assert started.items == []
    # The same request correctly signed runs (the refusals above were for the signature).
    good |= {"Longshore-Queue-Name": "django-default", "Longshore-Task-Attempt": "1"}
    ok = httpx.post(url, content=body, headers=good)
    assert ok.status_code == 200, ok.text
    assert len(lines(path)) == 1
