//! One typed configuration, read from environment variables (and `.env`) at start-up.
//!
//! Every variable is `LONGSHORE_<FIELD>` (e.g. `LONGSHORE_PORT`), except the conventional
//! `DATABASE_URL`, `REDIS_URL` and `PORT`. A bad value stops the process with a message naming
//! the variable. Secrets are wrapped in [`Secret`] so they never reach logs.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use figment::Figment;
use figment::providers::{Env, Serialized};
use serde::{Deserialize, Serialize};

use crate::queue::Retention;

/// A value that must never be printed (URLs with passwords, signing keys).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Every setting of every Longshore process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `postgres://…` in production; empty means the embedded SQLite file in `data_dir`.
    pub database_url: Option<Secret>,
    /// `redis://…` for the production queue; empty means the embedded SQLite queue.
    pub redis_url: Option<Secret>,
    /// Key namespace inside Redis (lets several deployments or tests share one server).
    pub redis_namespace: String,
    /// Folder for the embedded database, stored files and the outgoing mail folder.
    pub data_dir: PathBuf,
    /// Address the API binds to.
    pub host: String,
    /// API port (`PORT` or `LONGSHORE_PORT`); 0 picks a free one.
    pub port: u16,
    /// The URL clients use to reach the API; defaults to `http://host:port`.
    pub public_url: Option<String>,
    /// Port of the worker's and scheduler's health endpoints; 0 picks a free one.
    pub admin_port: u16,
    pub log_format: LogFormat,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Jobs run at once per queue by one worker process.
    pub worker_concurrency: usize,
    /// At most this many of one tenant's jobs run at once per queue across every worker
    /// (0: no cap), on top of the fair turns tenants take.
    pub tenant_concurrency: u32,
    /// At most this many emails a minute to one recipient domain, across every worker (0: no
    /// limit); see `email::delivery::domain_rate`.
    pub email_per_domain_per_minute: u32,
    /// Queues this worker process serves (comma-separated); empty means all.
    pub worker_queues: String,
    /// How long a job's lease lasts before another worker may take it over (default 30 s).
    pub lease_secs: u64,
    /// Longer lease for the `documents` queue (PDF batches).
    pub documents_lease_secs: u64,
    /// How long a stopping worker waits for running jobs before it leaves them to lease expiry.
    pub shutdown_timeout_secs: u64,
    /// How long a running job's handler has, once told its job was cancelled, before the
    /// worker stops it (drops it at its next await: nothing it had not committed is applied).
    pub cancel_grace_secs: u64,
    pub retention_succeeded_secs: u64,
    pub retention_cancelled_secs: u64,
    pub retention_dead_secs: u64,
    /// Base delay of the exponential retry backoff (the diagnostic jobs' policy), in ms.
    pub retry_base_ms: u64,
    /// Seconds an authenticated API key stays cached (revocation takes effect within this).
    pub auth_cache_secs: u64,
    /// An `Idempotency-Key` claimed by a request that has not finished for this long belongs to
    /// a request that died: a retry of the same request may take it over (routes whose work
    /// derives its ids from the key; see `db::idempotency`).
    pub idempotency_lock_secs: u64,
    /// Where rendered documents are stored: empty for `<data_dir>/files`, `file:///path`, or
    /// `s3://bucket/prefix` (see `storage::open`).
    pub storage_url: Option<String>,
    /// S3-compatible storage: the server's URL (e.g. `http://127.0.0.1:9000` for MinIO); empty
    /// for AWS itself.
    pub s3_endpoint: Option<String>,
    /// S3 region; `us-east-1` when empty.
    pub s3_region: Option<String>,
    /// S3 access key id; empty uses the standard `AWS_*` variables or the instance's role.
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key (with `s3_access_key_id`).
    pub s3_secret_access_key: Option<Secret>,
    /// Path-style S3 requests (`endpoint/bucket/key`, as MinIO-like servers want); false sends
    /// virtual-hosted-style ones (`bucket.endpoint/key`).
    pub s3_path_style: bool,
    /// Public verification lookups (`/v/{code}`) allowed per client IP per minute.
    pub verify_rate_per_minute: u32,
    /// Tracking requests (`/t/*`: opens, clicks, unsubscribes) allowed per client IP per minute,
    /// in bursts up to that many.
    pub tracking_rate_per_minute: u32,
    /// Gateway deliveries (`/hooks/*`) allowed per client IP per minute, in bursts up to that
    /// many; counted before the signature is checked.
    pub hooks_rate_per_minute: u32,
    /// Requests a tenant API key may make per second on `/v1/*` (a token bucket shared by every
    /// API process through Redis, in-process on the embedded default); 0 turns the limit off.
    /// A tenant's own limit (set through `/v1/admin`) overrides it.
    pub rate_limit_per_second: u32,
    /// The bucket's size: how many requests a key may make at once after being idle.
    pub rate_limit_burst: u32,
    /// Operator keys for `/v1/admin` and the dashboard, comma-separated, each `label:secret` or
    /// a bare secret (at least 32 characters); several for rotation. The label names the
    /// operator in the audit log. Unset: the admin API and dashboard refuse everyone.
    pub admin_key: Option<Secret>,
    /// Reverse proxies whose `X-Forwarded-For` is believed: comma-separated IP addresses and
    /// CIDR networks. Empty: the TCP peer is the client (see `proxies`).
    pub trusted_proxies: String,
    /// Seconds a webhook signature's timestamp may differ from now, in either direction.
    pub webhook_tolerance_secs: u64,
    /// Default overlap during which a rotated webhook secret still verifies.
    pub webhook_secret_overlap_secs: u64,
    /// A webhook event still `received` after this many seconds is enqueued again by the sweeper.
    pub webhook_sweep_after_secs: u64,
    /// A record still waiting on its job (an email, document, batch or report) that has not
    /// changed for this many seconds is handed to the queue again by the recovery sweep, under
    /// its derived job id (a no-op while the job exists): what brings back work a queue lost.
    pub recovery_after_secs: u64,
    /// Tests only: skews this process's clock by this many milliseconds (see `clock`).
    pub test_clock_offset_ms: i64,
    /// How long a finished HTTP task's name stays reserved in its queue (a second task of
    /// that name is refused with 409 meanwhile). Cloud Tasks keeps about an hour; default a day.
    pub task_name_reservation_secs: u64,
    /// Days a handled webhook event (its dedup key) is kept; at least 30.
    pub webhook_retention_days: u64,
    /// Master keys that seal webhook signing secrets at rest, `kid:base64,kid:base64` (32-byte
    /// keys; the first seals, all open, so keys rotate). Empty: a key generated once and kept in
    /// `<data_dir>/secrets.key`.
    pub secrets_keys: Option<Secret>,
    /// Fault injection for tests: the apply job holds its transaction open this long before
    /// committing. Keep 0.
    pub payments_apply_pause_ms: u64,
    /// Outgoing mail server: `smtp://host:port` (plain), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS). Empty: `.eml` files in `<data_dir>/outbox`.
    pub smtp_url: Option<Secret>,
    /// SMTP user name, when the URL does not carry one.
    pub smtp_username: Option<String>,
    /// SMTP password, when the URL does not carry one.
    pub smtp_password: Option<Secret>,
    /// Pooled SMTP connections per worker process.
    pub smtp_pool_size: u32,
    /// Longest SMTP conversation for one message; beyond it the attempt is a timeout (deferred).
    pub smtp_timeout_secs: u64,
    /// Name sent with EHLO; the machine's host name when empty.
    pub smtp_hello_name: Option<String>,
    /// A PEM file of certificate authorities to trust for the SMTP server's certificate, besides
    /// the system's (a relay with a private CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// Tracking-link signing keys, `kid:secret,kid:secret` (the first signs, all verify, so keys
    /// rotate while old links keep working). Empty: a generated key kept in the database.
    pub tracking_keys: Option<Secret>,
    /// Record the client IP of opens and clicks; false keeps only a keyed hash for unique counts.
    pub tracking_record_ip: bool,
    /// An open this many ms after sending or sooner is a privacy proxy's prefetch (machine).
    pub tracking_prefetch_window_ms: u64,
    /// A click this many ms after sending or sooner is a security scanner's (machine).
    pub tracking_scanner_window_ms: u64,
    /// Default first retry delay of a deferred email, in ms (tenants may set their own).
    pub email_retry_base_ms: u64,
    /// Default longest delay between two delivery attempts, in ms.
    pub email_retry_max_ms: u64,
    /// Default time after which a still-deferred email fails, in seconds.
    pub email_give_up_secs: u64,
    /// How often the scheduler re-reads schedules at most (changes take effect within it), ms.
    pub scheduler_refresh_ms: u64,
    /// A tick the scheduler sees later than this after its time counts as missed (it was down),
    /// and the schedule's missed-run policy applies, ms.
    pub scheduler_grace_ms: u64,
    /// When set, the API's `/metrics` requires `Authorization: Bearer <token>`; unset, it is
    /// open like most apps' (it holds no tenant data). Admin ports always serve it openly.
    pub metrics_token: Option<Secret>,
    /// Non-public destinations HTTP tasks may call anyway, comma-separated: host names (exact,
    /// case-insensitive, e.g. `localhost`), IP addresses and CIDR networks (`10.1.0.0/16`).
    /// Empty: only public addresses (loopback, private, link-local and cloud metadata refused).
    pub outbound_allow: String,
    /// The delays of event deliveries' attempts, comma-separated (`0s` is at once): each after
    /// the previous attempt failed; after the last, the delivery is `failed` (replay sends it
    /// again). The default spans about a day and a half, as Svix's does.
    pub event_retry_schedule: String,
    /// An endpoint whose every attempt has failed for this long is disabled.
    pub event_disable_after_secs: u64,
    /// Days events (and their deliveries and attempts) are kept.
    pub event_retention_days: u64,
    /// Longest wait for an endpoint's answer to one event, seconds.
    pub event_timeout_secs: u64,
    /// How often an idle worker looks for due event deliveries, ms (it also looks at once
    /// when its own process records events).
    pub event_poll_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: None,
            redis_url: None,
            redis_namespace: String::new(),
            data_dir: PathBuf::from("data"),
            host: "127.0.0.1".into(),
            port: 8080,
            public_url: None,
            admin_port: 9090,
            log_format: LogFormat::Text,
            // A task's 1 MiB body, base64-encoded in its JSON, fits.
            max_body_bytes: 2 * 1024 * 1024,
            worker_concurrency: 64,
            tenant_concurrency: 0,
            email_per_domain_per_minute: 0,
            worker_queues: String::new(),
            lease_secs: 30,
            documents_lease_secs: 120,
            shutdown_timeout_secs: 30,
            cancel_grace_secs: 10,
            retention_succeeded_secs: 24 * 3600,
            retention_cancelled_secs: 24 * 3600,
            retention_dead_secs: 7 * 24 * 3600,
            retry_base_ms: 1000,
            auth_cache_secs: 2,
            idempotency_lock_secs: 60,
            storage_url: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_path_style: true,
            verify_rate_per_minute: 60,
            tracking_rate_per_minute: 6_000,
            hooks_rate_per_minute: 6_000,
            rate_limit_per_second: 1_000,
            rate_limit_burst: 2_000,
            admin_key: None,
            trusted_proxies: String::new(),
            webhook_tolerance_secs: 300,
            webhook_secret_overlap_secs: 24 * 3600,
            webhook_sweep_after_secs: 30,
            webhook_retention_days: 30,
            recovery_after_secs: 30,
            test_clock_offset_ms: 0,
            task_name_reservation_secs: 24 * 3600,
            secrets_keys: None,
            payments_apply_pause_ms: 0,
            smtp_url: None,
            smtp_username: None,
            smtp_password: None,
            smtp_pool_size: 16,
            smtp_timeout_secs: 30,
            smtp_hello_name: None,
            smtp_ca_file: None,
            tracking_keys: None,
            tracking_record_ip: true,
            tracking_prefetch_window_ms: 2_000,
            tracking_scanner_window_ms: 10_000,
            email_retry_base_ms: 60_000,
            email_retry_max_ms: 3_600_000,
            email_give_up_secs: 3 * 24 * 3600,
            scheduler_refresh_ms: 2_000,
            scheduler_grace_ms: 30_000,
            metrics_token: None,
            outbound_allow: String::new(),
            event_retry_schedule: "0s,5s,5m,30m,2h,5h,10h,10h".into(),
            event_disable_after_secs: 5 * 24 * 3600,
            event_retention_days: 30,
            event_timeout_secs: 15,
            event_poll_ms: 250,
        }
    }
}

