"""Email to the SMTP sink and a certificate PDF, through the client."""

from __future__ import annotations

import uuid

from longshore import Client
from longshore_stack import SmtpSink, wait_until


def test_email_reaches_the_smtp_sink(client: Client, smtp_sink: SmtpSink) -> None:
    marker = uuid.uuid4().hex[:12]
    email = client.emails.create(
        {
            "from": "Longshore Tests <tests@example.com>",
            "to": ["Ada Lovelace <ada@example.com>"],
            "subject": f"Hello {marker}",
            "html": "<p>Hello <a href='https://example.com/'>there</a></p>",
            "tags": ["welcome"],
        }
    )
    assert email["id"].startswith("em_")
    msg = smtp_sink.wait_for(lambda m: marker in str(m["Subject"]))
    assert msg.envelope_rcpt == ["ada@example.com"]
    assert "tests@example.com" in str(msg["From"])
    sent = wait_until(
        lambda: (e := client.emails.get(email["id"]))["status"] == "sent" and e,
        what="the email to be sent",
    )
    assert sent["message_id"]
    assert any(e["id"] == email["id"] for e in client.emails.list(tag="welcome")["data"])


def test_certificate_pdf(client: Client) -> None:
    doc = client.documents.create(
        kind="certificate",
        data={
            "recipient_name": "Ada Lovelace",
            "course_title": "Analytical Engines",
            "issued_on": "2026-01-15",
        },
        metadata={"test": "client"},
    )
    ready = wait_until(
        lambda: (d := client.documents.get(doc["id"]))["status"] in ("ready", "failed") and d,
        timeout=60,
        what="the certificate to render",
    )
    assert ready["status"] == "ready", ready
    pdf = client.documents.content(doc["id"])
    assert pdf.startswith(b"%PDF")
    assert len(pdf) == ready.get("bytes", len(pdf))
