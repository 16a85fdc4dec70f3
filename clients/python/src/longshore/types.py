# Generated from Longshore's OpenAPI document (/openapi.json) by datamodel-code-generator:
# do not edit. Regenerate with
#     python clients/python/scripts/generate_types.py http://127.0.0.1:8080
# against a running `longshore-api dev` (or a saved openapi.json); the tests fail while this
# file differs from what the live server's document gives.
"""TypedDicts of every request and response body of the Longshore API."""

from __future__ import annotations
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict


AnymailEventType: TypeAlias = Literal[
    "sent",
    "deferred",
    "bounced",
    "failed",
    "opened",
    "clicked",
    "unsubscribed",
    "rejected",
]
"""
anymail's `event_type` word for what happened.
"""


class AttachmentView(TypedDict):
    """
    An attachment as shown: a document by id, or a file (given inline, or a report's CSV and
    PDF) by name and type; never the bytes.
    """

    document_id: NotRequired[str]
    """
    The attached document (`doc_…`).
    """
    filename: NotRequired[str]
    """
    For files that are not documents: the name the recipient sees.
    """
    content_type: NotRequired[str]
    """
    For files that are not documents: the MIME type they are sent with.
    """


AttemptOutcome: TypeAlias = Literal["succeeded", "failed"]
"""
How an attempt ended.
"""


class AttemptView(TypedDict):
    """
    One attempt.
    """

    attempt: int
    """
    1 for the first.
    """
    started_at: str
    latency_ms: int
    status: NotRequired[int]
    """
    The endpoint's status, when it answered.
    """
    error: NotRequired[str]
    """
    Why the attempt failed (timeout, connection error, refused destination, status).
    """
    response_excerpt: NotRequired[str]
    """
    The first bytes of the answer's body.
    """


class AuditView(TypedDict):
    """
    One operator action.
    """

    id: str
    """
    `aud_…`
    """
    at: str
    actor: str
    """
    The operator key's label (`cli:<user>` for the command line).
    """
    action: str
    """
    e.g. `tenant.created`, `key.revoked`.
    """
    target: NotRequired[str]
    """
    What was acted on (a tenant or key id).
    """
    detail: Any
    """
    What else matters about it (never a secret).
    """
    client_ip: NotRequired[str]
    """
    Where the request came from.
    """
    request_id: NotRequired[str]
    """
    The request id in the logs.
    """


class BatchEmail(TypedDict):
    """
    The e-mail to send with each certificate: a stored template, or a subject and HTML body.
    """

    template: NotRequired[str]
    """
    A stored template's name (`/v1/templates`), rendered with the certificate's variables.
    """
    subject: NotRequired[str]
    """
    The subject, with `subject` + `html` instead of a template.
    """
    html: NotRequired[str]
    """
    The HTML body, up to 100,000 characters.
    """


class BatchView(TypedDict):
    """
    A certificate batch and its progress.
    """

    id: str
    """
    `cbat_…`
    """
    status: str
    """
    `queued` (certificates being recorded), `rendering`, or `completed` (every certificate
    ready or failed).
    """
    total: int
    """
    Recipients in the batch.
    """
    rendered: int
    """
    Certificates rendered and stored.
    """
    emailed: int
    """
    Certificate emails the mail server accepted (status `sent`).
    """
    failed: int
    """
    Certificates that could not be rendered (see each document's `failure_reason`).
    """
    email_recipients: int
    """
    Recipients with an email address (each gets one email once their certificate is ready).
    """
    email_failed: int
    """
    Certificate emails that will not arrive: bounced, failed, suppressed, or not created
    (see the document's `email_error`, e.g. no sender default).
    """
    course_title: str
    issued_on: str
    document_ids: list[str]
    """
    The documents recorded so far, in recipient order.
    """
    created_at: str


class CertificateBatchEventData(TypedDict):
    """
    The data of `certificate_batch.completed`: every certificate of the batch is `ready` or
    `failed`. Sent again if a failed certificate is later rendered after all (its job retried),
    with the new counts.
    """

    batch_id: str
    """
    The batch's id (`cbat_…`).
    """
    total: int
    """
    How many certificates the batch asked for (one per recipient).
    """
    rendered: int
    """
    How many are `ready`.
    """
    failed: int
    """
    How many are `failed` (their documents say why).
    """
    completed_at: str
    """
    When the last certificate reached its final state.
    """


CertificateBatchEventType: TypeAlias = Literal["certificate_batch.completed"]


class CertificateData(TypedDict):
    """
    A certificate of attendance or completion.
    """

    recipient_name: str
    """
    The person certified, as it should be printed (any script the font covers), up to 120
    characters.
    """
    course_title: str
    """
    The course, event or programme, up to 200 characters.
    """
    issued_on: str
    """
    The date of issue (`YYYY-MM-DD`); also the PDF's creation date.
    """
    credits: NotRequired[float]
    """
    Credits earned, e.g. CPD hours (0 < credits ≤ 10000; up to two decimals are printed).
    """
    issuer: NotRequired[str]
    """
    Who issues it; the tenant's name when omitted. Up to 120 characters.
    """
    recipient_email: NotRequired[str]
    """
    The recipient's address, kept with the certificate. Batches e-mail each certificate to
    it; a single certificate from `POST /v1/documents` is not e-mailed (attach it to an email).
    """


class CountView(TypedDict):
    """
    How many tasks a purge or a bulk retry touched.
    """

    count: int


class CreateJob(TypedDict):
    """
    A job to run.
    """

    type: str
    """
    A registered job type, e.g. `diagnostic.noop` or `diagnostic.sleep`.
    """
    payload: NotRequired[Any]
    """
    The job type's payload; `{}` when omitted. `diagnostic.sleep`: `{"ms": ≤ 600000, "fail_times": n}`.
    """
    run_at: NotRequired[str]
    """
    Run no earlier than this time (RFC 3339); now when omitted.
    """
    max_attempts: NotRequired[int]
    """
    Attempts before the job is dead, 1 to 25; the job type's default when omitted.
    """


class CreateKey(TypedDict):
    """
    A key to create.
    """

    name: NotRequired[str]
    """
    What the key is for, 1 to 200 characters (default `default`).
    """


class CreatePayment(TypedDict):
    """
    A payment to create.
    """

    amount: int
    """
    Integer minor units (cents for EUR, yen for JPY), greater than 0.
    """
    currency: str
    """
    ISO 4217 code, e.g. `EUR`.
    """
    reference: str
    """
    Your reference (order number); gateways may name the payment by it. 1 to 200 characters.
    """
    customer_email: NotRequired[str]
    """
    Where the receipt goes once the payment succeeds.
    """
    customer_name: NotRequired[str]
    description: NotRequired[str]
    metadata: NotRequired[Any]
    """
    Any JSON object, up to 8 KiB.
    """


class CreateSuppression(TypedDict):
    """
    An address to suppress by hand.
    """

    address: str


class CreateTemplate(TypedDict):
    """
    A template to create.
    """

    name: str
    """
    Letters, digits, `.`, `_`, `-`; unique per tenant.
    """
    subject: str
    """
    The subject line, e.g. `Welcome, {{ name }}`.
    """
    html: NotRequired[str]
    """
    The HTML body (auto-escaped).
    """
    text: NotRequired[str]
    """
    The text body; derived from the rendered HTML when absent.
    """


DeliveryStatus: TypeAlias = Literal["pending", "succeeded", "failed"]
"""
Where one event's delivery to one endpoint stands.
"""


class DeliveryView(TypedDict):
    """
    One event's delivery to one endpoint.
    """

    endpoint_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: NotRequired[str]
    last_attempt_at: NotRequired[str]
    last_response_status: NotRequired[int]
    last_error: NotRequired[str]


DocumentEventType: TypeAlias = Literal[
    "document.ready", "document.failed", "document.revoked"
]


DocumentKind: TypeAlias = Literal["certificate", "receipt", "investor_update"]
"""
What a document is; decides its data schema and its layout.
"""


DocumentStatus: TypeAlias = Literal["queued", "rendering", "ready", "failed"]
"""
Where a document stands.
"""


