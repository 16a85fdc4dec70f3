"""The objects the events view's signals carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ESP_NAME = "Longshore"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time as an aware datetime (None when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class LongshoreEvent:
    """Any event Longshore sent: ``event_id`` (the ``webhook-id``: de-duplicate on it),
    ``type`` (``document.ready``), ``timestamp``, ``data`` (the event's ``data``) and
    ``payload`` (the whole body)."""

    event_id: str
    type: str
    timestamp: datetime | None
    data: dict[str, Any]
    payload: dict[str, Any]

    @property
    def group(self) -> str:
        """``document`` for ``document.ready``."""
        return self.type.split(".", 1)[0]

    @classmethod
    def from_payload(cls, payload: dict[str, Any], event_id: str | None = None) -> LongshoreEvent:
        data = payload.get("data")
        return cls(
            event_id=str(payload.get("id") or event_id or ""),
            type=str(payload.get("type") or ""),
            timestamp=parse_time(payload.get("timestamp")),
            data=data if isinstance(data, dict) else {},
            payload=payload,
        )


@dataclass
class TrackingEvent:
    """An email event in django-anymail's vocabulary (``AnymailTrackingEvent``'s fields).

    ``event_type``: ``sent``, ``deferred``, ``bounced``, ``failed``, ``opened``, ``clicked``,
    ``unsubscribed`` or ``rejected`` (a suppressed recipient). ``message_id`` is the
    ``Message-ID`` Longshore set (the one ``message.longshore_status.message_id`` holds);
    ``email_id`` the ``em_…`` id. ``recipient`` is set for an email with one recipient and for
    ``rejected``; ``recipients`` always lists the addresses concerned. ``esp_event`` is the
    whole event as Longshore sent it. Longshore's extras: ``machine``/``machine_reason``
    (automated opens and clicks), ``unconfirmed`` and ``attempt``.
    """

    event_type: str
    timestamp: datetime | None = None
    event_id: str | None = None
    esp_event: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    recipient: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    click_url: str | None = None
    user_agent: str | None = None
    mta_response: str | None = None
    reject_reason: str | None = None
    description: str | None = None
    email_id: str | None = None
    recipients: list[str] = field(default_factory=list)
    machine: bool = False
    machine_reason: str | None = None
    unconfirmed: bool = False
    attempt: int | None = None
    longshore_type: str = ""

    #: anymail's ``AnymailTrackingEvent`` keyword arguments (what its constructor takes).
    ANYMAIL_FIELDS = (
        "event_type",
        "timestamp",
        "event_id",
        "esp_event",
        "message_id",
        "recipient",
        "tags",
        "metadata",
        "click_url",
        "user_agent",
        "mta_response",
        "reject_reason",
        "description",
    )

    @classmethod
    def from_event(cls, event: LongshoreEvent) -> TrackingEvent:
        d = event.data
        recipients = [str(r) for r in d.get("recipients") or []]
        recipient = d.get("recipient") or (recipients[0] if len(recipients) == 1 else None)
        metadata = d.get("metadata")
        attempt = d.get("attempt")
        return cls(
            event_type=str(d.get("event_type") or event.type.split(".", 1)[-1]),
            timestamp=parse_time(d.get("timestamp")) or event.timestamp,
            event_id=event.event_id,
            esp_event=event.payload,
            message_id=d.get("message_id"),
            recipient=recipient,
            tags=[str(t) for t in d.get("tags") or []],
            metadata=metadata if isinstance(metadata, dict) else {},
            click_url=d.get("click_url"),
            user_agent=d.get("user_agent"),
            mta_response=d.get("mta_response"),
            reject_reason=d.get("reject_reason"),
            description=d.get("description"),
            email_id=d.get("email_id"),
            recipients=recipients,
            machine=bool(d.get("machine", False)),
            machine_reason=d.get("machine_reason"),
            unconfirmed=bool(d.get("unconfirmed", False)),
            attempt=attempt if isinstance(attempt, int) else None,
            longshore_type=event.type,
        )

    def anymail_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.ANYMAIL_FIELDS}
