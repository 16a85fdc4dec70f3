"""A Django email backend that sends through Longshore (``POST /v1/emails``).

``settings.py``::

    EMAIL_BACKEND = "longshore.django.mail.EmailBackend"          # Django 5.2 / 6.0
    MAILERS = {"default": {"BACKEND": "longshore.django.mail.EmailBackend"}}   # Django 6.1+

``OPTIONS`` under ``MAILERS`` (or keyword arguments of ``get_connection``): ``api_url``,
``api_key``, ``timeout`` (each defaults to the ``LONGSHORE`` setting), ``send_defaults``
(instead of ``LONGSHORE['SEND_DEFAULTS']``) and ``fail_silently``.

What is sent, from a Django ``EmailMessage`` / ``EmailMultiAlternatives``:

- ``from_email``, ``to``, ``cc``, ``bcc``, ``reply_to`` (several are joined with ``", "``),
  ``subject``; the body as ``text`` (or ``html`` when ``content_subtype = "html"``), a
  ``text/html`` alternative as ``html``;
- attachments (``attach()``, ``attach_file()``, ``MIMEBase``/``MIMEPart`` parts) inline,
  base64-encoded (``{"filename", "content_type", "content"}``), and stored Longshore PDFs named in
  ``message.document_ids = ["doc_…"]``;
- django-anymail's attributes: ``tags``, ``metadata``, ``track_opens``, ``track_clicks``,
  ``template_id`` (→ ``template``), ``merge_global_data`` (→ ``variables``), ``merge_data`` and
  ``merge_metadata`` (per recipient: each ``to`` address gets a message of its own, as anymail's
  batch sends do), ``send_at`` (aware or naive ``datetime``, ``date``, or a Unix timestamp),
  ``esp_extra`` (merged last into the request body, for fields this backend does not map);
- ``SEND_DEFAULTS`` combined as anymail combines them: ``tags`` concatenated, ``metadata``
  and ``merge_global_data`` merged (the message's keys win), the rest used when the message
  has none.

Headers: Longshore sets its own ``Message-ID`` and has no custom headers, so ``extra_headers``
other than ``Message-ID`` and ``Reply-To`` raise :class:`LongshoreUnsupportedFeature`
(``LONGSHORE['IGNORE_UNSUPPORTED_FEATURES'] = True`` drops them instead).

**Idempotency.** Every request carries ``Idempotency-Key: django-<sha256>`` over a canonical JSON
of exactly what is sent plus the ``Message-ID`` header the app set (if any). A ``send_mail``
retried after a lost answer (a timeout, a worker restart) finds the email the first call
created: it never sends twice. The consequence: **two identical messages (same sender,
recipients, subject, bodies, attachments, attributes) within Longshore's 24-hour idempotency
window are one email.** When repeating a message on purpose (a second identical reminder),
make them differ: set ``message.idempotency_key``, or a ``Message-ID`` header
(``make_msgid()``), or anything in the message.

After sending, ``message.longshore_status`` (a :class:`LongshoreStatus`, shaped like anymail's
``AnymailStatus``) says ``status`` (a set of anymail's statuses ``queued``, ``sent``,
``rejected``, ``failed``, plus ``scheduled`` for a ``send_at`` in the future, which
``anymail_status`` calls ``queued`` as anymail does), ``message_id`` (the ``Message-ID``
Longshore set, which the
``tracking`` events carry; a set when ``merge_data`` made several), ``email_id`` (``em_…``),
``recipients`` ({address: status}) and ``esp_response`` (the API's answers). When django-anymail
is installed, ``message.anymail_status`` is set too, a real ``AnymailStatus``, so code written
for anymail keeps working.

Errors raise :class:`LongshoreEmailError` (the API's problem details: ``status``, ``errors``,
naming each field), unless ``fail_silently``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import mimetypes
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from email.message import Message
from email.utils import parseaddr
from typing import Any

from django.conf import settings as django_settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone

from longshore.django._client import get_client
from longshore.django.conf import get_settings

ESP_NAME = "Longshore"

#: Longshore's email statuses in anymail's words.
STATUS_WORDS = {
    "queued": "queued",
    "sending": "queued",
    "deferred": "queued",
    "sent": "sent",
    "bounced": "failed",
    "failed": "failed",
    "suppressed": "rejected",
    "cancelled": "failed",
}


class LongshoreEmailError(Exception):
    """Longshore refused a message, or could not be reached.

    ``status`` is the HTTP status (None when no answer came), ``errors`` the problem's field
    errors (``[{"field": "to", "message": "…"}]``), ``api_error`` the client's exception.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: Sequence[dict[str, Any]] = (),
        api_error: BaseException | None = None,
        email_message: EmailMessage | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = list(errors)
        self.api_error = api_error
        self.email_message = email_message

    @property
    def fields(self) -> list[str]:
        """The request fields the errors name."""
        return [str(e.get("field")) for e in self.errors if e.get("field")]