class DocumentView(TypedDict):
    """
    A document and where it stands.
    """

    id: str
    """
    `doc_…`
    """
    kind: DocumentKind
    status: DocumentStatus
    """
    `queued` → `rendering` → `ready` | `failed`.
    """
    job_id: str
    """
    The render job (`GET /v1/jobs/{job_id}` shows its attempts).
    """
    batch_id: NotRequired[str]
    """
    The certificate batch this document belongs to.
    """
    pages: NotRequired[int]
    """
    Pages, once ready.
    """
    bytes: NotRequired[int]
    """
    Size of the PDF in bytes, once ready.
    """
    sha256: NotRequired[str]
    """
    Hex SHA-256 of the PDF, once ready (also the content's `ETag`).
    """
    verification_code: NotRequired[str]
    """
    Certificates: the code printed on it, verifiable at `/v/{code}`.
    """
    verification_url: NotRequired[str]
    """
    Certificates: the public verification page (the QR code's target).
    """
    receipt_number: NotRequired[str]
    """
    Receipts: the per-tenant receipt number.
    """
    failure_reason: NotRequired[str]
    """
    Why rendering failed.
    """
    revoked: bool
    """
    Certificates: true once revoked (its code no longer verifies).
    """
    revoked_at: NotRequired[str]
    content_url: NotRequired[str]
    """
    Where to download the PDF, once ready.
    """
    data: Any
    """
    The data as validated (defaults such as the issuer filled in).
    """
    metadata: NotRequired[Any]
    email_id: NotRequired[str]
    """
    The email this document is sent with once ready (a payment's receipt, a batch's
    certificate), once created.
    """
    email_error: NotRequired[str]
    """
    Why that email could not be created (e.g. no sender default).
    """
    created_at: str
    updated_at: str
    rendered_at: NotRequired[str]


EffectStatus: TypeAlias = Literal["pending", "done", "failed", "blocked"]
"""
A side effect's progress.
"""


class EffectView(TypedDict):
    """
    A side effect's progress (the receipt).
    """

    status: EffectStatus
    """
    `done`: the receipt document is recorded; its email follows once rendered. `failed`:
    see `detail` for what to do. `blocked`: left by older builds.
    """
    detail: NotRequired[str]
    document_id: NotRequired[str]
    """
    The receipt document (`doc_receipt-…`).
    """
    email_id: NotRequired[str]
    """
    The receipt email, once the document is rendered.
    """
    email_error: NotRequired[str]
    """
    Why the receipt email could not be created.
    """
    updated_at: str


class EmailAttachment(TypedDict):
    """
    One attachment, in one of two shapes: `{"document_id": "doc_…"}` attaches a ready PDF
    document of yours; `{"filename", "content_type"?, "content"}` attaches a file given inline
    (base64). Giving fields of both shapes, or neither, is a 422 naming the field.
    """

    document_id: NotRequired[str]
    """
    A ready document of the same tenant (`doc_…`), attached as its PDF. Alone: no other
    field goes with it.
    """
    filename: NotRequired[str]
    """
    Inline file: the name the recipient sees, e.g. `invoice.pdf`; required with `content`.
    1 to 255 bytes, no `/` or `\\`, no control characters.
    """
    content_type: NotRequired[str]
    """
    Inline file: its MIME type, e.g. `application/pdf` or `text/plain; charset=utf-8`
    (not `multipart/*`); `application/octet-stream` when omitted.
    """
    content: NotRequired[str]
    """
    Inline file: its bytes in base64 (standard alphabet; padding optional, line breaks
    ignored). Inline files of one email hold at most 10 MiB decoded in all, and the request
    must fit the body limit (2 MiB unless the server is configured otherwise).
    """


EmailEventType: TypeAlias = Literal[
    "email.sent",
    "email.deferred",
    "email.bounced",
    "email.failed",
    "email.opened",
    "email.clicked",
    "email.unsubscribed",
    "email.suppressed",
]


EmailSettingsBody = TypedDict(
    "EmailSettingsBody",
    {
        "from": NotRequired[str],
        "reply_to": NotRequired[str],
        "retry_base_ms": NotRequired[int],
        "retry_max_ms": NotRequired[int],
        "give_up_secs": NotRequired[int],
    },
)


EmailSettingsView = TypedDict(
    "EmailSettingsView",
    {
        "from": NotRequired[str],
        "reply_to": NotRequired[str],
        "retry_base_ms": int,
        "retry_max_ms": int,
        "give_up_secs": int,
    },
)


EmailStatus: TypeAlias = Literal[
    "queued",
    "sending",
    "sent",
    "deferred",
    "bounced",
    "failed",
    "suppressed",
    "cancelled",
]
"""
Where an email stands.
"""


class EndpointEventData(TypedDict):
    """
    The data of `endpoint.disabled`.
    """

    endpoint_id: str
    url: str
    reason: str
    """
    Why: `failing` (every attempt failed for the configured time) or `gone` (it answered
    410 Gone).
    """
    failing_since: NotRequired[str]
    """
    Since when its attempts had failed, when that is why.
    """
    disabled_at: str


EndpointEventType: TypeAlias = Literal["endpoint.disabled"]


class EndpointView(TypedDict):
    """
    A gateway endpoint.
    """

    id: str
    """
    `whe_…`
    """
    provider: str
    """
    `stripe` or `standard`.
    """
    url: str
    """
    Give this URL to the gateway.
    """
    secret: NotRequired[str]
    """
    The signing secret: present only in the response that created or rotated it.
    """
    created_at: str
    rotated_at: NotRequired[str]
    previous_secret_valid_until: NotRequired[str]
    """
    Until when the previous secret still verifies.
    """


class Engagement(TypedDict):
    """
    Engagement counts of one class (human or machine).
    """

    opens: int
    """
    Pixel fetches.
    """
    unique_opens: int
    """
    Distinct openers (by a keyed hash of IP and user agent).
    """
    clicks: int
    """
    Link follows.
    """
    unique_clicks: int
    """
    Distinct clickers.
    """


class Payload1(TypedDict):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class EventAttemptView(TypedDict):
    """
    One attempt at delivering an event to an endpoint.
    """

    event_id: str
    endpoint_id: str
    attempt: int
    """
    The delivery's attempt number (replays continue the count).
    """
    started_at: str
    latency_ms: int
    status: AttemptOutcome
    """
    `succeeded` (2xx) or `failed`.
    """
    response_status: NotRequired[int]
    """
    The endpoint's HTTP status, when it answered.
    """
    error: NotRequired[str]
    response_excerpt: NotRequired[str]
    """
    The start of the answer's body.
    """


class EventEndpointBody(TypedDict):
    """
    A new event endpoint.
    """

    url: str
    """
    Where events are POSTed (http or https; non-public addresses only when the operator
    allows them in `LONGSHORE_OUTBOUND_ALLOW`).
    """
    description: NotRequired[str]
    """
    For the tenant's own records.
    """
    event_types: NotRequired[list[str]]
    """
    The event types it receives (`email.opened`), or whole groups (`email.*`). Absent or
    empty: every type.
    """
    enabled: NotRequired[bool]
    """
    False creates it disabled (default true).
    """
    max_concurrent: NotRequired[int]
    """
    Deliveries to it in flight at once, across workers (1 to 1000, default 50).
    """
    rate_per_second: NotRequired[float]
    """
    Deliveries per second at most (0.1 to 10000); 0 or absent: no limit.
    """


class EventEndpointPatch(TypedDict):
    """
    Changes to an event endpoint: send only what changes. Enabling a disabled endpoint clears
    its failure record; disabling it ends its pending deliveries as `failed` (replay sends them).
    """

    url: NotRequired[str]
    description: NotRequired[str]
    event_types: NotRequired[list[str]]
    """
    Empty: every type.
    """
    enabled: NotRequired[bool]
    max_concurrent: NotRequired[int]
    rate_per_second: NotRequired[float]
    """
    0: no limit.
    """


