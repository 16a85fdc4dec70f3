"""The views Longshore calls: task callbacks (``tasks/run/``) and events (``events/``).

Both verify the Standard Webhooks signature (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``) with their secret (``LONGSHORE['TASK_SECRET']``,
``LONGSHORE['EVENT_SECRET']``; a list verifies with any of them, for rotations) and a timestamp
within ``LONGSHORE['WEBHOOK_TOLERANCE']`` seconds (300). A bad, missing or stale signature is
answered ``400`` and nothing runs and no signal is sent.

The events view answers ``200`` once the signals were sent, even when a receiver raised: the
receivers are called with ``send_robust`` and their exceptions are logged (logger
``longshore.django.events``), since an error in the app's own code would otherwise make
Longshore retry the delivery for a day and a half and then disable the endpoint. A receiver
that wants a retry must arrange it itself (e.g. enqueue a task). Keep receivers quick:
Longshore waits at most ``LONGSHORE_EVENT_TIMEOUT_SECS`` (15 s) for the answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from longshore.django import signals
from longshore.django.conf import get_settings
from longshore.django.events import ESP_NAME, LongshoreEvent, TrackingEvent

logger = logging.getLogger("longshore.django.events")
task_logger = logging.getLogger("longshore.django.tasks")


def _refuse(reason: str, log: logging.Logger) -> HttpResponse:
    log.warning("refused a Longshore request: %s", reason)
    return HttpResponse(reason, status=400, content_type="text/plain; charset=utf-8")


def _verified(
    request: HttpRequest, secrets: tuple[str, ...], name: str, log: logging.Logger
) -> HttpResponse | None:
    """None when the request is signed by one of ``secrets``; the 400 to answer otherwise."""
    from longshore.django._api import verify_webhook

    if not secrets:
        return _refuse(f"LONGSHORE['{name}'] is not set: cannot verify", log)
    problem = verify_webhook(request.body, request.headers, secrets, get_settings().tolerance)
    if problem:
        return _refuse(problem, log)
    return None


@method_decorator(csrf_exempt, name="dispatch")
class TaskRunView(View):
    """Runs the Django task a Longshore HTTP task names (see :mod:`longshore.django.tasks`)."""

    http_method_names = ["post"]  # noqa: RUF012 (Django's own attribute)

    def post(self, request: HttpRequest) -> HttpResponse:
        from longshore.django._api import parse_task
        from longshore.django.tasks import run_callback

        s = get_settings()
        if not s.task_secrets:
            return _refuse("LONGSHORE['TASK_SECRET'] is not set: cannot verify", task_logger)
        delivery, problem = parse_task(request.body, request.headers, s.task_secrets, s.tolerance)
        if delivery is None:
            return _refuse(problem or "not verified", task_logger)
        try:
            body = json.loads(request.body)
            if not isinstance(body, dict) or "task" not in body:
                raise ValueError("no task named")
        except ValueError as exc:
            # Signed, but not a request of this backend: no retry will make it runnable.
            return JsonResponse({"error": f"not a Django task request: {exc}"}, status=489)
        answer = run_callback(body, delivery.task_id, delivery.attempt, delivery.first_attempt)
        return JsonResponse(answer.body, status=answer.status)


@method_decorator(csrf_exempt, name="dispatch")
class EventsView(View):
    """Receives Longshore's events and sends the signals of :mod:`longshore.django.signals`."""

    http_method_names = ["post"]  # noqa: RUF012 (Django's own attribute)

    def post(self, request: HttpRequest) -> HttpResponse:
        refused = _verified(request, get_settings().event_secrets, "EVENT_SECRET", logger)
        if refused is not None:
            return refused
        try:
            payload = json.loads(request.body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return _refuse(f"the body is not a JSON event: {exc}", logger)
        event = LongshoreEvent.from_payload(payload, request.headers.get("webhook-id"))
        self.dispatch_event(event)
        return JsonResponse({"received": event.event_id})

    def dispatch_event(self, event: LongshoreEvent) -> None:
        sender = type(self)
        self._send(signals.event_received, sender, event)
        signal = signals.BY_GROUP.get(event.group)
        if signal is signals.tracking:
            tracking = TrackingEvent.from_event(event)
            self._send(signals.tracking, sender, tracking)
            anymail_event = _anymail_event(tracking)
            if anymail_event is not None:
                from anymail.signals import (  # type: ignore[import-untyped,unused-ignore]
                    tracking as anymail_tracking,
                )

                self._send(anymail_tracking, sender, anymail_event)
        elif signal is not None:
            self._send(signal, sender, event)

    @staticmethod
    def _send(signal: Any, sender: type, event: Any) -> None:
        for receiver, outcome in signal.send_robust(sender=sender, event=event, esp_name=ESP_NAME):
            if isinstance(outcome, BaseException):
                logger.error(
                    "a receiver of Longshore event %s (%s) raised; answered 200 anyway",
                    getattr(event, "event_id", "?"),
                    getattr(receiver, "__qualname__", receiver),
                    exc_info=(type(outcome), outcome, outcome.__traceback__),
                )


def _anymail_event(event: TrackingEvent) -> Any:
    try:
        from anymail.signals import (  # type: ignore[import-untyped,unused-ignore]
            AnymailTrackingEvent,
        )
    except ImportError:
        return None
    return AnymailTrackingEvent(**event.anymail_kwargs())
