"""Longshore's events, stored in the example's database."""

from typing import Any

from django.db.models import F
from django.dispatch import receiver

from longshore.django.signals import event_received, tracking
from shop.models import ReceivedEvent


@receiver(event_received)
def store_event(sender: Any, event: Any, **kwargs: Any) -> None:
    data = event.data
    summary = ", ".join(
        f"{k}={data[k]}"
        for k in ("event_type", "recipient", "click_url", "document_id", "status", "task_id")
        if data.get(k)
    )
    _, created = ReceivedEvent.objects.get_or_create(
        event_id=event.event_id,
        defaults={"type": event.type, "summary": summary[:300], "payload": event.payload},
    )
    if not created:  # a redelivery: same id, counted, not stored twice
        ReceivedEvent.objects.filter(event_id=event.event_id).update(deliveries=F("deliveries") + 1)


@receiver(tracking)
def log_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    # anymail's vocabulary: event.event_type is "sent", "opened", "clicked", …
    print(f"[{esp_name}] {event.event_type} {event.recipient or ''} {event.click_url or ''}")
