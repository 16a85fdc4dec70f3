//! `/v1/payments`: create a payment, follow it through the gateway's callbacks.

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::ids::PaymentId;
use longshore_jobs::payments::effects::EffectStatus;
use longshore_jobs::payments::machine::PaymentStatus;
use longshore_jobs::payments::new::{NewPayment, PaymentInput};
use longshore_jobs::payments::{self as domain, HistoryEntry, HistoryOutcome, ListQuery, repo};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::idempotency;
use crate::problem::ApiError;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum PaymentsTag {
    /// Payments whose lifecycle the gateway's webhooks drive.
    Payments,
}

/// Where a payment stands.
#[derive(Debug, Clone, Copy, Enum, Serialize, Deserialize, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatusView {
    Pending,
    Succeeded,
    Failed,
    Cancelled,
    PartiallyRefunded,
    Refunded,
}

impl From<PaymentStatus> for PaymentStatusView {
    fn from(s: PaymentStatus) -> Self {
        match s {
            PaymentStatus::Pending => Self::Pending,
            PaymentStatus::Succeeded => Self::Succeeded,
            PaymentStatus::Failed => Self::Failed,
            PaymentStatus::Cancelled => Self::Cancelled,
            PaymentStatus::PartiallyRefunded => Self::PartiallyRefunded,
            PaymentStatus::Refunded => Self::Refunded,
        }
    }
}

/// A payment to create.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Integer minor units (cents for EUR, yen for JPY), greater than 0.
    pub amount: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// Your reference (order number); gateways may name the payment by it. 1 to 200 characters.
    pub reference: String,
    /// Where the receipt goes once the payment succeeds.
    #[oai(skip_serializing_if_is_none)]
    pub customer_email: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub customer_name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// Any JSON object, up to 8 KiB.
    #[oai(skip_serializing_if_is_none)]
    pub metadata: Option<serde_json::Value>,
}

/// One event in a payment's history.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct HistoryView {
    pub seq: i64,
    /// The webhook event (`evt_…`) that carried it.
    pub event: String,
    /// `pending`, `succeeded`, `failed`, `cancelled` or `refunded`.
    pub kind: String,
    #[oai(skip_serializing_if_is_none)]
    pub amount: Option<i64>,
    /// The event's creation time at the gateway.
    pub occurred_at: DateTime<Utc>,
    /// `applied`, `ignored` or `deferred` (a refund waiting for the payment to succeed).
    pub outcome: String,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    pub status_after: PaymentStatusView,
    pub recorded_at: DateTime<Utc>,
}

impl From<HistoryEntry> for HistoryView {
    fn from(h: HistoryEntry) -> Self {
        HistoryView {
            seq: h.seq,
            event: h.event.to_string(),
            kind: h.kind,
            amount: h.amount,
            occurred_at: from_ms(h.occurred_at),
            outcome: HistoryOutcome::as_str(h.outcome).to_owned(),
            reason: h.reason,
            status_after: h.status_after.into(),
            recorded_at: from_ms(h.recorded_at),
        }
    }
}

