"""Signals the events view sends (``path("longshore/", include("longshore.django.urls"))``).

Every receiver gets ``sender`` (the view's class, :class:`longshore.django.views.EventsView`),
``event`` (see below) and ``esp_name="Longshore"``.

- ``tracking``: ``email.*`` events, ``event`` a :class:`~longshore.django.events.TrackingEvent`
  with django-anymail's vocabulary and fields. When django-anymail is installed, anymail's own
  ``anymail.signals.tracking`` is sent as well, with a real ``AnymailTrackingEvent``, so
  existing anymail receivers work unchanged.
- ``document_event``: ``document.*`` and ``certificate_batch.*``;
- ``payment_event``: ``payment.*``, ``payout.*`` and ``expense.*``;
- ``report_event``: ``report.*``;
- ``task_event``: ``job.dead`` and ``task.dead``;
- ``endpoint_event``: ``endpoint.disabled``;
- ``event_received``: every event, before the one above; ``event`` a
  :class:`~longshore.django.events.LongshoreEvent`.

Events are delivered at least once: nothing is de-duplicated here, and ``event.event_id`` (the
``webhook-id``, the same on every retry and replay) is what receivers de-duplicate on.
"""

from __future__ import annotations

from django.dispatch import Signal

tracking = Signal()
document_event = Signal()
payment_event = Signal()
report_event = Signal()
task_event = Signal()
endpoint_event = Signal()
event_received = Signal()

#: Which signal an event type's group goes to (after ``event_received``).
BY_GROUP = {
    "email": tracking,
    "document": document_event,
    "certificate_batch": document_event,
    "payment": payment_event,
    "payout": payment_event,
    "expense": payment_event,
    "report": report_event,
    "job": task_event,
    "task": task_event,
    "endpoint": endpoint_event,
}
