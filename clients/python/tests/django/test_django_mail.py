"""The email backend against the real Longshore and an SMTP sink, with tracking coming back as
signals through the events view."""

from __future__ import annotations

import html as html_lib
import re
import uuid
from datetime import timedelta
from email.message import MIMEPart
from email.mime.application import MIMEApplication
from typing import Any

import httpx
import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone
from lsdj_helpers import poll

import django
from longshore.django.mail import EmailBackend, LongshoreEmailError, LongshoreUnsupportedFeature

pytestmark = pytest.mark.usefixtures("longshore_mail")

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def tracking_event(stack: Any, message_id: str, kind: str, signal: str = "tracking") -> Any:
    got = stack.signals[signal].wait_for(
        lambda kw: kw["event"].message_id == message_id and kw["event"].event_type == kind,
        timeout=30,
        what=f"{kind} for {message_id}",
    )
    assert got["esp_name"] == "Longshore"
    return got["event"]


def test_send_tracked_email_and_the_tracking_signals(django_stack: Any, smtp_sink: Any) -> None:
    subject = unique("Welcome")
    msg = EmailMultiAlternatives(subject, "Hello Ada", to=["Ada Lovelace <ada@example.com>"])
    msg.attach_alternative(
        '<p>Hello Ada, <a href="https://example.com/start?step=1&amp;x=2">start here</a></p>',
        "text/html",
    )
    msg.tags = ["welcome"]  # type: ignore[attr-defined]
    msg.metadata = {"user_id": "42"}  # type: ignore[attr-defined]
    msg.track_opens = True  # type: ignore[attr-defined]
    msg.track_clicks = True  # type: ignore[attr-defined]
    assert msg.send() == 1

    status = msg.longshore_status  # type: ignore[attr-defined]
    assert status.status == {"queued"}
    assert str(status.email_id).startswith("em_")
    assert str(status.message_id).startswith("<")
    assert status.recipients["ada@example.com"].status == "queued"
    assert status.recipients["ada@example.com"].email_id == status.email_id

    delivered = smtp_sink.wait_for(lambda m: m["Subject"] == subject)
    assert delivered["Message-ID"] == status.message_id
    assert delivered.envelope_rcpt == ["ada@example.com"]
    assert "Hello Ada" in delivered.get_body(("plain",)).get_content()
    html = delivered.get_body(("html",)).get_content()
    pixel = re.search(r'<img[^>]+src="([^"]*/t/o/[^"]+)"', html)
    link = re.search(r'href="([^"]*/t/c/[^"]+)"', html)
    assert pixel, html
    assert link, html

    opened = httpx.get(html_lib.unescape(pixel.group(1)), headers={"User-Agent": BROWSER})
    assert opened.status_code == 200
    clicked = httpx.get(
        html_lib.unescape(link.group(1)), headers={"User-Agent": BROWSER}, follow_redirects=False
    )
    assert clicked.status_code in {301, 302, 303, 307, 308}
    assert clicked.headers["location"] == "https://example.com/start?step=1&x=2"

    sent = tracking_event(django_stack, status.message_id, "sent")
    assert sent.recipient == "ada@example.com"
    assert sent.email_id == status.email_id
    assert sent.tags == ["welcome"]
    assert sent.metadata == {"user_id": "42"}
    assert sent.mta_response
    assert sent.mta_response.startswith("250")
    assert sent.timestamp is not None
    assert sent.event_id
    assert sent.esp_event["type"] == "email.sent"

    opened_event = tracking_event(django_stack, status.message_id, "opened")
    assert opened_event.recipient == "ada@example.com"
    assert opened_event.user_agent == BROWSER
    assert opened_event.tags == ["welcome"]
    assert opened_event.metadata == {"user_id": "42"}

    clicked_event = tracking_event(django_stack, status.message_id, "clicked")
    assert clicked_event.click_url == "https://example.com/start?step=1&x=2"
    assert clicked_event.recipient == "ada@example.com"
    assert clicked_event.user_agent == BROWSER
    assert clicked_event.metadata == {"user_id": "42"}

    # event_received saw each of them, with the same id
    django_stack.signals["event_received"].wait_for(
        lambda kw: kw["event"].event_id == clicked_event.event_id, timeout=5
    )

    if "anymail" in django_stack.signals:  # the bridge to django-anymail's own signal
        from anymail.signals import AnymailTrackingEvent

        for kind in ("sent", "opened", "clicked"):
            event = tracking_event(django_stack, status.message_id, kind, signal="anymail")
            assert isinstance(event, AnymailTrackingEvent)
            assert event.recipient == "ada@example.com"
            assert event.metadata == {"user_id": "42"}
        assert event.click_url == "https://example.com/start?step=1&x=2"
        anymail_status = msg.anymail_status  # type: ignore[attr-defined]
        assert anymail_status.message_id == status.message_id
        assert anymail_status.status == {"queued"}
        assert anymail_status.recipients["ada@example.com"].status == "queued"