/// A side effect's progress (the receipt).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct EffectView {
    /// `done`: the receipt document is recorded; its email follows once rendered. `failed`:
    /// see `detail` for what to do. `blocked`: left by older builds.
    pub status: EffectStatus,
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// The receipt document (`doc_receipt-…`).
    #[oai(skip_serializing_if_is_none)]
    pub document_id: Option<String>,
    /// The receipt email, once the document is rendered.
    #[oai(skip_serializing_if_is_none)]
    pub email_id: Option<String>,
    /// Why the receipt email could not be created.
    #[oai(skip_serializing_if_is_none)]
    pub email_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A payment.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct PaymentView {
    /// `pay_…`
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    #[oai(skip_serializing_if_is_none)]
    pub customer_email: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub customer_name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub metadata: Option<serde_json::Value>,
    pub status: PaymentStatusView,
    /// Captured by the gateway, minor units.
    pub amount_captured: i64,
    /// Refunded so far, minor units; never above `amount_captured`.
    pub amount_refunded: i64,
    /// Every event in the order it was decided (only when getting one payment).
    pub history: Vec<HistoryView>,
    /// The receipt, once the payment succeeded with a `customer_email`.
    #[oai(skip_serializing_if_is_none)]
    pub receipt: Option<EffectView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<domain::Payment> for PaymentView {
    fn from(p: domain::Payment) -> Self {
        PaymentView {
            id: p.id.to_string(),
            amount: p.amount,
            currency: p.currency.code().to_owned(),
            reference: p.reference,
            customer_email: p.customer_email,
            customer_name: p.customer_name,
            description: p.description,
            metadata: p.metadata,
            status: p.status.into(),
            amount_captured: p.captured,
            amount_refunded: p.refunded,
            history: p.history.into_iter().map(Into::into).collect(),
            receipt: p.receipt.map(|e| EffectView {
                status: e.status,
                detail: e.detail,
                document_id: e.document_id,
                email_id: e.email_id,
                email_error: e.email_error,
                updated_at: from_ms(e.updated_at),
            }),
            created_at: from_ms(p.created_at),
            updated_at: from_ms(p.updated_at),
        }
    }
}

/// A page of payments, newest first.
#[derive(Debug, Object)]
pub struct PaymentList {
    pub data: Vec<PaymentView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(ApiResponse)]
enum Created {
    /// Created, `pending` until the gateway reports.
    #[oai(status = 201)]
    Payment(Json<PaymentView>),
}

#[derive(ApiResponse)]
enum Found {
    /// The payment.
    #[oai(status = 200)]
    Payment(Json<PaymentView>),
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of payments.
    #[oai(status = 200)]
    Payments(Json<PaymentList>),
}

/// The payments API.
pub struct PaymentsApi;

#[OpenApi(prefix_path = "/v1", tag = "PaymentsTag::Payments")]
impl PaymentsApi {
    /// Create a payment.
    ///
    /// Give the returned `id` to the gateway as `metadata.longshore_payment_id` (Stripe) or
    /// `data.payment_id` (Standard Webhooks), or let it name the payment by `reference`.
    /// Accepts `Idempotency-Key`.
    #[oai(path = "/payments", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: JsonBody<CreatePayment>,
    ) -> Result<Created, ApiError> {
        let b = body.value;
        let new = NewPayment::parse(PaymentInput {
            amount: b.amount,
            currency: b.currency,
            reference: b.reference,
            customer_email: b.customer_email,
            customer_name: b.customer_name,
            description: b.description,
            metadata: b.metadata,
        })?;
        let tenant = auth.0;
        let view = idempotency::once_keyed(
            &state,
            &tenant,
            idempotency_key.0.as_deref(),
            "POST /v1/payments",
            &body.sha256,
            201,
            |work_key| async {
                let id = work_key.map(|k| k.id(PaymentId::derived));
                Ok(PaymentView::from(
                    repo::create(&state.services.db, &tenant, id, new).await?,
                ))
            },
        )
        .await?;
        Ok(Created::Payment(Json(view)))
    }

    /// Get a payment with its amounts and ordered history.
    #[oai(path = "/payments/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Found, ApiError> {
        let not_found = || ApiError::not_found("no such payment");
        let id: PaymentId = id.0.parse().map_err(|_| not_found())?;
        let payment = repo::get(&state.services.db, &auth.0, &id)
            .await?
            .ok_or_else(not_found)?;
        Ok(Found::Payment(Json(payment.into())))
    }

    /// List payments, newest first.
    #[oai(path = "/payments", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only payments in this status.
        status: Query<Option<PaymentStatusView>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Listed, ApiError> {
        let q = ListQuery {
            status: status.0.map(|s| PaymentStatus::from(s).as_str().to_owned()),
            cursor: id_cursor::<PaymentId>(cursor.0)?.map(|c| c.to_string()),
            limit: page_limit(limit.0)? as i64,
        };
        let page = repo::list(&state.services.db, &auth.0, &q).await?;
        Ok(Listed::Payments(Json(PaymentList {
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor,
            data: page.items.into_iter().map(Into::into).collect(),
        })))
    }
}

impl From<PaymentStatusView> for PaymentStatus {
    fn from(s: PaymentStatusView) -> Self {
        match s {
            PaymentStatusView::Pending => Self::Pending,
            PaymentStatusView::Succeeded => Self::Succeeded,
            PaymentStatusView::Failed => Self::Failed,
            PaymentStatusView::Cancelled => Self::Cancelled,
            PaymentStatusView::PartiallyRefunded => Self::PartiallyRefunded,
            PaymentStatusView::Refunded => Self::Refunded,
        }
    }
}
