"""The events view: real events from Longshore (a certificate rendered), forged and stale ones
refused, receivers' exceptions contained."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from lsdj_helpers import Recorder, signed_headers

from longshore.django import signals
from longshore.django.events import LongshoreEvent
from longshore.django.views import EventsView

pytestmark = pytest.mark.usefixtures("django_stack")


def test_document_events_from_longshore(django_stack: Any, api: Any) -> None:
    doc = api.documents.create(
        {
            "kind": "certificate",
            "data": {
                "recipient_name": "Ada Lovelace",
                "course_title": "Analytical Engines",
                "issued_on": "2026-12-07",
            },
            "metadata": {"order": "17"},
        }
    )
    got = django_stack.signals["document_event"].wait_for(
        lambda kw: (
            kw["event"].type == "document.ready"
            and kw["event"].data.get("document_id", kw["event"].data.get("id")) == doc["id"]
        ),
        timeout=60,
        what="document.ready",
    )
    event = got["event"]
    assert isinstance(event, LongshoreEvent)
    assert got["sender"] is EventsView
    assert event.group == "document"
    assert event.event_id.startswith("msg_") or event.event_id
    assert event.data.get("metadata") == {"order": "17"}
    # event_received got the same event first
    django_stack.signals["event_received"].wait_for(
        lambda kw: kw["event"].event_id == event.event_id, timeout=5
    )


def _event(kind: str = "email.opened") -> tuple[str, bytes]:
    event_id = f"msg_test{uuid.uuid4().hex[:12]}"
    body = json.dumps(
        {
            "id": event_id,
            "type": kind,
            "timestamp": "2026-12-07T15:04:05.123Z",
            "data": {
                "event_type": kind.split(".")[1],
                "email_id": "em_x",
                "message_id": "<x@y>",
                "recipient": "ada@example.com",
                "recipients": ["ada@example.com"],
                "tags": [],
                "metadata": {},
                "timestamp": "2026-12-07T15:04:05.123Z",
                "machine": False,
                "unconfirmed": False,
            },
        }
    ).encode()
    return event_id, body


def test_forged_and_stale_events_are_refused(django_stack: Any) -> None:
    url = django_stack.callback_url + "events/"
    seen = Recorder()
    signals.event_received.connect(seen, weak=False)
    try:
        event_id, body = _event()
        wrong = signed_headers(
            "whsec_" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=", event_id, body
        )
        stale = signed_headers(
            django_stack.event_secret, event_id, body, timestamp=int(time.time()) - 600
        )
        future = signed_headers(
            django_stack.event_secret, event_id, body, timestamp=int(time.time()) + 600
        )
        good = signed_headers(django_stack.event_secret, event_id, body)
        answers = [
            httpx.post(url, content=body, headers=wrong),
            httpx.post(url, content=body.replace(b"ada@", b"eve@"), headers=good),
            httpx.post(url, content=body, headers=stale),
            httpx.post(url, content=body, headers=future),
            httpx.post(url, content=body, headers={"Content-Type": "application/json"}),
        ]
        assert [a.status_code for a in answers] == [400] * 5
        assert seen.matching(lambda kw: True) == []
        assert (
            django_stack.signals["tracking"].matching(lambda kw: kw["event"].event_id == event_id)
            == []
        )
        # The same event signed with the endpoint's secret goes through.
        ok = httpx.post(url, content=body, headers=good)
        assert ok.status_code == 200
        assert ok.json() == {"received": event_id}
        assert len(seen.matching(lambda kw: kw["event"].event_id == event_id)) == 1
    finally:
        signals.event_received.disconnect(seen)


def test_a_failing_receiver_does_not_fail_the_delivery(django_stack: Any) -> None:
    after = Recorder()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("a bug in the app's receiver")

    signals.tracking.connect(broken, weak=False, dispatch_uid="broken")
    signals.tracking.connect(after, weak=False, dispatch_uid="after")
    try:
        event_id, body = _event("email.clicked")
        answer = httpx.post(
            django_stack.callback_url + "events/",
            content=body,
            headers=signed_headers(django_stack.event_secret, event_id, body),
        )
    finally:
        signals.tracking.disconnect(dispatch_uid="broken")
        signals.tracking.disconnect(dispatch_uid="after")
    assert answer.status_code == 200
    assert len(after.matching(lambda kw: kw["event"].event_id == event_id)) == 1


def test_the_same_event_twice_is_passed_on_twice_with_its_id(django_stack: Any) -> None:
    seen = Recorder()
    signals.event_received.connect(seen, weak=False)
    try:
        event_id, body = _event("email.sent")
        for _ in range(2):
            headers = signed_headers(django_stack.event_secret, event_id, body)
            assert (
                httpx.post(
                    django_stack.callback_url + "events/", content=body, headers=headers
                ).status_code
                == 200
            )
    finally:
        signals.event_received.disconnect(seen)
    assert [kw["event"].event_id for kw in seen.items] == [event_id, event_id]