class EventEndpointView(TypedDict):
    """
    An event endpoint. `secret` is present only in the answers that created it or rotated its
    secret: keep it then.
    """

    id: str
    url: str
    description: str
    event_types: list[str]
    """
    Empty: every type.
    """
    enabled: bool
    disabled_reason: NotRequired[str]
    """
    Why it is disabled: `failing` (every attempt failed for the configured time), `gone`
    (it answered 410 Gone) or `by request`.
    """
    disabled_at: NotRequired[str]
    failing_since: NotRequired[str]
    """
    Since when every attempt has failed; absent while the last one succeeded.
    """
    max_concurrent: int
    rate_per_second: NotRequired[float]
    secret: NotRequired[str]
    """
    `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    """
    previous_secret_valid_until: NotRequired[str]
    """
    Until when the secret before the last rotation still signs (requests carry both
    signatures meanwhile).
    """
    created_at: str
    updated_at: str


EventKind: TypeAlias = Literal[
    "queued",
    "sent",
    "deferred",
    "bounced",
    "failed",
    "suppressed",
    "opened",
    "clicked",
    "unsubscribed",
    "cancelled",
]
"""
What happened to an email.
"""


EventType: TypeAlias = Literal[
    "email.sent",
    "email.deferred",
    "email.bounced",
    "email.failed",
    "email.opened",
    "email.clicked",
    "email.unsubscribed",
    "email.suppressed",
    "document.ready",
    "document.failed",
    "document.revoked",
    "certificate_batch.completed",
    "payment.succeeded",
    "payment.failed",
    "payment.refunded",
    "payout.paid",
    "payout.failed",
    "expense.recorded",
    "report.ready",
    "report.failed",
    "job.dead",
    "task.dead",
    "endpoint.disabled",
]
"""
What happened. Stored and sent as the dotted word (`email.opened`).
"""


class EventView(TypedDict):
    """
    Something that happened to an email.
    """

    type: EventKind
    at: str
    machine: NotRequired[bool]
    """
    Opens and clicks: whether it looks automated.
    """
    machine_reason: NotRequired[str]
    """
    Why it looks automated.
    """
    user_agent: NotRequired[str]
    ip: NotRequired[str]
    link: NotRequired[str]
    """
    Clicks: the link followed.
    """
    data: NotRequired[Any]
    """
    Details: the SMTP reply, the next retry, the suppressed addresses.
    """


class ExpenseEventData(TypedDict):
    """
    The data of `expense.recorded`.
    """

    expense_id: str
    """
    The expense's id in Longshore (`exp_…`).
    """
    external_id: str
    """
    The gateway's id for the expense.
    """
    amount: int
    """
    In minor units.
    """
    currency: str
    """
    ISO 4217 code, upper case.
    """
    description: NotRequired[str]
    """
    As the gateway described it.
    """
    category: NotRequired[str]
    """
    The gateway's category (`fee`, `chargeback`, …).
    """
    occurred_at: str
    """
    When the gateway recorded it.
    """


ExpenseEventType: TypeAlias = Literal["expense.recorded"]


class ExpenseView(TypedDict):
    """
    An expense the gateway billed.
    """

    id: str
    """
    `exp_…`
    """
    external_id: str
    """
    The gateway's id for it.
    """
    amount: int
    currency: str
    description: NotRequired[str]
    category: NotRequired[str]
    occurred_at: str
    created_at: str


class Health(TypedDict):
    """
    Health status.
    """

    status: str
    """
    `ok` or `unavailable`.
    """
    database: NotRequired[str]
    """
    `ok` or the failure, for the database.
    """
    queue: NotRequired[str]
    """
    `ok` or the failure, for the queue.
    """


class HttpRequestBody(TypedDict):
    """
    The request a task sends (Cloud Tasks' `httpRequest`).
    """

    url: str
    """
    `http` or `https`. Non-public addresses are refused unless the operator allows them
    (`LONGSHORE_OUTBOUND_ALLOW`).
    """
    http_method: NotRequired[str]
    """
    `POST` (default), `GET`, `HEAD`, `PUT`, `DELETE`, `PATCH` or `OPTIONS`.
    """
    headers: NotRequired[dict[str, str]]
    """
    Headers sent as given (not `Host`, `Content-Length`, hop-by-hop headers, `webhook-*` or
    `Longshore-*`, which are Longshore's). Without `Content-Type`, a body is sent as
    `application/octet-stream`.
    """
    body: NotRequired[str]
    """
    The body, base64-encoded (as Cloud Tasks takes it); at most 1 MiB decoded.
    """
    body_text: NotRequired[str]
    """
    Or the body as text (UTF-8); not both.
    """


class HttpRequestView(TypedDict):
    """
    A task's request as stored: the body's size, and the body itself only with `view=full`.
    """

    url: str
    http_method: str
    headers: dict[str, str]
    body_bytes: int
    body: NotRequired[str]
    """
    The body, base64-encoded (as Cloud Tasks shows it; `""` when empty): only on
    `GET /v1/tasks/{id}?view=full`.
    """


InboxStatus: TypeAlias = Literal[
    "received", "processed", "ignored", "deferred", "failed"
]
"""
Every status an inbox row can have.
"""


class JobEventData(TypedDict):
    """
    The data of `job.dead`: a job used up its attempts, or failed permanently. It stays in the
    queue as `dead` until its retention ends; `POST /v1/jobs/{id}/retry` runs it again.
    """

    job_id: str
    """
    The job's id (`job_…`).
    """
    job_type: str
    """
    The job's type (`report.build`, `diagnostic.sleep`, …).
    """
    queue: str
    """
    The queue it ran on.
    """
    attempt: int
    """
    The attempt that died (1 for the first).
    """
    max_attempts: int
    """
    How many attempts it was allowed.
    """
    error: str
    """
    Why the last attempt failed (and, when they ran out, that no attempts are left).
    """
    request_id: NotRequired[str]
    """
    The request that created the job, when one did.
    """
    created_at: str
    """
    When the job was created.
    """
    attempt_started_at: str
    """
    When the attempt that died started.
    """


JobEventType: TypeAlias = Literal["job.dead"]


JobStateView: TypeAlias = Literal[
    "queued", "scheduled", "running", "retrying", "succeeded", "dead", "cancelled"
]
"""
Where a job stands.
"""


class KeyView(TypedDict):
    """
    An API key (never its secret).
    """

    id: str
    """
    `key_…`
    """
    tenant_id: str
    name: str
    status: str
    """
    `active` or `revoked`.
    """
    created_at: str
    revoked_at: NotRequired[str]


class Kpi(TypedDict):
    """
    A key figure.
    """

    name: str
    """
    What is measured, e.g. `ARR`.
    """
    value: str
    """
    The value as it should be printed, e.g. `$1.2M`.
    """
    change: NotRequired[str]
    """
    The change as it should be printed, e.g. `+12% QoQ`.
    """


class LineItem(TypedDict):
    """
    One line of a receipt.
    """

    description: str
    """
    What was bought, up to 200 characters.
    """
    quantity: NotRequired[int]
    """
    How many (printed only; `amount` is the line's total). Default 1.
    """
    amount: int
    """
    The line's total in minor units; negative for a discount.
    """


MissedRuns: TypeAlias = Literal["skip", "run_once"]
"""
What the scheduler does with ticks that passed while no scheduler was running.
"""


class NotValid(TypedDict):
    """
    The one answer for unknown, malformed and revoked codes: an RFC 9457 problem with `valid`.
    """

    valid: bool
    """
    Always `false`.
    """
    type: str
    """
    `/problems/not-found`.
    """
    title: str
    status: int
    """
    404.
    """
    detail: str


PaymentEventType: TypeAlias = Literal[
    "payment.succeeded", "payment.failed", "payment.refunded"
]


PaymentStatus: TypeAlias = Literal[
    "pending", "succeeded", "failed", "cancelled", "partially_refunded", "refunded"
]
"""
Where a payment stands.
"""


PaymentStatusView: TypeAlias = Literal[
    "pending", "succeeded", "failed", "cancelled", "partially_refunded", "refunded"
]
"""
Where a payment stands.
"""


PayoutEventType: TypeAlias = Literal["payout.paid", "payout.failed"]


PayoutStatus: TypeAlias = Literal["paid", "failed"]
"""
Where a payout stands, as its gateway's latest event says.
"""


