//! `/v1/suppressions/{address}` (the addresses that are never mailed again: bounced,
//! unsubscribed, or added by hand) and `/v1/email-settings` (sender defaults and the delivery
//! retry policy of the tenant).

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::email::address::{Recipient, normalise};
use longshore_jobs::email::settings::{self, Settings};
use longshore_jobs::email::suppressions::{self, Suppression};
use longshore_jobs::validation::{FieldError, Invalid};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::problem::ApiError;
use crate::state::AppState;

/// A suppressed address.
#[derive(Debug, Clone, Object)]
pub struct SuppressionView {
    /// Normalised (lower case).
    pub address: String,
    /// `bounced`, `unsubscribed` or `manual`.
    pub reason: String,
    /// The email that caused it.
    #[oai(skip_serializing_if_is_none)]
    pub email_id: Option<String>,
    /// For bounces: the server's reply.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Suppression> for SuppressionView {
    fn from(s: Suppression) -> Self {
        SuppressionView {
            address: s.address,
            reason: s.reason,
            email_id: s.email.map(|e| e.to_string()),
            detail: s.detail,
            created_at: from_ms(s.created_at),
        }
    }
}

/// An address to suppress by hand.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSuppression {
    pub address: String,
}

#[derive(ApiResponse)]
enum Found {
    /// The suppression.
    #[oai(status = 200)]
    Suppression(Json<SuppressionView>),
}

#[derive(ApiResponse)]
enum Created {
    /// Suppressed (or already was: the first reason is kept).
    #[oai(status = 201)]
    Suppression(Json<SuppressionView>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// No longer suppressed.
    #[oai(status = 204)]
    Done,
}

/// The suppression list API.
pub struct SuppressionsApi;

#[OpenApi(prefix_path = "/v1", tag = "super::emails::EmailTags::Email")]
impl SuppressionsApi {
    /// Whether an address is suppressed, why and since when (404 if it is not).
    #[oai(path = "/suppressions/:address", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        address: Path<String>,
    ) -> Result<Found, ApiError> {
        let s = suppressions::get(&state.services.db, &auth.0, &normalise(&address.0)).await?;
        let s = s.ok_or_else(|| ApiError::not_found("this address is not suppressed"))?;
        Ok(Found::Suppression(Json(s.into())))
    }

    /// Suppress an address by hand.
    #[oai(path = "/suppressions", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: JsonBody<CreateSuppression>,
    ) -> Result<Created, ApiError> {
        let r: Recipient = body.value.address.parse().map_err(
            |e: longshore_jobs::email::address::InvalidAddress| {
                Invalid::one("address", e.to_string())
            },
        )?;
        let db = &state.services.db;
        suppressions::add(db, &auth.0, &[r.key()], suppressions::MANUAL, None, None).await?;
        let s = suppressions::get(db, &auth.0, &r.key())
            .await?
            .ok_or_else(ApiError::internal)?;
        Ok(Created::Suppression(Json(s.into())))
    }

    /// Lift a suppression: the address may be mailed again.
    #[oai(path = "/suppressions/:address", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        address: Path<String>,
    ) -> Result<Deleted, ApiError> {
        if suppressions::remove(&state.services.db, &auth.0, &normalise(&address.0)).await? {
            Ok(Deleted::Done)
        } else {
            Err(ApiError::not_found("this address is not suppressed"))
        }
    }
}

/// A tenant's email settings. Omitted fields use the deployment's defaults.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettingsBody {
    /// Default sender, e.g. `Acme <billing@acme.example>`.
    #[oai(skip_serializing_if_is_none)]
    pub from: Option<String>,
    /// Default reply-to address.
    #[oai(skip_serializing_if_is_none)]
    pub reply_to: Option<String>,
    /// First retry delay of a deferred email, 100 ms to 1 day.
    #[oai(skip_serializing_if_is_none)]
    pub retry_base_ms: Option<u64>,
    /// Longest delay between attempts, up to 1 day (at least `retry_base_ms`).
    #[oai(skip_serializing_if_is_none)]
    pub retry_max_ms: Option<u64>,
    /// A deferred email fails after this many seconds (1 s to 30 days).
    #[oai(skip_serializing_if_is_none)]
    pub give_up_secs: Option<u64>,
}

/// The settings in force.
#[derive(Debug, Clone, Object)]
pub struct EmailSettingsView {
    #[oai(skip_serializing_if_is_none)]
    pub from: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub reply_to: Option<String>,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub give_up_secs: u64,
}

#[derive(ApiResponse)]
enum SettingsFound {
    /// The settings in force (defaults filled in).
    #[oai(status = 200)]
    Settings(Json<EmailSettingsView>),
}

const DAY_MS: u64 = 24 * 3600 * 1000;

fn check(b: &EmailSettingsBody) -> Result<(), Invalid> {
    let mut errors = Vec::new();
    for (field, value) in [("from", &b.from), ("reply_to", &b.reply_to)] {
        if let Some(v) = value
            && v.parse::<Recipient>().is_err()
        {
            errors.push(FieldError::new(
                field,
                "must be an email address like billing@acme.example",
            ));
        }
    }
    if b.retry_base_ms
        .is_some_and(|v| !(100..=DAY_MS).contains(&v))
    {
        errors.push(FieldError::new(
            "retry_base_ms",
            "must be between 100 and 86400000",
        ));
    }
    if b.retry_max_ms
        .is_some_and(|v| v > DAY_MS || v < b.retry_base_ms.unwrap_or(100))
    {
        errors.push(FieldError::new(
            "retry_max_ms",
            "must be at least retry_base_ms and at most 86400000",
        ));
    }
    if b.give_up_secs
        .is_some_and(|v| !(1..=30 * 24 * 3600).contains(&v))
    {
        errors.push(FieldError::new(
            "give_up_secs",
            "must be between 1 and 2592000",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Invalid(errors))
    }
}

fn view(state: &AppState, s: &Settings) -> EmailSettingsView {
    let p = s.policy(&state.services.config);
    EmailSettingsView {
        from: s.from.clone(),
        reply_to: s.reply_to.clone(),
        retry_base_ms: p.base.as_millis() as u64,
        retry_max_ms: p.max.as_millis() as u64,
        give_up_secs: p.give_up.as_secs(),
    }
}

/// The email settings API.
pub struct EmailSettingsApi;

#[OpenApi(prefix_path = "/v1", tag = "super::emails::EmailTags::Email")]
impl EmailSettingsApi {
    /// The tenant's sender defaults and retry policy.
    #[oai(path = "/email-settings", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
    ) -> Result<SettingsFound, ApiError> {
        let s = settings::get(&state.services.db, &auth.0).await?;
        Ok(SettingsFound::Settings(Json(view(&state, &s))))
    }

    /// Replace the tenant's sender defaults and retry policy.
    #[oai(path = "/email-settings", method = "put")]
    async fn put(
        &self,
        state: Data<&AppState>,
        auth: ApiKeyAuth,
        body: JsonBody<EmailSettingsBody>,
    ) -> Result<SettingsFound, ApiError> {
        let b = body.value;
        check(&b)?;
        let s = Settings {
            from: b.from,
            reply_to: b.reply_to,
            retry_base_ms: b.retry_base_ms,
            retry_max_ms: b.retry_max_ms,
            give_up_secs: b.give_up_secs,
        };
        settings::put(&state.services.db, &auth.0, &s).await?;
        Ok(SettingsFound::Settings(Json(view(&state, &s))))
    }
}