class LongshoreUnsupportedFeature(LongshoreEmailError):  # noqa: N818 (anymail's name)
    """The message uses something Longshore cannot send (a custom header, a second HTML part)."""


class LongshoreRecipientStatus:
    """One recipient's outcome (anymail's ``AnymailRecipientStatus``, with ``email_id``)."""

    def __init__(self, message_id: str | None, status: str | None, email_id: str | None) -> None:
        self.message_id = message_id
        self.status = status
        self.email_id = email_id

    def __repr__(self) -> str:
        return f"LongshoreRecipientStatus({self.message_id!r}, {self.status!r})"


class LongshoreStatus:
    """A sent message's status (anymail's ``AnymailStatus`` shape).

    ``message_id`` / ``email_id``: one value, or a set when the message became several emails
    (``merge_data``); ``status``: the set of recipients' statuses; ``recipients``: {address:
    :class:`LongshoreRecipientStatus`}; ``esp_response``: the ``EmailView``s Longshore answered.
    """

    def __init__(self) -> None:
        self.message_id: str | set[str] | None = None
        self.email_id: str | set[str] | None = None
        self.status: set[str] | None = None
        self.recipients: dict[str, LongshoreRecipientStatus] = {}
        self.esp_response: list[dict[str, Any]] = []

    def add(self, view: dict[str, Any], scheduled: bool) -> None:
        self.esp_response.append(view)
        word = STATUS_WORDS.get(str(view.get("status")), "unknown")
        if word == "queued" and scheduled:
            word = "scheduled"
        suppressed = {a.lower() for a in view.get("suppressed_recipients") or []}
        for field in ("to", "cc", "bcc"):
            for addr in view.get(field) or []:
                email = parseaddr(addr)[1] or addr
                status = "rejected" if email.lower() in suppressed else word
                self.recipients[email] = LongshoreRecipientStatus(
                    view.get("message_id"), status, view.get("id")
                )
        self.status = {r.status for r in self.recipients.values() if r.status} or {word}
        self.message_id = _one_or_set(v.get("message_id") for v in self.esp_response)
        self.email_id = _one_or_set(v.get("id") for v in self.esp_response)

    def __repr__(self) -> str:
        return (
            f"LongshoreStatus<status={self.status!r}, message_id={self.message_id!r}, "
            f"{len(self.recipients)} recipients>"
        )


def _one_or_set(values: Iterable[Any]) -> Any:
    found = {v for v in values if v}
    if not found:
        return None
    return found.pop() if len(found) == 1 else found


# ---------------------------------------------------------------------------------------------
# Building the request bodies


def _rfc3339(value: Any) -> str:
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, datetime):
        moment = value
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_current_timezone())
    elif isinstance(value, date):
        moment = timezone.make_aware(
            datetime.combine(value, time(0)), timezone.get_current_timezone()
        )
    elif isinstance(value, str):
        return value
    else:
        raise LongshoreEmailError(
            f"send_at must be a datetime, a date or a Unix timestamp, not {type(value).__name__}",
            errors=[{"field": "send_at", "message": "not a time"}],
        )
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    return str(value)  # lazy translations and the like


def _attachment(item: Any) -> dict[str, Any]:
    filename: str
    mimetype: str | None
    if isinstance(item, Message):  # MIMEBase (5.2) or MIMEPart (6.1) attachments
        payload = item.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = item.get_filename() or "attachment"
        mimetype = item.get_content_type()
    else:
        filename, raw = item[0] or "attachment", item[1]
        mimetype = item[2] if len(item) > 2 else None
        if isinstance(raw, EmailMessage):  # an attached message
            raw, mimetype = raw.message().as_bytes(), mimetype or "message/rfc822"
        content = raw.encode() if isinstance(raw, str) else bytes(raw)
        if not mimetype:
            mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return {
        "filename": str(filename),
        "content_type": str(mimetype),
        "content": base64.b64encode(content).decode("ascii"),
    }