class PayoutView(TypedDict):
    """
    A payout to the tenant's bank account.
    """

    id: str
    """
    `po_…`
    """
    external_id: str
    """
    The gateway's payout id.
    """
    amount: int
    currency: str
    status: PayoutStatus
    """
    `paid` or `failed`.
    """
    failure_reason: NotRequired[str]
    status_at: str
    """
    When the gateway reported the current status.
    """
    created_at: str
    updated_at: str


PeriodKind: TypeAlias = Literal[
    "previous_day", "previous_week", "previous_month", "since_last_run"
]
"""
Which stretch of time each run reports on, relative to its tick in the schedule's zone.
"""


PeriodView = TypedDict(
    "PeriodView",
    {
        "from": str,
        "to": str,
    },
)


class ProblemField(TypedDict):
    """
    One invalid field.
    """

    field: str
    """
    Path of the field, e.g. `payload.ms`.
    """
    message: str
    """
    What is wrong with it.
    """


ProviderView: TypeAlias = Literal["stripe", "standard"]
"""
The signature scheme and event format of a gateway.
"""


QueueState: TypeAlias = Literal["running", "paused"]
"""
Whether a task queue dispatches (Cloud Tasks' queue states, less `disabled`).
"""


class RateLimitBody(TypedDict):
    """
    A request limit: a token bucket of `burst` requests refilled at `per_second`.
    """

    per_second: int
    """
    Requests per second, 0 to 1,000,000 (0: no limit for this tenant).
    """
    burst: int
    """
    Requests allowed at once after a pause, 1 to 10,000,000.
    """


class RateLimitsBody(TypedDict):
    """
    How fast a queue dispatches (Cloud Tasks' `rateLimits`), held across every worker.
    """

    max_dispatches_per_second: NotRequired[float]
    """
    Token-bucket rate (default 500).
    """
    max_burst_size: NotRequired[int]
    """
    Tokens the bucket holds: how many may go at once after a quiet spell (default 100).
    """
    max_concurrent_dispatches: NotRequired[int]
    """
    Attempts under way at once (default 1000).
    """


class RateLimitsView(TypedDict):
    """
    A queue's rate limits as they are.
    """

    max_dispatches_per_second: float
    max_burst_size: int
    max_concurrent_dispatches: int


class ReceiptData(TypedDict):
    """
    A payment receipt.
    """

    payment_id: NotRequired[str]
    """
    The Longshore payment (`pay_…`) this receipt was built from. To build a receipt from a
    payment, send `{"payment_id": "pay_…"}` alone (see `ReceiptFromPayment`).
    """
    amount: NotRequired[int]
    """
    Total paid, in integer minor units of `currency` (cents for USD, yen for JPY, fils for
    KWD). Never a float.
    """
    currency: NotRequired[str]
    """
    ISO 4217 code, e.g. `USD`, `JPY`, `KWD`; decides how many decimals are printed.
    """
    reference: str
    """
    Your reference for the payment (order number, invoice), up to 200 characters.
    """
    paid_at: str
    """
    When the payment was made (RFC 3339); also the PDF's creation date.
    """
    customer_name: str
    """
    Who paid, up to 200 characters.
    """
    line_items: list[LineItem]
    """
    What was paid for: 1 to 200 items whose amounts add up to `amount`.
    """


class ReceiptFromPayment(TypedDict):
    """
    Receipt data given as a Longshore payment: everything else comes from the payment.
    """

    payment_id: str
    """
    A succeeded (or since refunded) payment of yours (`pay_…`). Amount, currency, reference,
    paid_at, customer_name and a single line item are taken from it; give none of them.
    """


class ReceivedView(TypedDict):
    """
    The acknowledgement a gateway gets.
    """

    received: bool
    """
    Always true: the event is stored and will be applied once.
    """
    duplicate: bool
    """
    True when this event was already received; nothing more was done.
    """
    id: NotRequired[str]
    """
    The stored event (`evt_…`); absent for a duplicate.
    """


class Recipient(TypedDict):
    """
    One recipient of a batch.
    """

    name: str
    """
    The name printed on the certificate, up to 120 characters.
    """
    email: NotRequired[str]
    """
    Where to e-mail the certificate.
    """


RejectReason: TypeAlias = Literal[
    "bounced", "unsubscribed", "invalid", "timed_out", "blocked", "other"
]
"""
anymail's `reject_reason` word: why a message did not (or will not) reach a recipient.
"""


class ReplayEventBody(TypedDict):
    """
    Where to send an event again.
    """

    endpoint_id: NotRequired[str]
    """
    Only this endpoint (which then gets the event even if it had not before); absent: every
    endpoint it was delivered to.
    """


class ReplayFailedBody(TypedDict):
    """
    Which failed deliveries to send again.
    """

    since: str
    """
    Every failed delivery of an event that came at or after this time.
    """


class ReplayedView(TypedDict):
    """
    How many deliveries were scheduled.
    """

    replayed: int


ReportEventType: TypeAlias = Literal["report.ready", "report.failed"]


ReportKind: TypeAlias = Literal["payments_summary", "email_engagement", "jobs_health"]
"""
What a report summarises.
"""


class ReportSpecBody(TypedDict):
    """
    What a schedule's runs report on.
    """

    kind: ReportKind
    period: PeriodKind
    """
    The stretch of time each run covers, relative to its tick in the schedule's zone.
    """


ReportStatus: TypeAlias = Literal["queued", "running", "ready", "failed"]
"""
Where a report stands.
"""


ResponseView: TypeAlias = Literal["basic", "full"]
"""
How much of a task `GET /v1/tasks/{id}` shows (Cloud Tasks' `responseView`).
"""


class RetryConfigBody(TypedDict):
    """
    How a queue retries (Cloud Tasks' `retryConfig`). Durations are strings such as `"10s"` or
    `"0.1s"`.
    """

    max_attempts: NotRequired[int]
    """
    Attempts in all, the first included; -1 for no limit (default 100).
    """
    min_backoff: NotRequired[str]
    """
    The first retry's wait (default `"0.1s"`).
    """
    max_backoff: NotRequired[str]
    """
    The longest wait between attempts (default `"3600s"`, at most 7 days).
    """
    max_doublings: NotRequired[int]
    """
    How many times the wait doubles before it grows linearly (default 16).
    """
    max_retry_duration: NotRequired[str]
    """
    How long after the task was first due retrying may go on; `"0s"` for no limit
    (default). Retrying stops once every limit that is set is reached.
    """


class RetryConfigView(TypedDict):
    """
    A queue's retry settings as they are.
    """

    max_attempts: int
    min_backoff: str
    max_backoff: str
    max_doublings: int
    max_retry_duration: str


class RotateSecret(TypedDict):
    """
    A secret rotation.
    """

    overlap_secs: NotRequired[int]
    """
    Seconds the old secret keeps verifying (default `LONGSHORE_WEBHOOK_SECRET_OVERLAP_SECS`,
    24 h; at most 7 days; 0 retires it at once).
    """


class ScheduleCounters(TypedDict):
    """
    How often a schedule's ticks fired, were missed and were skipped (every scheduler process).
    """

    fired: int
    """
    Runs enqueued by ticks (a catch-up run counts once).
    """
    missed: int
    """
    Ticks that passed while no scheduler ran.
    """
    skipped: int
    """
    Missed ticks dropped by the `skip` policy.
    """


class ScheduleTaskBody(TypedDict):
    """
    The HTTP task a schedule creates at each run.
    """

    queue: str
    """
    The task queue.
    """
    http_request: HttpRequestBody
    dispatch_deadline: NotRequired[str]
    """
    How long one attempt may take, `"15s"` to `"1800s"` (default `"600s"`).
    """


class ScheduleTaskView(TypedDict):
    """
    A task schedule's template as stored.
    """

    queue: str
    http_request: HttpRequestView
    dispatch_deadline: str


class Section(TypedDict):
    """
    A section of the letter.
    """

    heading: str
    """
    The heading, up to 200 characters.
    """
    body: str
    """
    Plain text; blank lines separate paragraphs. Up to 20,000 characters.
    """


class SigningSecretView(TypedDict):
    """
    The tenant's task signing secret. `secret` is present only in the answer that created or
    rotated it: keep it then.
    """

    secret: NotRequired[str]
    """
    `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    """
    created_at: str
    rotated_at: NotRequired[str]
    previous_valid_until: NotRequired[str]
    """
    Until when the previous secret still signs (requests carry both signatures meanwhile).
    """