def test_a_retried_send_mail_sends_once(api: Any, smtp_sink: Any) -> None:
    subject = unique("Receipt")
    # A retry after a lost answer: the same message sent again.
    assert mail.send_mail(subject, "Your receipt", None, ["bob@example.com"]) == 1
    assert mail.send_mail(subject, "Your receipt", None, ["bob@example.com"]) == 1
    first = EmailMessage(subject, "Your receipt", None, ["bob@example.com"])
    second = EmailMessage(subject, "Your receipt", None, ["bob@example.com"])
    first.send()
    second.send()
    email_id = first.longshore_status.email_id  # type: ignore[attr-defined]
    assert second.longshore_status.email_id == email_id  # type: ignore[attr-defined]

    smtp_sink.wait_for(lambda m: m["Subject"] == subject)
    poll(lambda: api.emails.get(email_id)["status"] == "sent", what="the email sent")
    assert [m["Subject"] for m in smtp_sink.messages].count(subject) == 1

    # A message that differs (here: its Message-ID header) is another email.
    third = EmailMessage(
        subject,
        "Your receipt",
        None,
        ["bob@example.com"],
        headers={"Message-ID": "<third@example.com>"},
    )
    third.send()
    assert third.longshore_status.email_id != email_id  # type: ignore[attr-defined]
    # ... and so is one with its own idempotency key.
    fourth = EmailMessage(subject, "Your receipt", None, ["bob@example.com"])
    fourth.idempotency_key = f"receipt-{uuid.uuid4()}"  # type: ignore[attr-defined]
    fourth.send()
    assert fourth.longshore_status.email_id not in {  # type: ignore[attr-defined]
        email_id,
        third.longshore_status.email_id,  # type: ignore[attr-defined]
    }


def test_attachments_arrive_intact(smtp_sink: Any) -> None:
    subject = unique("Files")
    binary = bytes(range(256)) * 40
    msg = EmailMessage(
        subject,
        "See attached",
        None,
        ["carol@example.com"],
        cc=["dave@example.com"],
        bcc=["erin@example.com"],
        reply_to=["support@example.com"],
    )
    msg.attach("data.bin", binary, "application/octet-stream")
    msg.attach("notes.txt", "héllo wörld\n", "text/plain")
    if django.VERSION >= (6, 1):  # MIMEBase attachments are deprecated there
        part: Any = MIMEPart()
        part.set_content(b"%PDF-1.4 fake", "application", "pdf", filename="doc.pdf")
    else:
        part = MIMEApplication(b"%PDF-1.4 fake", _subtype="pdf")
        part.add_header("Content-Disposition", "attachment", filename="doc.pdf")
    msg.attach(part)
    assert msg.send() == 1

    delivered = smtp_sink.wait_for(lambda m: m["Subject"] == subject)
    assert sorted(delivered.envelope_rcpt) == [
        "carol@example.com",
        "dave@example.com",
        "erin@example.com",
    ]
    assert delivered["Cc"] == "dave@example.com"
    assert "erin" not in str(delivered)
    assert "support@example.com" in delivered["Reply-To"]
    files = {a.get_filename(): a for a in delivered.iter_attachments()}
    assert set(files) == {"data.bin", "notes.txt", "doc.pdf"}
    assert files["data.bin"].get_payload(decode=True) == binary
    assert files["notes.txt"].get_payload(decode=True).decode() == "héllo wörld\n"
    assert files["notes.txt"].get_content_type() == "text/plain"
    assert files["doc.pdf"].get_payload(decode=True) == b"%PDF-1.4 fake"
    assert files["doc.pdf"].get_content_type() == "application/pdf"