def _combine(message: EmailMessage, defaults: dict[str, Any], attr: str) -> Any:
    """The message's attribute combined with ``SEND_DEFAULTS`` as anymail combines them."""
    value = getattr(message, attr, None)
    default = defaults.get(attr)
    if attr == "tags":
        return [*(default or []), *(value or [])] or None
    if attr in {"metadata", "merge_global_data"}:
        merged = {**(default or {}), **(value or {})}
        return merged or None
    if attr == "esp_extra":
        merged = copy.deepcopy(default or {})
        _update_deep(merged, value or {})
        return merged or None
    return value if value is not None else default


def _update_deep(target: dict[str, Any], other: dict[str, Any]) -> None:
    for k, v in other.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _update_deep(target[k], v)
        else:
            target[k] = v


def build_requests(
    message: EmailMessage,
    send_defaults: dict[str, Any] | None = None,
    ignore_unsupported: bool | None = None,
) -> list[tuple[dict[str, Any], str]]:
    """The ``POST /v1/emails`` bodies for ``message`` with their ``Idempotency-Key``s: one, or
    one per ``to`` recipient with ``merge_data``."""
    s = get_settings()
    defaults = s.send_defaults if send_defaults is None else send_defaults
    ignore = s.ignore_unsupported_features if ignore_unsupported is None else ignore_unsupported

    def unsupported(what: str, field: str) -> None:
        if not ignore:
            raise LongshoreUnsupportedFeature(
                f"Longshore cannot send {what}; "
                "LONGSHORE['IGNORE_UNSUPPORTED_FEATURES'] = True drops it instead",
                errors=[{"field": field, "message": "not supported"}],
                email_message=message,
            )

    body: dict[str, Any] = {}
    from_email = message.from_email or django_settings.DEFAULT_FROM_EMAIL
    from_default = defaults.get("from_email")
    body["from"] = _text(from_default if not message.from_email and from_default else from_email)
    body["to"] = [_text(a) for a in message.to]
    cc = [_text(a) for a in [*(defaults.get("cc") or []), *message.cc]]
    bcc = [_text(a) for a in [*(defaults.get("bcc") or []), *message.bcc]]
    if cc:
        body["cc"] = cc
    if bcc:
        body["bcc"] = bcc
    reply_to = [_text(a) for a in (message.reply_to or defaults.get("reply_to") or [])]

    message_id_header: str | None = None
    for name, value in (message.extra_headers or {}).items():
        lower = name.lower()
        if lower == "message-id":
            message_id_header = _text(value)
        elif lower == "reply-to":
            if not reply_to:
                reply_to = [a.strip() for a in _text(value).split(",") if a.strip()]
        elif lower in {"from", "to", "cc"}:
            continue  # display overrides of what is sent anyway
        else:
            unsupported(f"the header {name!r} (custom headers)", f"extra_headers.{name}")
    if reply_to:
        body["reply_to"] = ", ".join(reply_to)
    if message.subject:
        body["subject"] = _text(message.subject)

    text: str | None = None
    html: str | None = None
    if message.body:
        if message.content_subtype == "html":
            html = _text(message.body)
        else:
            text = _text(message.body)
    for alternative in getattr(message, "alternatives", None) or []:
        content, mimetype = alternative[0], alternative[1]
        if mimetype == "text/html" and html is None:
            html = _text(content)
        elif mimetype == "text/plain" and text is None:
            text = _text(content)
        else:
            unsupported(f"an alternative part of type {mimetype!r}", "alternatives")
    if text is not None:
        body["text"] = text
    if html is not None:
        body["html"] = html

    attachments = [_attachment(a) for a in message.attachments]
    attachments += [{"document_id": d} for d in getattr(message, "document_ids", None) or []]
    if attachments:
        body["attachments"] = attachments

    tags = _combine(message, defaults, "tags")
    if tags:
        body["tags"] = [_text(t) for t in tags]
    metadata = _combine(message, defaults, "metadata")
    if metadata:
        body["metadata"] = metadata
    for attr in ("track_opens", "track_clicks"):
        value = _combine(message, defaults, attr)
        if value is not None:
            body[attr] = bool(value)
    template = _combine(message, defaults, "template_id")
    if template:
        body["template"] = _text(template)
    variables = _combine(message, defaults, "merge_global_data")
    if variables:
        body["variables"] = variables
    send_at = _combine(message, defaults, "send_at")
    if send_at is not None:
        body["send_at"] = _rfc3339(send_at)
    esp_extra = _combine(message, defaults, "esp_extra")

    merge_data: dict[str, dict[str, Any]] | None = getattr(message, "merge_data", None)
    merge_metadata: dict[str, dict[str, Any]] | None = getattr(message, "merge_metadata", None)
    bodies: list[dict[str, Any]]
    if merge_data is not None or merge_metadata is not None:
        if cc or bcc:
            unsupported("cc or bcc with merge_data (each recipient gets a message)", "cc")
            body.pop("cc", None)
            body.pop("bcc", None)
        bodies = []
        for recipient in body["to"]:
            one = dict(body)
            one["to"] = [recipient]
            email = parseaddr(recipient)[1] or recipient
            per = (merge_data or {}).get(email)
            if per or variables:
                one["variables"] = {**(variables or {}), **(per or {})}
            per_meta = (merge_metadata or {}).get(email)
            if per_meta or metadata:
                one["metadata"] = {**(metadata or {}), **(per_meta or {})}
            bodies.append(one)
    else:
        bodies = [body]

    if esp_extra:
        for one in bodies:
            _update_deep(one, copy.deepcopy(esp_extra))

    override = getattr(message, "idempotency_key", None)
    out = []
    for one in bodies:
        if override:
            key = str(override)
            if len(bodies) > 1:
                key += "-" + hashlib.sha256(json.dumps(one["to"]).encode()).hexdigest()[:16]
        else:
            canonical = json.dumps(
                {"email": one, "message_id": message_id_header},
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
                default=str,
            )
            key = "django-" + hashlib.sha256(canonical.encode()).hexdigest()
        out.append((one, key))
    return out