class SuppressionView(TypedDict):
    """
    A suppressed address.
    """

    address: str
    """
    Normalised (lower case).
    """
    reason: str
    """
    `bounced`, `unsubscribed` or `manual`.
    """
    email_id: NotRequired[str]
    """
    The email that caused it.
    """
    detail: NotRequired[str]
    """
    For bounces: the server's reply.
    """
    created_at: str


class TaskBody(TypedDict):
    """
    A new task.
    """

    queue: str
    """
    The task queue (created with `POST /v1/queues`).
    """
    name: NotRequired[str]
    """
    Optional, 1 to 500 letters, digits, `-` or `_`: a second task of this name in the queue
    is refused with 409 while it runs and for a day after it ends.
    """
    http_request: HttpRequestBody
    schedule_time: NotRequired[str]
    """
    When to send it first (default now).
    """
    dispatch_deadline: NotRequired[str]
    """
    How long one attempt may take, `"15s"` to `"1800s"` (default `"600s"`).
    """


class TaskEventData(TypedDict):
    """
    The data of `task.dead`: an HTTP task ended without its endpoint accepting it (retries used
    up, a refusal that is not retried, or its queue was deleted).
    """

    task_id: str
    """
    The task's id (`task_…`).
    """
    queue: str
    """
    The task queue it belonged to.
    """
    name: NotRequired[str]
    """
    The task's name, when it was given one.
    """
    method: str
    """
    The HTTP method it called with.
    """
    url: str
    """
    The URL it called.
    """
    attempts: int
    """
    Attempts made (the last one is the one that ended it).
    """
    last_status: NotRequired[int]
    """
    The endpoint's HTTP status on the last attempt, when it answered.
    """
    last_error: NotRequired[str]
    """
    Why the last attempt failed.
    """
    finished_at: str
    """
    When it ended.
    """


TaskEventType: TypeAlias = Literal["task.dead"]


TaskStatus: TypeAlias = Literal["open", "succeeded", "dead", "cancelled"]
"""
Where a task's record stands. Its job's state says more while it is open (queued,
running, retrying); the record keeps the final outcome for as long as the task is kept.
"""


class TaskView(TypedDict):
    """
    An HTTP task.
    """

    id: str
    job_id: str
    """
    Its delivery job, also listed by `GET /v1/jobs`.
    """
    queue: str
    name: NotRequired[str]
    status: TaskStatus
    """
    `open` until it succeeds, dies or is cancelled.
    """
    job_state: NotRequired[JobStateView]
    """
    Its job's state (`queued`, `running`, `retrying`, …) when the queue still has it.
    """
    http_request: HttpRequestView
    schedule_time: str
    dispatch_deadline: str
    attempts: int
    """
    Attempts made so far.
    """
    first_attempt_time: NotRequired[str]
    last_attempt_time: NotRequired[str]
    last_status: NotRequired[int]
    last_error: NotRequired[str]
    finished_at: NotRequired[str]
    name_reserved_until: NotRequired[str]
    """
    Until when its name stays reserved, once it has finished.
    """
    created_at: str
    attempt_log: NotRequired[list[AttemptView]]
    """
    Every attempt, first to last (on `GET /v1/tasks/{id}` only).
    """


class TemplateContent(TypedDict):
    """
    A template's content (for `PUT`).
    """

    subject: str
    html: NotRequired[str]
    text: NotRequired[str]


class TemplateView(TypedDict):
    """
    A stored template.
    """

    name: str
    subject: str
    html: NotRequired[str]
    text: NotRequired[str]
    created_at: str
    updated_at: str


class TenantView(TypedDict):
    """
    A tenant.
    """

    id: str
    """
    `ten_…`
    """
    name: str
    status: str
    """
    `active`, or `disabled` (its keys are refused; its data and work are kept).
    """
    created_at: str
    disabled_at: NotRequired[str]
    rate_limit: NotRequired[RateLimitBody]
    """
    Its own request limit; absent: the deployment's default.
    """


class TicksView(TypedDict):
    """
    The scheduler ticks a scheduled report covers.
    """

    first: str
    last: str
    count: int


class ValidCertificate(TypedDict):
    """
    A valid certificate, as a verifier sees it.
    """

    valid: bool
    """
    Always `true`.
    """
    kind: str
    """
    Always `certificate`.
    """
    recipient_name: str
    title: str
    """
    The course title.
    """
    issued_on: str
    issuer: str
    credits: NotRequired[float]
    """
    CPD credits, when the certificate carries them.
    """
    sha256: NotRequired[str]
    """
    Hex SHA-256 of the certificate's PDF: a holder's copy must hash to this.
    """


class WebhookEventView(TypedDict):
    """
    A stored webhook event.
    """

    id: str
    """
    `evt_…` (Longshore's id of the inbox row).
    """
    endpoint_id: str
    provider: str
    event_id: str
    """
    The gateway's own event id.
    """
    event_type: str
    status: InboxStatus
    reason: NotRequired[str]
    """
    Why it was ignored, deferred or failed.
    """
    payment_id: NotRequired[str]
    occurred_at: NotRequired[str]
    """
    The event's creation time at the gateway.
    """
    replays: int
    received_at: str
    updated_at: str


class AuditList(TypedDict):
    """
    A page of the audit log, newest first.
    """

    data: list[AuditView]
    next_cursor: NotRequired[str]
    has_more: bool


class BatchRequest(TypedDict):
    """
    A request for one certificate per recipient.
    """

    course_title: str
    """
    The course, event or programme, up to 200 characters.
    """
    issued_on: str
    """
    The date of issue (`YYYY-MM-DD`).
    """
    credits: NotRequired[float]
    """
    Credits earned, e.g. CPD hours.
    """
    issuer: NotRequired[str]
    """
    Who issues the certificates; the tenant's name when omitted.
    """
    recipients: list[Recipient]
    """
    1 to 10,000 recipients.
    """
    email: NotRequired[BatchEmail]
    """
    How to e-mail each certificate to recipients with an address; a default message when
    omitted. Subject and HTML may use `{{ recipient_name }}`, `{{ course_title }}`,
    `{{ issued_on }}`, `{{ credits }}`, `{{ issuer }}` and `{{ verification_url }}`.
    """


