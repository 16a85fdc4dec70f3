"""The few client calls the Django integration makes, in one place."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, cast

from longshore.errors import ConflictError, NotFoundError, UnprocessableEntityError

if TYPE_CHECKING:
    from longshore import Client


def create_email(client: Client, body: dict[str, Any], key: str) -> dict[str, Any]:
    view = client.emails.create(cast(Any, body), idempotency_key=key)
    return cast(dict[str, Any], view)


def create_queue(client: Client, body: dict[str, Any]) -> None:
    with contextlib.suppress(ConflictError):  # it exists: its settings are the operator's
        client.queues.create(cast(Any, body))


def create_task(client: Client, body: dict[str, Any], key: str) -> dict[str, Any]:
    try:
        view = client.tasks.create(cast(Any, body), idempotency_key=key)
    except UnprocessableEntityError as exc:
        # The queue was deleted since this process created it: create it again, once.
        if "queue" not in exc.fields:
            raise
        create_queue(client, {"name": body["queue"]})
        view = client.tasks.create(cast(Any, body), idempotency_key=key)
    return cast(dict[str, Any], view)


def get_task(client: Client, task_id: str) -> dict[str, Any] | None:
    """The task with its request's body (``view="full"``); None when Longshore has none."""
    try:
        return cast(dict[str, Any], client.tasks.get(task_id, view="full"))
    except NotFoundError:
        return None


def verify_webhook(
    body: bytes, headers: Any, secrets: tuple[str, ...], tolerance: int
) -> str | None:
    """None when ``body`` is signed by one of ``secrets`` within ``tolerance``; why not else."""
    from longshore import webhooks

    try:
        webhooks.verify(list(secrets), headers, body, tolerance=tolerance)
    except webhooks.WebhookVerificationError as exc:
        return f"{type(exc).__name__}: {exc}"
    except ValueError as exc:  # a secret that is not whsec_… (manage.py check says which)
        return f"the configured secret is unusable: {exc}"
    return None


def parse_task(
    body: bytes, headers: Any, secrets: tuple[str, ...], tolerance: int
) -> tuple[Any, str | None]:
    """``(TaskRequest, None)`` for a verified HTTP-task request, ``(None, why not)`` else."""
    from longshore import webhooks

    try:
        return webhooks.parse_task(list(secrets), headers, body, tolerance=tolerance), None
    except webhooks.WebhookVerificationError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    except ValueError as exc:
        return None, f"the configured secret is unusable: {exc}"