# ---------------------------------------------------------------------------------------------
# The backend


def _wrap_api_error(exc: BaseException, message: EmailMessage) -> LongshoreEmailError:
    status = getattr(exc, "status", None)
    errors = getattr(exc, "errors", None) or []
    errors = [
        e
        if isinstance(e, dict)
        else {"field": getattr(e, "field", None), "message": getattr(e, "message", str(e))}
        for e in errors
    ]
    detail = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors if e.get("field"))
    text = detail if detail else str(exc)
    to = ", ".join(str(a) for a in message.to)
    where = f"{status}" if status is not None else "no answer"
    return LongshoreEmailError(
        f"Longshore did not take the email to {to} ({where}): {text}",
        status=status,
        errors=errors,
        api_error=exc,
        email_message=message,
    )


def _set_anymail_status(message: EmailMessage, status: LongshoreStatus) -> None:
    try:
        from anymail.message import (  # type: ignore[import-untyped,unused-ignore]
            ANYMAIL_STATUSES,
            AnymailRecipientStatus,
            AnymailStatus,
        )
    except ImportError:
        return

    def word(status: str | None) -> str:
        if status == "scheduled":
            return "queued"  # anymail's word for a message to be sent later
        return status if status is not None and status in ANYMAIL_STATUSES else "unknown"

    anymail_status = AnymailStatus()
    anymail_status.set_recipient_status(
        {
            email: AnymailRecipientStatus(r.message_id, word(r.status))
            for email, r in status.recipients.items()
        }
    )
    anymail_status.esp_response = status.esp_response
    message.anymail_status = anymail_status  # type: ignore[attr-defined]


class EmailBackend(BaseEmailBackend):
    """Sends each message with ``POST /v1/emails`` (see the module's documentation)."""

    def __init__(
        self,
        fail_silently: bool = False,
        *,
        api_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        send_defaults: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fail_silently = fail_silently
        self.api_url = api_url
        self.api_key = api_key
        self.timeout = timeout
        self.send_defaults = send_defaults

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        sent = 0
        for message in email_messages:
            try:
                self._send(message)
            except Exception:
                if not self.fail_silently:
                    raise
            else:
                sent += 1
        return sent

    def _send(self, message: EmailMessage) -> None:
        requests = build_requests(message, self.send_defaults)
        client = get_client(self.api_url, self.api_key, self.timeout)
        status = LongshoreStatus()
        message.longshore_status = status  # type: ignore[attr-defined]
        for body, key in requests:
            try:
                view = _create_email(client, body, key)
            except LongshoreEmailError:
                raise
            except Exception as exc:
                raise _wrap_api_error(exc, message) from exc
            scheduled = "send_at" in body and str(view.get("status")) == "queued"
            status.add(view, scheduled)
        _set_anymail_status(message, status)


def _create_email(client: Any, body: dict[str, Any], key: str) -> dict[str, Any]:
    """``POST /v1/emails`` through the client, the body in the API's own field names."""
    from longshore.django._api import create_email

    return create_email(client, body, key)