class CertificateBatchEvent(TypedDict):
    """
    `certificate_batch.completed`: every certificate of a batch is final.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: CertificateBatchEventType
    timestamp: str
    """
    When it happened.
    """
    data: CertificateBatchEventData


class CountersView(TypedDict):
    """
    Opens and clicks: people's at the top level, likely machines' (privacy proxies, scanners,
    headless clients) under `machine`.
    """

    opens: int
    unique_opens: int
    clicks: int
    unique_clicks: int
    machine: Engagement
    """
    The same counts for events that look automated.
    """


CreateEmail = TypedDict(
    "CreateEmail",
    {
        "to": list[str],
        "cc": NotRequired[list[str]],
        "bcc": NotRequired[list[str]],
        "from": NotRequired[str],
        "reply_to": NotRequired[str],
        "subject": NotRequired[str],
        "html": NotRequired[str],
        "text": NotRequired[str],
        "template": NotRequired[str],
        "variables": NotRequired[Any],
        "attachments": NotRequired[list[EmailAttachment]],
        "track_opens": NotRequired[bool],
        "track_clicks": NotRequired[bool],
        "tags": NotRequired[list[str]],
        "metadata": NotRequired[Any],
        "send_at": NotRequired[str],
    },
)


class CreateEndpoint(TypedDict):
    """
    An endpoint to create.
    """

    provider: ProviderView


CreateReport = TypedDict(
    "CreateReport",
    {
        "kind": ReportKind,
        "from": str,
        "to": str,
        "timezone": NotRequired[str],
        "recipients": NotRequired[list[str]],
    },
)


class CreateTenant(TypedDict):
    """
    A tenant to create.
    """

    name: str
    """
    A name for people, 1 to 200 characters.
    """
    rate_limit: NotRequired[RateLimitBody]
    """
    Its own request limit; omitted: the deployment's default.
    """


class DecisionView(TypedDict):
    """
    A recorded missed-run decision.
    """

    action: MissedRuns
    """
    `run_once`: one catch-up run was enqueued; `skip`: none.
    """
    first_tick: str
    last_tick: str
    ticks: int
    """
    How many ticks were missed.
    """
    report_id: NotRequired[str]
    """
    The catch-up report (`run_once`).
    """
    decided_at: str


class DocumentEventData(TypedDict):
    """
    The data of `document.ready`, `document.failed` and `document.revoked`: the document as it
    stood right after the change (without its content, which `GET /v1/documents/{id}/content`
    serves).
    """

    document_id: str
    """
    The document's id (`doc_…`).
    """
    kind: DocumentKind
    """
    `certificate`, `receipt` or `investor_update`.
    """
    status: DocumentStatus
    """
    The stored status after the change: `ready` or `failed` (a revoked certificate stays
    `ready`; `revoked_at` says it was revoked).
    """
    metadata: NotRequired[Any]
    """
    The key/values the document was created with, returned as given.
    """
    batch_id: NotRequired[str]
    """
    The certificate batch it belongs to (`cbat_…`), if any.
    """
    receipt_number: NotRequired[str]
    """
    Receipts: the receipt number (`R-000042`).
    """
    verification_url: NotRequired[str]
    """
    Certificates: where anyone can check it.
    """
    pages: NotRequired[int]
    """
    Ready documents: the number of pages.
    """
    bytes: NotRequired[int]
    """
    Ready documents: the PDF's size in bytes.
    """
    sha256: NotRequired[str]
    """
    Ready documents: the PDF's SHA-256, hex.
    """
    failure_reason: NotRequired[str]
    """
    Failed documents: why it could not be rendered.
    """
    rendered_at: NotRequired[str]
    """
    When the PDF was stored.
    """
    revoked_at: NotRequired[str]
    """
    When the certificate was revoked.
    """
    created_at: str
    """
    When the document was requested.
    """


class DocumentList(TypedDict):
    """
    A page of documents, newest first.
    """

    data: list[DocumentView]
    next_cursor: NotRequired[str]
    """
    Pass as `cursor` to get the next page; absent on the last page.
    """
    has_more: bool


class EmailEventData(TypedDict):
    """
    The data of every `email.*` event.
    """

    event_type: AnymailEventType
    """
    What happened, in anymail's words (`sent`, `deferred`, `bounced`, `failed`, `opened`,
    `clicked`, `unsubscribed`, and `rejected` for `email.suppressed`).
    """
    email_id: str
    """
    The email (`em_…`), as the API returned it when the email was created.
    """
    message_id: NotRequired[str]
    """
    The `Message-ID` header Longshore set (`<…@domain>`), the same on every attempt.
    """
    recipient: NotRequired[str]
    """
    The address the event concerns when it is one: always for `email.suppressed`, and for
    every event of an email with a single recipient. Tracking links name the email, not the
    recipient, so an open of an email sent to several people has none.
    """
    recipients: list[str]
    """
    Every (normalised) address the event concerns: the envelope of a delivery outcome, the
    addresses an unsubscribe suppressed, all recipients of an opened or clicked email.
    """
    timestamp: str
    """
    When it happened.
    """
    tags: list[str]
    """
    The email's tags, as the request that created it gave them.
    """
    metadata: NotRequired[Any]
    """
    The email's metadata, as the request that created it gave it.
    """
    click_url: NotRequired[str]
    """
    `email.clicked`: the original link that was followed.
    """
    user_agent: NotRequired[str]
    """
    Opens, clicks and unsubscribes: the `User-Agent` of the request (up to 512 bytes).
    """
    mta_response: NotRequired[str]
    """
    The SMTP server's reply (or, for `email.deferred`, the connection error when no reply
    came); for `email.failed` after retries, the last reply.
    """
    reject_reason: NotRequired[RejectReason]
    """
    `email.bounced`, `email.failed`, `email.suppressed`: why, in anymail's words.
    """
    description: NotRequired[str]
    """
    A human-readable account of a failure (`email.failed`: what went wrong).
    """
    machine: bool
    """
    Opens and clicks: true when it looks automated (a privacy proxy's prefetch, a security
    scanner, a headless client, …) rather than a person; false otherwise.
    """
    machine_reason: NotRequired[str]
    """
    Why an open or click looks automated (`privacy proxy prefetch`, `security scanner`,
    `clicked at delivery`, …), when `machine` is true.
    """
    unconfirmed: bool
    """
    `email.sent` only: true when the previous attempt died after transmitting the message and
    it was recorded sent without a second conversation (the server may not have accepted it).
    """
    attempt: NotRequired[int]
    """
    Delivery outcomes: the SMTP attempt (1 for the first) the event is about.
    """


EmailView = TypedDict(
    "EmailView",
    {
        "id": str,
        "status": EmailStatus,
        "job_id": str,
        "from": str,
        "reply_to": NotRequired[str],
        "to": list[str],
        "cc": list[str],
        "bcc": list[str],
        "subject": str,
        "template": NotRequired[str],
        "attachments": list[AttachmentView],
        "track_opens": bool,
        "track_clicks": bool,
        "tags": list[str],
        "metadata": NotRequired[Any],
        "message_id": str,
        "send_at": NotRequired[str],
        "attempts": int,
        "last_smtp_reply": NotRequired[str],
        "suppressed_recipients": list[str],
        "counters": CountersView,
        "events": NotRequired[list[EventView]],
        "html": NotRequired[str],
        "text": NotRequired[str],
        "created_at": str,
        "updated_at": str,
        "sent_at": NotRequired[str],
    },
)


class EndpointEvent(TypedDict):
    """
    `endpoint.disabled`: one of the tenant's event endpoints was disabled.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: EndpointEventType
    timestamp: str
    """
    When it happened.
    """
    data: EndpointEventData


class EndpointList(TypedDict):
    """
    A list of endpoints.
    """

    data: list[EndpointView]