/// A configuration that could not be loaded; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

/// Names the environment variable behind each figment error (`LONGSHORE_PORT: invalid …`).
fn describe(errors: figment::Error) -> ConfigError {
    let lines: Vec<String> = errors
        .into_iter()
        .map(|e| {
            let key = e.path.join("_").to_uppercase();
            let raw = ["DATABASE_URL", "REDIS_URL", "PORT"];
            let from_prefixed = e
                .metadata
                .as_ref()
                .is_some_and(|m| m.name.contains("LONGSHORE_"));
            let var = if key.is_empty() {
                "environment".to_owned()
            } else if from_prefixed || !raw.contains(&key.as_str()) {
                format!("LONGSHORE_{key}")
            } else {
                key
            };
            format!("{var}: {}", e.kind)
        })
        .collect();
    ConfigError(lines.join("; "))
}

impl Config {
    /// Reads `.env` (if present) and the environment, then validates.
    pub fn from_env() -> Result<Config, ConfigError> {
        let _ = dotenvy::dotenv();
        let figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Env::raw().only(&["database_url", "redis_url", "port"]))
            .merge(Env::prefixed("LONGSHORE_"));
        let config: Config = figment.extract().map_err(describe)?;
        config.validate()?;
        crate::clock::skew_for_tests(config.test_clock_offset_ms);
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |var: &str, why: &str| Err(ConfigError(format!("{var}: {why}")));
        if let Some(url) = &self.database_url {
            let u = url.expose();
            if !(u.is_empty()
                || u.starts_with("postgres://")
                || u.starts_with("postgresql://")
                || u.starts_with("sqlite:"))
            {
                return bad(
                    "DATABASE_URL",
                    "must start with postgres://, postgresql:// or sqlite:",
                );
            }
        }
        if let Some(url) = &self.redis_url {
            let u = url.expose();
            if !(u.is_empty() || u.starts_with("redis://") || u.starts_with("rediss://")) {
                return bad("REDIS_URL", "must start with redis:// or rediss://");
            }
        }
        if self.worker_concurrency == 0 || self.worker_concurrency > 10_000 {
            return bad(
                "LONGSHORE_WORKER_CONCURRENCY",
                "must be between 1 and 10000",
            );
        }
        if self.idempotency_lock_secs == 0 {
            return bad(
                "LONGSHORE_IDEMPOTENCY_LOCK_SECS",
                "must be at least 1 second",
            );
        }
        if self.lease_secs < 2 || self.documents_lease_secs < 2 {
            return bad("LONGSHORE_LEASE_SECS", "must be at least 2 seconds");
        }
        if self.webhook_retention_days < 30 {
            return bad(
                "LONGSHORE_WEBHOOK_RETENTION_DAYS",
                "must be at least 30 (gateways retry for days)",
            );
        }
        if self.webhook_sweep_after_secs == 0 {
            return bad("LONGSHORE_WEBHOOK_SWEEP_AFTER_SECS", "must be at least 1");
        }
        if self.recovery_after_secs == 0 {
            return bad("LONGSHORE_RECOVERY_AFTER_SECS", "must be at least 1");
        }
        if self.max_body_bytes < 1024 {
            return bad("LONGSHORE_MAX_BODY_BYTES", "must be at least 1024");
        }
        if self.verify_rate_per_minute == 0 {
            return bad("LONGSHORE_VERIFY_RATE_PER_MINUTE", "must be at least 1");
        }
        if self.tracking_rate_per_minute == 0 {
            return bad("LONGSHORE_TRACKING_RATE_PER_MINUTE", "must be at least 1");
        }
        if self.hooks_rate_per_minute == 0 {
            return bad("LONGSHORE_HOOKS_RATE_PER_MINUTE", "must be at least 1");
        }
        if self.rate_limit_per_second > 0 && self.rate_limit_burst == 0 {
            return bad(
                "LONGSHORE_RATE_LIMIT_BURST",
                "must be at least 1 while LONGSHORE_RATE_LIMIT_PER_SECOND is set",
            );
        }
        if let Err(why) = self.operator_keys() {
            return bad("LONGSHORE_ADMIN_KEY", &why.to_string());
        }
        if let Err(why) = self.trusted_proxies() {
            return bad("LONGSHORE_TRUSTED_PROXIES", &why.to_string());
        }
        if self.smtp_pool_size == 0 || self.smtp_pool_size > 1000 {
            return bad("LONGSHORE_SMTP_POOL_SIZE", "must be between 1 and 1000");
        }
        if self.smtp_timeout_secs == 0 {
            return bad("LONGSHORE_SMTP_TIMEOUT_SECS", "must be at least 1");
        }
        if let Some(url) = &self.smtp_url {
            let u = url.expose();
            if !(u.is_empty() || u.starts_with("smtp://") || u.starts_with("smtps://")) {
                return bad("LONGSHORE_SMTP_URL", "must start with smtp:// or smtps://");
            }
        }
        if self.email_retry_base_ms == 0 || self.email_retry_max_ms < self.email_retry_base_ms {
            return bad(
                "LONGSHORE_EMAIL_RETRY_BASE_MS",
                "must be at least 1 and at most LONGSHORE_EMAIL_RETRY_MAX_MS",
            );
        }
        if let Some(keys) = &self.tracking_keys
            && let Err(why) = crate::config::tracking_keys_syntax(keys.expose())
        {
            return bad("LONGSHORE_TRACKING_KEYS", &why);
        }
        if let Some(keys) = &self.secrets_keys
            && !keys.expose().trim().is_empty()
            && let Err(why) = sealing_keys(keys.expose())
        {
            return bad("LONGSHORE_SECRETS_KEYS", &why);
        }
        if !(100..=60_000).contains(&self.scheduler_refresh_ms) {
            return bad(
                "LONGSHORE_SCHEDULER_REFRESH_MS",
                "must be between 100 and 60000",
            );
        }
        if self.scheduler_grace_ms < 500 {
            return bad("LONGSHORE_SCHEDULER_GRACE_MS", "must be at least 500");
        }
        if let Err(why) = self.outbound_destinations() {
            return bad("LONGSHORE_OUTBOUND_ALLOW", &why.to_string());
        }
        if let Err(why) = crate::events::schedule::RetrySchedule::parse(&self.event_retry_schedule)
        {
            return bad("LONGSHORE_EVENT_RETRY_SCHEDULE", &why);
        }
        if self.event_timeout_secs == 0 || self.event_timeout_secs > 300 {
            return bad("LONGSHORE_EVENT_TIMEOUT_SECS", "must be between 1 and 300");
        }
        if !(10..=60_000).contains(&self.event_poll_ms) {
            return bad("LONGSHORE_EVENT_POLL_MS", "must be between 10 and 60000");
        }
        if self.event_retention_days == 0 || self.event_disable_after_secs == 0 {
            return bad(
                "LONGSHORE_EVENT_RETENTION_DAYS",
                "it and LONGSHORE_EVENT_DISABLE_AFTER_SECS must be at least 1",
            );
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(
                "LONGSHORE_PUBLIC_URL",
                "must start with http:// or https://",
            );
        }
        Ok(())
    }

    /// The outbound destination policy (`LONGSHORE_OUTBOUND_ALLOW` parsed).
    pub fn outbound_destinations(
        &self,
    ) -> Result<crate::outbound::Destinations, crate::outbound::destinations::BadEntry> {
        crate::outbound::Destinations::parse(&self.outbound_allow)
    }

    /// The operator keys (`LONGSHORE_ADMIN_KEY` parsed; none when unset).
    pub fn operator_keys(
        &self,
    ) -> Result<crate::operator::OperatorKeys, crate::operator::keys::BadOperatorKey> {
        crate::operator::OperatorKeys::parse(self.admin_key.as_ref().map_or("", |k| k.expose()))
    }

    /// The reverse proxies whose `X-Forwarded-For` is believed (`LONGSHORE_TRUSTED_PROXIES`).
    pub fn trusted_proxies(
        &self,
    ) -> Result<crate::proxies::TrustedProxies, crate::proxies::BadProxy> {
        crate::proxies::TrustedProxies::parse(&self.trusted_proxies)
    }

    /// The database URL in force: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.expose().is_empty() => url.expose().to_owned(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("longshore.db").display()
            ),
        }
    }

    /// The Redis URL, if the production queue is configured.
    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url
            .as_ref()
            .map(Secret::expose)
            .filter(|u| !u.is_empty())
    }

    /// The URL clients reach the API at (`LONGSHORE_PUBLIC_URL`, else `http://host:port`),
    /// without a trailing slash: the base of verification, tracking and report links.
    pub fn public_base(&self) -> String {
        let base = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{}", self.host, self.port));
        base.trim_end_matches('/').to_owned()
    }

    /// Retention of finished jobs.
    pub fn retention(&self) -> Retention {
        Retention {
            succeeded: Duration::from_secs(self.retention_succeeded_secs),
            cancelled: Duration::from_secs(self.retention_cancelled_secs),
            dead: Duration::from_secs(self.retention_dead_secs),
        }
    }

    /// The lease length for a queue.
    pub fn lease_for(&self, queue: &str) -> Duration {
        match queue {
            "documents" => Duration::from_secs(self.documents_lease_secs),
            _ => Duration::from_secs(self.lease_secs),
        }
    }
}

