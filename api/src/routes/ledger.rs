//! `/v1/payouts` and `/v1/expenses`: what the gateway reported, read-only.

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::ids::{ExpenseId, PayoutId};
use longshore_jobs::payments::ListQuery;
use longshore_jobs::payments::expenses::{self, Expense};
use longshore_jobs::payments::payouts::{self, Payout, PayoutStatus};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::auth::ApiKeyAuth;
use crate::problem::ApiError;
use crate::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Tags)]
enum LedgerTag {
    /// Payouts and expenses reported by the gateway's webhooks.
    Ledger,
}

/// A payout to the tenant's bank account.
#[derive(Debug, Clone, Object)]
pub struct PayoutView {
    /// `po_…`
    pub id: String,
    /// The gateway's payout id.
    pub external_id: String,
    pub amount: i64,
    pub currency: String,
    /// `paid` or `failed`.
    pub status: PayoutStatus,
    #[oai(skip_serializing_if_is_none)]
    pub failure_reason: Option<String>,
    /// When the gateway reported the current status.
    pub status_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Payout> for PayoutView {
    fn from(p: Payout) -> Self {
        PayoutView {
            id: p.id.to_string(),
            external_id: p.external_id,
            amount: p.amount,
            currency: p.currency,
            status: p.status,
            failure_reason: p.failure_reason,
            status_at: from_ms(p.status_at),
            created_at: from_ms(p.created_at),
            updated_at: from_ms(p.updated_at),
        }
    }
}

/// An expense the gateway billed.
#[derive(Debug, Clone, Object)]
pub struct ExpenseView {
    /// `exp_…`
    pub id: String,
    /// The gateway's id for it.
    pub external_id: String,
    pub amount: i64,
    pub currency: String,
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub category: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<Expense> for ExpenseView {
    fn from(e: Expense) -> Self {
        ExpenseView {
            id: e.id.to_string(),
            external_id: e.external_id,
            amount: e.amount,
            currency: e.currency,
            description: e.description,
            category: e.category,
            occurred_at: from_ms(e.occurred_at),
            created_at: from_ms(e.created_at),
        }
    }
}

/// A page of payouts, newest first.
#[derive(Debug, Object)]
pub struct PayoutList {
    pub data: Vec<PayoutView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A page of expenses, newest first.
#[derive(Debug, Object)]
pub struct ExpenseList {
    pub data: Vec<ExpenseView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

// One response type per operation: a status documented by several variants of one enum shows
// only one of their schemas in the OpenAPI document, and the others' bodies contradict it.
#[derive(ApiResponse)]
enum PayoutFound {
    /// A payout.
    #[oai(status = 200)]
    Payout(Json<PayoutView>),
}

#[derive(ApiResponse)]
enum PayoutsListed {
    /// A page of payouts.
    #[oai(status = 200)]
    Payouts(Json<PayoutList>),
}

#[derive(ApiResponse)]
enum ExpenseFound {
    /// An expense.
    #[oai(status = 200)]
    Expense(Json<ExpenseView>),
}

#[derive(ApiResponse)]
enum ExpensesListed {
    /// A page of expenses.
    #[oai(status = 200)]
    Expenses(Json<ExpenseList>),
}

/// The payouts and expenses API.
pub struct LedgerApi;

#[OpenApi(prefix_path = "/v1", tag = "LedgerTag::Ledger")]
impl LedgerApi {
    /// List payouts, newest first.
    #[oai(path = "/payouts", method = "get")]
    async fn payouts(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only payouts in this status.
        status: Query<Option<PayoutStatus>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<PayoutsListed, ApiError> {
        let status = status.0.map(|s| s.as_str().to_owned());
        let q = ListQuery {
            status,
            cursor: id_cursor::<PayoutId>(cursor.0)?.map(|c| c.to_string()),
            limit: page_limit(limit.0)? as i64,
        };
        let page = payouts::list(&state.services.db, &auth.0, &q).await?;
        Ok(PayoutsListed::Payouts(Json(PayoutList {
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor,
            data: page.items.into_iter().map(Into::into).collect(),
        })))
    }

    /// Get a payout.
    #[oai(path = "/payouts/:id", method = "get")]
    async fn payout(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<PayoutFound, ApiError> {
        let not_found = || ApiError::not_found("no such payout");
        let id: PayoutId = id.0.parse().map_err(|_| not_found())?;
        let p = payouts::get(&state.services.db, &auth.0, &id)
            .await?
            .ok_or_else(not_found)?;
        Ok(PayoutFound::Payout(Json(p.into())))
    }

    /// List expenses, newest first.
    #[oai(path = "/expenses", method = "get")]
    async fn expenses(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        /// Only expenses of this category.
        category: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<ExpensesListed, ApiError> {
        let q = ListQuery {
            status: category.0,
            cursor: id_cursor::<ExpenseId>(cursor.0)?.map(|c| c.to_string()),
            limit: page_limit(limit.0)? as i64,
        };
        let page = expenses::list(&state.services.db, &auth.0, &q).await?;
        Ok(ExpensesListed::Expenses(Json(ExpenseList {
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor,
            data: page.items.into_iter().map(Into::into).collect(),
        })))
    }

    /// Get an expense.
    #[oai(path = "/expenses/:id", method = "get")]
    async fn expense(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<ExpenseFound, ApiError> {
        let not_found = || ApiError::not_found("no such expense");
        let id: ExpenseId = id.0.parse().map_err(|_| not_found())?;
        let e = expenses::get(&state.services.db, &auth.0, &id)
            .await?
            .ok_or_else(not_found)?;
        Ok(ExpenseFound::Expense(Json(e.into())))
    }
}