class Payload4(CertificateBatchEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class Payload11(EndpointEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class EventAttemptList(TypedDict):
    """
    A page of attempts, newest first.
    """

    data: list[EventAttemptView]
    has_more: bool
    next_cursor: NotRequired[str]


class EventEndpointList(TypedDict):
    """
    A page of event endpoints, newest first.
    """

    data: list[EventEndpointView]
    has_more: bool
    next_cursor: NotRequired[str]


class ExpenseEvent(TypedDict):
    """
    `expense.recorded`.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: ExpenseEventType
    timestamp: str
    """
    When it happened.
    """
    data: ExpenseEventData


class ExpenseList(TypedDict):
    """
    A page of expenses, newest first.
    """

    data: list[ExpenseView]
    next_cursor: NotRequired[str]
    has_more: bool


class HistoryView(TypedDict):
    """
    One event in a payment's history.
    """

    seq: int
    event: str
    """
    The webhook event (`evt_…`) that carried it.
    """
    kind: str
    """
    `pending`, `succeeded`, `failed`, `cancelled` or `refunded`.
    """
    amount: NotRequired[int]
    occurred_at: str
    """
    The event's creation time at the gateway.
    """
    outcome: str
    """
    `applied`, `ignored` or `deferred` (a refund waiting for the payment to succeed).
    """
    reason: NotRequired[str]
    status_after: PaymentStatusView
    recorded_at: str


class InvestorUpdateData(TypedDict):
    """
    An investor-update letter.
    """

    company: str
    """
    The company writing, up to 200 characters.
    """
    period: str
    """
    The period covered, e.g. `Q3 2026`, up to 200 characters.
    """
    published_on: NotRequired[str]
    """
    The letter's date (`YYYY-MM-DD`), printed and used as the PDF's creation date.
    """
    kpis: list[Kpi]
    """
    Key figures, shown as a table (up to 40).
    """
    sections: list[Section]
    """
    The letter's sections, in order (1 to 60).
    """


class IssuedKeyView(TypedDict):
    """
    A newly created key, with the token: shown this once, never again.
    """

    key: KeyView
    token: str
    """
    `lsk_…`: the bearer token to hand to the tenant.
    """


class Job(TypedDict):
    """
    A job and where it stands.
    """

    id: str
    """
    `job_…`
    """
    type: str
    queue: str
    """
    The queue that runs this type.
    """
    state: JobStateView
    payload: Any
    attempts: int
    """
    Attempts started so far.
    """
    max_attempts: int
    run_at: str
    """
    When the job runs (or ran, or will be retried).
    """
    created_at: str
    updated_at: str
    started_at: NotRequired[str]
    finished_at: NotRequired[str]
    last_error: NotRequired[str]
    """
    The error of the latest failed attempt.
    """
    request_id: NotRequired[str]
    """
    The `X-Request-Id` of the request that created the job.
    """
    cancel_requested_at: NotRequired[str]
    """
    When a cancel was asked for while the job was `running`: its worker stops it and it
    ends `cancelled` (or `succeeded`, if it finished first).
    """


class JobEvent(TypedDict):
    """
    `job.dead`: a job ended dead.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: JobEventType
    timestamp: str
    """
    When it happened.
    """
    data: JobEventData


class JobList(TypedDict):
    """
    A page of jobs, newest first.
    """

    data: list[Job]
    next_cursor: NotRequired[str]
    """
    Pass as `cursor` to get the next page; absent on the last page.
    """
    has_more: bool


class KeyList(TypedDict):
    """
    A tenant's keys, newest first.
    """

    data: list[KeyView]


class PaymentEventData(TypedDict):
    """
    The data of `payment.succeeded`, `payment.failed` and `payment.refunded`: the payment right
    after the change.
    """

    payment_id: str
    """
    The payment's id (`pay_…`).
    """
    status: PaymentStatus
    """
    The stored status after the change: `succeeded`, `failed`, `partially_refunded` or
    `refunded`.
    """
    amount: int
    """
    The amount asked for, in minor units.
    """
    amount_captured: int
    """
    Captured by the gateway so far, in minor units (0 until it succeeds).
    """
    amount_refunded: int
    """
    Refunded so far, in minor units (never above `amount_captured`).
    """
    refund_amount: NotRequired[int]
    """
    `payment.refunded`: this refund's own amount, in minor units.
    """
    currency: str
    """
    ISO 4217 code, upper case.
    """
    reference: str
    """
    The client's own reference for the payment.
    """
    metadata: NotRequired[Any]
    """
    The key/values the payment was created with, returned as given.
    """
    failure_reason: NotRequired[str]
    """
    `payment.failed`: why, as the gateway said.
    """
    webhook_event_id: str
    """
    The gateway webhook (inbox row, `evt_…`) that made the change.
    """
    occurred_at: str
    """
    When the gateway says the change happened.
    """


class PaymentView(TypedDict):
    """
    A payment.
    """

    id: str
    """
    `pay_…`
    """
    amount: int
    currency: str
    reference: str
    customer_email: NotRequired[str]
    customer_name: NotRequired[str]
    description: NotRequired[str]
    metadata: NotRequired[Any]
    status: PaymentStatusView
    amount_captured: int
    """
    Captured by the gateway, minor units.
    """
    amount_refunded: int
    """
    Refunded so far, minor units; never above `amount_captured`.
    """
    history: list[HistoryView]
    """
    Every event in the order it was decided (only when getting one payment).
    """
    receipt: NotRequired[EffectView]
    """
    The receipt, once the payment succeeded with a `customer_email`.
    """
    created_at: str
    updated_at: str


class PayoutEventData(TypedDict):
    """
    The data of `payout.paid` and `payout.failed`.
    """

    payout_id: str
    """
    The payout's id in Longshore (`po_…`).
    """
    external_id: str
    """
    The gateway's id for the payout.
    """
    status: PayoutStatus
    """
    `paid` or `failed`.
    """
    amount: int
    """
    In minor units.
    """
    currency: str
    """
    ISO 4217 code, upper case.
    """
    failure_reason: NotRequired[str]
    """
    `payout.failed`: why, as the gateway said.
    """
    occurred_at: str
    """
    When the gateway says the payout reached this status.
    """


class PayoutList(TypedDict):
    """
    A page of payouts, newest first.
    """

    data: list[PayoutView]
    next_cursor: NotRequired[str]
    has_more: bool


class Problem(TypedDict):
    """
    An RFC 9457 problem document.
    """

    type: str
    """
    A URI reference naming the kind of problem, e.g. `/problems/validation-error`.
    """
    title: str
    """
    A short summary of the kind of problem.
    """
    status: int
    """
    The HTTP status code.
    """
    detail: str
    """
    What went wrong with this request.
    """
    errors: NotRequired[list[ProblemField]]
    """
    For validation problems: every invalid field.
    """


class QueueBody(TypedDict):
    """
    A new queue.
    """

    name: str
    """
    1 to 100 letters, digits, `-` or `_`; unique per tenant.
    """
    retry_config: NotRequired[RetryConfigBody]
    rate_limits: NotRequired[RateLimitsBody]
    http_auth_headers: NotRequired[dict[str, str]]
    """
    Headers added to every request of the queue, e.g. `{"Authorization": "Bearer …"}` for
    the app to check. Sealed at rest and never shown again (only their names).
    """


class QueuePatch(TypedDict):
    """
    A change to a queue's settings: send only what changes.
    """

    retry_config: NotRequired[RetryConfigBody]
    rate_limits: NotRequired[RateLimitsBody]
    http_auth_headers: NotRequired[dict[str, str]]
    """
    Replaces the queue's static headers (`{}` removes them).
    """


class QueueView(TypedDict):
    """
    A task queue.
    """

    name: str
    state: QueueState
    """
    `running` or `paused`.
    """
    retry_config: RetryConfigView
    rate_limits: RateLimitsView
    purge_time: NotRequired[str]
    """
    When it was last purged.
    """
    http_auth_header_names: list[str]
    """
    The names of the headers added to every request (their values are never shown).
    """
    created_at: str
    updated_at: str


class ReportEventData(TypedDict):
    """
    The data of `report.ready` and `report.failed`: the report right after the change. Its
    files are served by `GET /v1/reports/{id}/csv` and `…/pdf`.
    """

    report_id: str
    """
    The report's id (`rep_…`).
    """
    kind: ReportKind
    """
    `payments_summary`, `email_engagement` or `jobs_health`.
    """
    status: ReportStatus
    """
    The stored status after the change: `ready` or `failed`.
    """
    schedule_id: NotRequired[str]
    """
    The schedule that ordered it (`sch_…`), if one did.
    """
    period_from: str
    """
    The start of the period it covers (inclusive).
    """
    period_to: str
    """
    The end of the period it covers (exclusive).
    """
    timezone: str
    """
    The IANA time zone its days are cut in.
    """
    summary: NotRequired[Any]
    """
    Ready reports: the summary figures, as `GET /v1/reports/{id}` shows them.
    """
    csv_bytes: NotRequired[int]
    """
    Ready reports: the CSV's size in bytes.
    """
    pdf_bytes: NotRequired[int]
    """
    Ready reports: the PDF's size in bytes.
    """
    failure_reason: NotRequired[str]
    """
    Failed reports: why it could not be built.
    """
    finished_at: NotRequired[str]
    """
    When it became ready or failed.
    """


class ReportView(TypedDict):
    """
    A report: where it stands, what it covers, its figures and files.
    """

    id: str
    """
    `rep_…`
    """
    kind: ReportKind
    status: ReportStatus
    schedule_id: NotRequired[str]
    """
    The schedule that produced it (absent for on-demand reports).
    """
    period: PeriodView
    timezone: str
    catch_up: bool
    """
    True for a run covering ticks missed while no scheduler ran.
    """
    ticks: NotRequired[TicksView]
    summary: NotRequired[Any]
    """
    The headline figures (shape depends on `kind`), once ready.
    """
    csv_url: NotRequired[str]
    """
    Download URL of the CSV, once ready.
    """
    pdf_url: NotRequired[str]
    """
    Download URL of the PDF, once ready. (A report's PDF is a file of the report, not a
    document: `/v1/documents` knows only certificates, receipts and investor updates.)
    """
    pdf_sha256: NotRequired[str]
    failure_reason: NotRequired[str]
    recipients: list[str]
    """
    Who gets the report by email.
    """
    email_ids: list[str]
    """
    The emails carrying the CSV and PDF, one per recipient, once created.
    """
    email_error: NotRequired[str]
    """
    Why the emails could not be created (e.g. no sender default).
    """
    job_id: str
    """
    The build job (`job_report-…`).
    """
    created_at: str
    finished_at: NotRequired[str]


class ScheduleBody(TypedDict):
    """
    A schedule's settings. On creation `name`, `cron` and `report` are required; a change
    (`PATCH`) sends only what changes.
    """

    name: NotRequired[str]
    """
    1 to 200 characters. Required on creation.
    """
    cron: NotRequired[str]
    """
    Standard 5-field cron (`minute hour day-of-month month day-of-week`; 0 and 7 are Sunday),
    or 6 fields with seconds first. Required on creation. Example: `30 2 * * *`.
    """
    timezone: NotRequired[str]
    """
    IANA time zone the expression is read in (default `UTC`), e.g. `Europe/Berlin`.
    """
    report: NotRequired[ReportSpecBody]
    """
    What each run reports on; required on creation unless `task` is given.
    """
    task: NotRequired[ScheduleTaskBody]
    """
    Or: the HTTP task each run creates (in a task queue, with this request). Each tick's
    task is named `<schedule id>-<tick ms>`, so a tick never runs twice.
    """
    recipients: NotRequired[list[str]]
    """
    Who receives the report (up to 50 addresses).
    """
    missed_runs: NotRequired[MissedRuns]
    """
    Ticks missed while no scheduler ran: one catch-up run (`run_once`, the default) or none.
    """
    enabled: NotRequired[bool]
    """
    Default true.
    """


class ScheduleView(TypedDict):
    """
    A schedule, its next run times and its counters.
    """

    id: str
    """
    `sch_…`
    """
    name: str
    cron: str
    timezone: str
    report: NotRequired[ReportSpecBody]
    """
    What each run reports on (report schedules).
    """
    recipients: list[str]
    """
    Who gets each report (empty for task schedules).
    """
    task: NotRequired[ScheduleTaskView]
    """
    The HTTP task each run creates (task schedules).
    """
    missed_runs: MissedRuns
    enabled: bool
    next_runs: list[str]
    """
    The next 5 run times (empty while disabled).
    """
    last_run_at: NotRequired[str]
    """
    The last tick a run covered.
    """
    last_report_id: NotRequired[str]
    last_task_id: NotRequired[str]
    """
    The task the last run created (task schedules).
    """
    counters: ScheduleCounters
    missed_run_decisions: list[DecisionView]
    """
    The latest missed-run decisions, newest first (on `GET /v1/schedules/{id}`).
    """
    created_at: str
    updated_at: str


class TaskEvent(TypedDict):
    """
    `task.dead`: an HTTP task ended dead.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: TaskEventType
    timestamp: str
    """
    When it happened.
    """
    data: TaskEventData


class TaskList(TypedDict):
    """
    A page of tasks, newest first.
    """

    data: list[TaskView]
    has_more: bool
    next_cursor: NotRequired[str]


class TemplateList(TypedDict):
    """
    A page of templates, by name.
    """

    data: list[TemplateView]
    next_cursor: NotRequired[str]
    has_more: bool


class TenantList(TypedDict):
    """
    A page of tenants, oldest first.
    """

    data: list[TenantView]
    next_cursor: NotRequired[str]
    has_more: bool


class WebhookEventList(TypedDict):
    """
    A page of webhook events, newest first.
    """

    data: list[WebhookEventView]
    next_cursor: NotRequired[str]
    has_more: bool


class CreateDocument(TypedDict):
    """
    A document to render.
    """

    kind: DocumentKind
    """
    What to render: `certificate`, `receipt` or `investor_update`.
    """
    data: CertificateData | ReceiptData | ReceiptFromPayment | InvestorUpdateData
    """
    The kind's data (see `CertificateData`, `ReceiptData`, `InvestorUpdateData`). A receipt of
    a Longshore payment is just `{"payment_id": "pay_…"}` (`ReceiptFromPayment`).
    """
    metadata: NotRequired[Any]
    """
    Your own key/values (a JSON object up to 4 KB), returned as given.
    """
    email: NotRequired[BatchEmail]
    """
    Certificates only: once rendered, email the PDF to `data.recipient_email`. `{}` sends the
    default message; or give a stored `template`, or `subject` + `html` (rendered with the
    certificate's variables: `recipient_name`, `course_title`, `verification_url`, …).
    """


class DocumentEvent(TypedDict):
    """
    `document.*`: a PDF is ready, failed, or was revoked.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: DocumentEventType
    timestamp: str
    """
    When it happened.
    """
    data: DocumentEventData


class EmailEvent(TypedDict):
    """
    `email.*`: delivery outcomes, opens, clicks, unsubscribes and suppressions, in
    django-anymail's normalized vocabulary.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: EmailEventType
    timestamp: str
    """
    When it happened.
    """
    data: EmailEventData


class EmailList(TypedDict):
    """
    A page of emails, newest first.
    """

    data: list[EmailView]
    next_cursor: NotRequired[str]
    """
    Pass as `cursor` to get the next page; absent on the last page.
    """
    has_more: bool


class Payload2(EmailEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class Payload3(DocumentEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class Payload7(ExpenseEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class Payload9(JobEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class Payload10(TaskEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class PaymentEvent(TypedDict):
    """
    `payment.*`, as the ledger records the gateway's events.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: PaymentEventType
    timestamp: str
    """
    When it happened.
    """
    data: PaymentEventData


class PaymentList(TypedDict):
    """
    A page of payments, newest first.
    """

    data: list[PaymentView]
    next_cursor: NotRequired[str]
    """
    Pass as `cursor` for the next page; absent on the last page.
    """
    has_more: bool


class PayoutEvent(TypedDict):
    """
    `payout.*`, as the ledger records them.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: PayoutEventType
    timestamp: str
    """
    When it happened.
    """
    data: PayoutEventData


class QueueList(TypedDict):
    """
    A page of queues, by name.
    """

    data: list[QueueView]
    has_more: bool
    next_cursor: NotRequired[str]


class ReportEvent(TypedDict):
    """
    `report.*`: a report's files are stored, or it failed.
    """

    id: str
    """
    The event's id: also the `webhook-id` header of every delivery.
    """
    type: ReportEventType
    timestamp: str
    """
    When it happened.
    """
    data: ReportEventData


class ReportList(TypedDict):
    """
    A page of reports, newest first.
    """

    data: list[ReportView]
    next_cursor: NotRequired[str]
    has_more: bool


class ScheduleList(TypedDict):
    """
    A page of schedules, newest first.
    """

    data: list[ScheduleView]
    next_cursor: NotRequired[str]
    has_more: bool


class Payload5(PaymentEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class Payload6(PayoutEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


class Payload8(ReportEvent, Payload1):
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """


Payload: TypeAlias = (
    Payload2
    | Payload3
    | Payload4
    | Payload5
    | Payload6
    | Payload7
    | Payload8
    | Payload9
    | Payload10
    | Payload11
)
"""
The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
"""


class Event(TypedDict):
    """
    An event: what happened, the body every endpoint receives, and (on `GET
    /v1/events/{id}`) its deliveries.
    """

    id: str
    """
    Also the `webhook-id` header of every delivery: receivers de-duplicate on it.
    """
    type: EventType
    resource_id: NotRequired[str]
    """
    The resource it is about (`em_…`, `doc_…`, `pay_…`).
    """
    occurred_at: str
    """
    When it happened.
    """
    created_at: str
    payload: Payload
    """
    The JSON body sent: `{"id", "type", "timestamp", "data"}`, `data` shaped by the type.
    """
    deliveries: NotRequired[list[DeliveryView]]


class EventList(TypedDict):
    """
    A page of events, newest first.
    """

    data: list[Event]
    has_more: bool
    next_cursor: NotRequired[str]


EventPayload: TypeAlias = (
    EmailEvent
    | DocumentEvent
    | CertificateBatchEvent
    | PaymentEvent
    | PayoutEvent
    | ExpenseEvent
    | ReportEvent
    | JobEvent
    | TaskEvent
    | EndpointEvent
)
"""
The body of an event, as every endpoint receives it.
"""