/// Splits a key ring `kid:value,kid:value` (tracking keys, secrets keys) into its entries,
/// checking each key id; the values are left to the caller and never appear in an error.
pub fn key_ring_entries(raw: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut out = Vec::new();
    for (i, entry) in raw.split(',').map(str::trim).enumerate() {
        let Some((kid, value)) = entry.split_once(':') else {
            return Err(format!("entry {} must be kid:value", i + 1));
        };
        let kid_ok = !kid.is_empty()
            && kid.len() <= 16
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !kid_ok {
            return Err(format!(
                "entry {}: the key id must be 1 to 16 letters, digits, - or _",
                i + 1
            ));
        }
        out.push((kid, value.trim()));
    }
    Ok(out)
}

/// Parses `LONGSHORE_SECRETS_KEYS` (`kid:base64,kid:base64`: 32-byte keys, ids unique) into
/// the keys that seal webhook signing secrets; errors never reveal a key.
pub fn sealing_keys(raw: &str) -> Result<Vec<(String, [u8; 32])>, String> {
    let mut out = Vec::new();
    for (i, (kid, key)) in key_ring_entries(raw)?.into_iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                format!(
                    "entry {} ({kid}): the key must be 32 bytes in base64 (openssl rand -base64 32)",
                    i + 1
                )
            })?;
        if out.iter().any(|(k, _)| k == kid) {
            return Err(format!("entry {} ({kid}): the key id is repeated", i + 1));
        }
        out.push((kid.to_owned(), bytes));
    }
    if out.is_empty() {
        return Err("no key given".into());
    }
    Ok(out)
}