def test_merge_data_sends_one_message_per_recipient(api: Any, smtp_sink: Any) -> None:
    name = f"greeting-{uuid.uuid4().hex[:8]}"
    api.templates.create(
        {
            "name": name,
            "subject": "Hi {{ name }}",
            "html": "<p>Hello {{ name }}, welcome to {{ product }}</p>",
        }
    )
    msg = EmailMessage(to=["ann@example.com", "Ben <ben@example.com>"])
    msg.template_id = name  # type: ignore[attr-defined]
    msg.merge_global_data = {"product": "Longshore"}  # type: ignore[attr-defined]
    msg.merge_data = {  # type: ignore[attr-defined]
        "ann@example.com": {"name": "Ann"},
        "ben@example.com": {"name": "Ben"},
    }
    msg.merge_metadata = {"ann@example.com": {"user": "1"}}  # type: ignore[attr-defined]
    assert msg.send() == 1
    status = msg.longshore_status  # type: ignore[attr-defined]
    assert isinstance(status.email_id, set)
    assert len(status.email_id) == 2
    assert set(status.recipients) == {"ann@example.com", "ben@example.com"}
    for who in ("Ann", "Ben"):
        got = smtp_sink.wait_for(lambda m, who=who: m["Subject"] == f"Hi {who}")
        assert got.envelope_rcpt == [f"{who.lower()}@example.com"]
        assert f"Hello {who}, welcome to Longshore" in got.get_body(("html",)).get_content()
    ann = api.emails.get(status.recipients["ann@example.com"].email_id)
    assert ann["metadata"] == {"user": "1"}


def test_send_defaults_and_send_at(settings: Any, api: Any) -> None:
    settings.LONGSHORE = {
        **settings.LONGSHORE,
        "SEND_DEFAULTS": {"tags": ["app"], "metadata": {"env": "test"}, "track_clicks": False},
    }
    msg = EmailMessage(unique("Later"), "Tomorrow's news", None, ["fay@example.com"])
    msg.tags = ["news"]  # type: ignore[attr-defined]
    msg.metadata = {"id": "7"}  # type: ignore[attr-defined]
    msg.send_at = timezone.now() + timedelta(hours=1)  # type: ignore[attr-defined]
    assert msg.send() == 1
    status = msg.longshore_status  # type: ignore[attr-defined]
    assert status.status == {"scheduled"}
    view = api.emails.get(status.email_id)
    assert view["tags"] == ["app", "news"]
    assert view["metadata"] == {"env": "test", "id": "7"}
    assert view["track_clicks"] is False
    assert view["send_at"]
    api.emails.cancel(status.email_id)


def test_refusals_name_the_field_and_fail_silently() -> None:
    bad = EmailMessage(unique("Bad"), "x", None, ["not an address"])
    with pytest.raises(LongshoreEmailError) as info:
        bad.send()
    assert info.value.status == 422
    assert any(f.startswith("to") for f in info.value.fields), info.value.errors
    assert "not an address" in str(info.value)
    assert EmailBackend(fail_silently=True).send_messages([bad]) == 0

    custom = EmailMessage(
        unique("Header"), "x", None, ["gus@example.com"], headers={"X-Campaign": "7"}
    )
    with pytest.raises(LongshoreUnsupportedFeature, match="X-Campaign"):
        custom.send()
