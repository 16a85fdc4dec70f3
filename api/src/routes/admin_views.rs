//! What `/v1/admin` accepts and answers.

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::db::api_keys::ApiKey;
use longshore_jobs::db::tenants::{RateLimit, Tenant};
use longshore_jobs::operator::AuditEntry;
use longshore_jobs::validation::{FieldError, Invalid};
use poem_openapi::Object;
use serde::Deserialize;

/// Longest tenant or key name.
const MAX_NAME: usize = 200;
/// Highest rate a limit may set (requests per second).
const MAX_PER_SECOND: u32 = 1_000_000;
/// Largest burst a limit may set.
const MAX_BURST: u32 = 10_000_000;

/// Checks a tenant's or key's name: 1 to 200 characters, no control characters.
pub fn check_name(field: &str, name: &str) -> Result<(), Invalid> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Invalid::one(
            field,
            format!("must be 1 to {MAX_NAME} characters without control characters"),
        ));
    }
    Ok(())
}

/// A request limit: a token bucket of `burst` requests refilled at `per_second`.
#[derive(Debug, Clone, Copy, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitBody {
    /// Requests per second, 0 to 1,000,000 (0: no limit for this tenant).
    pub per_second: u32,
    /// Requests allowed at once after a pause, 1 to 10,000,000.
    pub burst: u32,
}

impl RateLimitBody {
    /// The limit, checked; `within` names the object in errors (`rate_limit`), empty when it
    /// is the whole body.
    pub fn parse(self, within: &str) -> Result<RateLimit, Invalid> {
        let field = |name: &str| {
            if within.is_empty() {
                name.to_owned()
            } else {
                format!("{within}.{name}")
            }
        };
        let mut errors = Vec::new();
        if self.per_second > MAX_PER_SECOND {
            errors.push(FieldError::new(
                field("per_second"),
                format!("must be at most {MAX_PER_SECOND}"),
            ));
        }
        if !(1..=MAX_BURST).contains(&self.burst) {
            errors.push(FieldError::new(
                field("burst"),
                format!("must be between 1 and {MAX_BURST}"),
            ));
        }
        if !errors.is_empty() {
            return Err(Invalid(errors));
        }
        Ok(RateLimit {
            per_second: self.per_second,
            burst: self.burst,
        })
    }
}

impl From<RateLimit> for RateLimitBody {
    fn from(l: RateLimit) -> Self {
        RateLimitBody {
            per_second: l.per_second,
            burst: l.burst,
        }
    }
}

/// A tenant to create.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// A name for people, 1 to 200 characters.
    pub name: String,
    /// Its own request limit; omitted: the deployment's default.
    #[oai(skip_serializing_if_is_none)]
    pub rate_limit: Option<RateLimitBody>,
}

/// A tenant.
#[derive(Debug, Clone, Object)]
pub struct TenantView {
    /// `ten_…`
    pub id: String,
    pub name: String,
    /// `active`, or `disabled` (its keys are refused; its data and work are kept).
    pub status: String,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Its own request limit; absent: the deployment's default.
    #[oai(skip_serializing_if_is_none)]
    pub rate_limit: Option<RateLimitBody>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        TenantView {
            id: t.id.to_string(),
            name: t.name,
            status: if t.disabled_at.is_some() {
                "disabled"
            } else {
                "active"
            }
            .into(),
            created_at: from_ms(t.created_at),
            disabled_at: t.disabled_at.map(from_ms),
            rate_limit: t.rate_limit.map(Into::into),
        }
    }
}

/// A page of tenants, oldest first.
#[derive(Debug, Object)]
pub struct TenantList {
    pub data: Vec<TenantView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A key to create.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// What the key is for, 1 to 200 characters (default `default`).
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
}

/// An API key (never its secret).
#[derive(Debug, Clone, Object)]
pub struct KeyView {
    /// `key_…`
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// `active` or `revoked`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        KeyView {
            id: k.id.to_string(),
            tenant_id: k.tenant.to_string(),
            name: k.name,
            status: if k.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            }
            .into(),
            created_at: from_ms(k.created_at),
            revoked_at: k.revoked_at.map(from_ms),
        }
    }
}

/// A newly created key, with the token: shown this once, never again.
#[derive(Debug, Clone, Object)]
pub struct IssuedKeyView {
    pub key: KeyView,
    /// `lsk_…`: the bearer token to hand to the tenant.
    pub token: String,
}

/// A tenant's keys, newest first.
#[derive(Debug, Object)]
pub struct KeyList {
    pub data: Vec<KeyView>,
}

/// One operator action.
#[derive(Debug, Clone, Object)]
pub struct AuditView {
    /// `aud_…`
    pub id: String,
    pub at: DateTime<Utc>,
    /// The operator key's label (`cli:<user>` for the command line).
    pub actor: String,
    /// e.g. `tenant.created`, `key.revoked`.
    pub action: String,
    /// What was acted on (a tenant or key id).
    #[oai(skip_serializing_if_is_none)]
    pub target: Option<String>,
    /// What else matters about it (never a secret).
    pub detail: serde_json::Value,
    /// Where the request came from.
    #[oai(skip_serializing_if_is_none)]
    pub client_ip: Option<String>,
    /// The request id in the logs.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            id: e.id.to_string(),
            at: from_ms(e.at),
            actor: e.actor.operator,
            action: e.action.as_str().to_owned(),
            target: e.target,
            detail: e.detail,
            client_ip: e.actor.client_ip,
            request_id: e.actor.request_id,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Object)]
pub struct AuditList {
    pub data: Vec<AuditView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}