/// Checks `kid:secret,kid:secret` (the email tracking keys) without revealing the secrets.
pub fn tracking_keys_syntax(raw: &str) -> Result<(), String> {
    if raw.trim().is_empty() {
        return Ok(());
    }
    for (i, (kid, secret)) in key_ring_entries(raw)?.into_iter().enumerate() {
        if secret.len() < 32 {
            return Err(format!(
                "entry {} ({kid}): the secret must be at least 32 characters",
                i + 1
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("postgres://u:hunter2@db/x");
        assert!(!format!("{s:?}").contains("hunter2"));
        let c = Config {
            database_url: Some(s),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn embedded_database_is_a_file_in_the_data_dir() {
        let c = Config::default();
        assert!(c.database_url().starts_with("sqlite://data/longshore.db"));
        assert!(c.redis_url().is_none());
    }

    #[test]
    fn a_bad_url_names_its_variable() {
        let c = Config {
            redis_url: Some(Secret::new("http://nope")),
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("REDIS_URL"), "{err}");
    }

    #[test]
    fn a_bad_outbound_allow_entry_names_its_variable_and_the_entry() {
        let c = Config {
            outbound_allow: "localhost, 10.0.0.0/99".into(),
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "configuration error: LONGSHORE_OUTBOUND_ALLOW: entry \"10.0.0.0/99\" is not a CIDR network"
        );
        let ok = Config {
            outbound_allow: "localhost,127.0.0.1/32".into(),
            ..Config::default()
        };
        assert!(ok.validate().is_ok());
        assert!(ok.outbound_destinations().unwrap().allows_host("LOCALHOST"));
    }

    #[test]
    fn a_bad_trusted_proxy_names_its_variable_and_the_entry() {
        let c = Config {
            trusted_proxies: "10.0.0.0/8, lb.internal".into(),
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "configuration error: LONGSHORE_TRUSTED_PROXIES: entry \"lb.internal\" is not an IP address or CIDR network"
        );
    }
}
