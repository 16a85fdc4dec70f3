//! The `email.send` job: one delivery attempt of one email.
//!
//! 1. **Claim** (the idempotency record, written before any SMTP conversation): the email row
//!    moves to `sending` with a claim token naming this job attempt and an expiry longer than the
//!    longest possible conversation. Only `queued`/`deferred` rows, or `sending` rows whose claim
//!    expired, can be claimed, in one conditional UPDATE: of two racing workers exactly one gets
//!    it, and the other waits for the claim's end and then finds the email final. A re-delivered
//!    job whose email is already `sent` does nothing.
//! 2. **Suppression**: suppressed recipients are left out; none left → `suppressed`, no SMTP.
//! 3. **Build and send**, then **record** the outcome, releasing the claim: accepted → `sent`
//!    (recorded whatever claim is current, retried until it lands); 4xx/timeout/connection →
//!    `deferred` and a retry after the tenant's backoff (or `failed` past its give-up time);
//!    5xx → `bounced`, the recipient suppressed, no retry. Each outcome carries its `email.*`
//!    events back to the tenant's app ([`super::app_events`]), built once before the write and
//!    recorded in its transaction only if the write changed the row.
//!
//! The honest limit: SMTP has no idempotency key, and a worker can die after the server
//! accepted a message and before step 3 commits. So once the server has agreed to take the
//! message (its 354 after DATA) and right before the message is written, the attempt marks its
//! claim *transmitted* (one more group-committed write). An
//! attempt that takes over an expired claim so marked does not send again: it records `sent`
//! with `unconfirmed: true` in the event. Never a second copy, at a price: a worker dying between
//! that mark and the server's reply leaves an email recorded `sent` that the server may not have
//! accepted. A worker dying before the mark leaves nothing at the server; the next attempt sends
//! (with the same Message-ID) and its `sent` event says `resumed_after_interrupted_attempt`.
//! The same rule holds for an attempt that lives through it: once the claim is marked, a
//! conversation that ends without the server's reply (the connection dropped, the reply timed
//! out) is recorded `sent`, unconfirmed, with what happened as its reason
//! ([`Delivery::Unconfirmed`]), and is not sent again. Only a reply (4xx, 5xx) says the server
//! does not have the message.

use std::time::Duration;

use super::Mail;
use super::address::{self, Recipient};
use super::app_events::{self, Detail};
use super::attachments::Documents;
use super::claim::{self, Finish};
use super::message::{self, Attachment, Tracking};
use super::model::{Email, EmailStatus, EventKind};
use super::repo;
use super::transport::Delivery;
use super::{settings, suppressions};
use crate::attempt::JobMeta;
use crate::clock::now_ms;
use crate::config::Config;
use crate::db::Db;
use crate::error::JobError;
use crate::events::data::email::RejectReason;
use crate::ids::EmailId;
use crate::job_rate::{self, KeyRate};
use crate::metrics;
use crate::storage::FileStore;
use crate::throttle::Throttle;

/// What a delivery attempt uses.
pub struct Sender<'a> {
    pub db: &'a Db,
    pub config: &'a Config,
    pub mail: &'a Mail,
    pub storage: &'a dyn FileStore,
    /// The documents emails attach.
    pub documents: &'a dyn Documents,
    /// Where the per-domain sending rate is kept ([`domain_rate`]).
    pub throttle: &'a dyn Throttle,
}

/// The rate an email's send job declares: at most `LONGSHORE_EMAIL_PER_DOMAIN_PER_MINUTE` emails
/// a minute to each recipient domain, across every worker (0: none). Receiving servers throttle
/// or block senders that go faster (Gmail, Outlook); a 50,000-email campaign to one domain then
/// waits its turn in the queue rather than being refused.
pub fn domain_rate(config: &Config) -> KeyRate {
    KeyRate {
        name: "email.domain",
        per_minute: config.email_per_domain_per_minute,
    }
}

/// Added to the longest conversation to size the claim.
const CLAIM_MARGIN: Duration = Duration::from_secs(10);

/// How long a send claim lasts (from the database's now, see [`claim`]): longer than the
/// longest conversation.
fn claim_hold_ms(ctx: &Sender<'_>) -> i64 {
    let hold = ctx.mail.transport.max_duration() + CLAIM_MARGIN;
    i64::try_from(hold.as_millis()).unwrap_or(i64::MAX)
}

/// Claims the email's send for `token` (held for a whole conversation); `None` when another
/// attempt holds it or the email is final. A database error is worth retrying.
async fn claim_send(
    ctx: &Sender<'_>,
    meta: &JobMeta,
    id: &EmailId,
    token: &str,
) -> Result<Option<claim::Claimed>, JobError> {
    ctx.mail
        .sends
        .claim(&meta.tenant, id, token, claim_hold_ms(ctx))
        .await
        .map_err(JobError::retryable)
}

/// Runs one delivery attempt.
pub async fn send_email(ctx: &Sender<'_>, meta: &JobMeta, id: &EmailId) -> Result<(), JobError> {
    let token = format!("{}#{}", meta.id, meta.attempt);
    let claimed = claim_send(ctx, meta, id, &token).await?;
    let Some(claim::Claimed {
        email,
        suppressed,
        transmitted,
    }) = claimed
    else {
        return not_claimed(ctx, meta, id).await;
    };
    if transmitted {
        tracing::warn!(email = %id, "a previous attempt died after transmitting the message; recording it sent (unconfirmed) instead of sending a second copy");
        let why = "the previous attempt stopped after transmitting the message, before the server's reply was recorded";
        return unconfirmed(ctx, &email, &token, why.to_owned(), None, Vec::new()).await;
    }
    if email.interrupted {
        tracing::warn!(email = %id, "a previous attempt ended without recording its outcome; sending again with the same Message-ID");
    }
    let recipients =
        address::from_stored(&[email.to.clone(), email.cc.clone(), email.bcc.clone()].concat());
    let recipients = match recipients {
        Ok(r) => r,
        Err(e) => {
            let why = format!("stored recipients do not parse: {e}");
            return fail(ctx, &email, &token, why, RejectReason::Invalid, None).await;
        }
    };
    let (envelope_to, suppressed) =
        match split_suppressed(ctx, &email, recipients, suppressed).await {
            Ok(split) => split,
            Err(e) => return release(ctx, &email, &token, e).await,
        };
    if !envelope_to.is_empty() {
        let mut domains: Vec<String> = envelope_to
            .iter()
            .map(|r| r.domain().to_ascii_lowercase())
            .collect();
        domains.sort_unstable();
        domains.dedup();
        let rate = domain_rate(ctx.config);
        let keys = domains.iter().map(String::as_str);
        if let Err(deferred) = job_rate::take_slots(ctx.throttle, rate, keys, &meta.id).await {
            // Not sent: the claim goes back, and the job waits for its slot.
            if let Err(e) = claim::release(ctx.db, &email.id, &token).await {
                tracing::warn!(email = %email.id, error = %e, "could not release the send claim; it expires on its own");
            }
            return Err(deferred);
        }
    }
    if envelope_to.is_empty() {
        let f = Finish {
            status: EmailStatus::Suppressed,
            event: EventKind::Suppressed,
            reply: None,
            data: Some(serde_json::json!({ "addresses": suppressed })),
            suppressed,
            events: Vec::new(),
        };
        record(ctx, &email, &token, f, &Detail::default()).await?;
        return Ok(());
    }
    let attachments = match load_attachments(ctx, &email).await {
        Ok(a) => a,
        Err(Step::Later(why)) => return release(ctx, &email, &token, why).await,
        Err(Step::Never(why)) => {
            return fail(ctx, &email, &token, why, RejectReason::Other, None).await;
        }
    };
    let base = ctx.config.public_base();
    let tracking = Tracking {
        keys: &ctx.mail.keys,
        base_url: &base,
        issued_at: now_ms(),
    };
    let built = match message::build(&email, &envelope_to, attachments, &tracking) {
        Ok(b) => b,
        Err(why) => return fail(ctx, &email, &token, why, RejectReason::Other, None).await,
    };
    let transmitting = async {
        match ctx.mail.sends.mark_transmitted(&email.id, &token).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the send claim was taken over; not sending".to_owned()),
            Err(e) => Err(format!("could not mark the claim transmitted: {e}")),
        }
    };
    let delivery = ctx
        .mail
        .transport
        .send(&email.id, &built.envelope, &built.bytes, transmitting)
        .await;
    outcome(
        ctx,
        meta,
        &email,
        &token,
        delivery,
        suppressed,
        envelope_to.len(),
    )
    .await
}

/// The email's job is dead with `error` (see [`crate::registry::JobKind::on_dead`]): an email
/// not final yet is ended under a send claim of its own, as an attempt would end it. If the
/// attempt that died had marked its claim transmitted the server may have the message: `sent`,
/// unconfirmed, as on any takeover. Otherwise `failed` with `error`. A live claim of another
/// attempt (one that lost its lease and may still be talking to the server) is waited for.
pub async fn fail_dead(
    ctx: &Sender<'_>,
    meta: &JobMeta,
    id: &EmailId,
    error: &str,
) -> Result<(), JobError> {
    let token = format!("{}#{}#dead", meta.id, meta.attempt);
    let claimed = claim_send(ctx, meta, id, &token).await?;
    let Some(claim::Claimed {
        email, transmitted, ..
    }) = claimed
    else {
        return not_claimed(ctx, meta, id).await;
    };
    if transmitted {
        tracing::warn!(email = %id, "the email's job died after transmitting the message; recording it sent (unconfirmed)");
        let why = "the job's last attempt stopped after transmitting the message, before the server's reply was recorded";
        return unconfirmed(ctx, &email, &token, why.to_owned(), None, Vec::new()).await;
    }
    let why = format!("its job died: {error}");
    match fail(ctx, &email, &token, why, RejectReason::Other, None).await {
        Ok(()) | Err(JobError::Permanent(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The message may be at the server and SMTP cannot tell: the attempt that held the claim
/// before died after it had started transmitting, or this attempt's connection ended after the
/// message was written with no reply (`error`, what happened instead). Sending again could
/// deliver a second copy, so the email is recorded `sent`, flagged unconfirmed, with `reason`.
async fn unconfirmed(
    ctx: &Sender<'_>,
    email: &Email,
    token: &str,
    reason: String,
    error: Option<String>,
    suppressed: Vec<String>,
) -> Result<(), JobError> {
    let f = Finish {
        status: EmailStatus::Sent,
        event: EventKind::Sent,
        reply: error.clone(),
        data: Some(serde_json::json!({
            "unconfirmed": true, "attempt": email.attempts, "reason": reason, "reply": error,
        })),
        suppressed,
        events: Vec::new(),
    };
    let detail = Detail {
        unconfirmed: true,
        mta_response: error,
        ..Detail::default()
    };
    record(ctx, email, token, f, &detail).await
}

/// A step before the SMTP conversation failed: try again later, or never.
enum Step {
    Later(String),
    Never(String),
}

/// Why the claim was not ours: the email is final (nothing to do), another attempt holds a live
/// claim (wait for it), or there is no such email.
async fn not_claimed(ctx: &Sender<'_>, meta: &JobMeta, id: &EmailId) -> Result<(), JobError> {
    let email = repo::get(ctx.db, &meta.tenant, id)
        .await
        .map_err(JobError::retryable)?;
    match email {
        None => Err(JobError::Permanent(format!("no such email {id}"))),
        Some(e) if e.status.is_final() => {
            tracing::info!(email = %id, status = %e.status, "email already final; nothing to send");
            Ok(())
        }
        Some(e) if e.status == EmailStatus::Sending => {
            let remaining = claim::claim_remaining(ctx.db, id)
                .await
                .map_err(JobError::retryable)?;
            Err(JobError::RetryAfter {
                error: "another attempt is sending this email".into(),
                delay: Duration::from_millis(u64::try_from(remaining).unwrap_or(0) + 200),
            })
        }
        Some(e) => Err(JobError::Retryable(format!(
            "could not claim the email ({})",
            e.status
        ))),
    }
}

/// Splits recipients into those to send to and the suppressed ones (deduplicated by address).
async fn split_suppressed(
    ctx: &Sender<'_>,
    email: &Email,
    all: Vec<Recipient>,
    known: Option<Vec<String>>,
) -> Result<(Vec<Recipient>, Vec<String>), String> {
    let mut unique: Vec<Recipient> = Vec::with_capacity(all.len());
    for r in all {
        if !unique.iter().any(|u| u.key() == r.key()) {
            unique.push(r);
        }
    }
    let keys: Vec<String> = unique.iter().map(Recipient::key).collect();
    let suppressed = match known {
        Some(s) => s,
        None => suppressions::which(ctx.db, &email.tenant, &keys)
            .await
            .map_err(|e| e.to_string())?,
    };
    let (blocked, send): (Vec<Recipient>, Vec<Recipient>) = unique
        .into_iter()
        .partition(|r| suppressed.contains(&r.key()));
    Ok((send, blocked.iter().map(Recipient::key).collect()))
}

/// The email's attachments (ready PDFs of the same tenant, or stored files), loaded by
/// [`super::attachments`].
async fn load_attachments(ctx: &Sender<'_>, email: &Email) -> Result<Vec<Attachment>, Step> {
    super::attachments::load(ctx.documents, ctx.storage, email)
        .await
        .map_err(|e| match e {
            super::attachments::LoadError::Later(why) => Step::Later(why),
            super::attachments::LoadError::Never(why) => Step::Never(why),
        })
}

/// Records the outcome of the conversation and tells the queue what to do next.
async fn outcome(
    ctx: &Sender<'_>,
    meta: &JobMeta,
    email: &Email,
    token: &str,
    delivery: Delivery,
    suppressed: Vec<String>,
    recipients: usize,
) -> Result<(), JobError> {
    match delivery {
        Delivery::Accepted(reply) => {
            let f = Finish {
                status: EmailStatus::Sent,
                event: EventKind::Sent,
                data: Some(serde_json::json!({
                    "reply": reply, "recipients": recipients, "attempt": email.attempts,
                    "resumed_after_interrupted_attempt": email.interrupted,
                })),
                reply: Some(reply.clone()),
                suppressed,
                events: Vec::new(),
            };
            record(ctx, email, token, f, &Detail::reply(reply)).await?;
            metrics::email_delivery("sent");
            Ok(())
        }
        Delivery::Deferred(reply) => defer(ctx, meta, email, token, reply, suppressed).await,
        Delivery::Bounced(reply) => {
            // A 5xx does not say which recipient it refused when there were several.
            let to_suppress: Vec<String> = if recipients == 1 {
                envelope_keys(email, &suppressed)
            } else {
                Vec::new()
            };
            let f = Finish {
                status: EmailStatus::Bounced,
                event: EventKind::Bounced,
                data: Some(serde_json::json!({ "reply": reply, "suppressed": to_suppress })),
                reply: Some(reply.clone()),
                suppressed,
                events: Vec::new(),
            };
            let detail = Detail {
                reject_reason: Some(RejectReason::Bounced),
                ..Detail::reply(&reply)
            };
            record(ctx, email, token, f, &detail).await?;
            metrics::email_delivery("bounced");
            suppressions::add(
                ctx.db,
                &email.tenant,
                &to_suppress,
                suppressions::BOUNCED,
                Some(&email.id),
                Some(&reply),
            )
            .await
            .map_err(JobError::retryable)?;
            Err(JobError::Permanent(format!("bounced: {reply}")))
        }
        Delivery::Failed(why) => fail(ctx, email, token, why, RejectReason::Other, None).await,
        Delivery::NotSent(why) => release(ctx, email, token, why).await,
        Delivery::Unconfirmed(error) => {
            tracing::warn!(email = %email.id, error = %error, "no reply after the message was written; recording it sent (unconfirmed) instead of sending a second copy");
            let why = format!(
                "{error}; the server may have accepted the message, so it is not sent again"
            );
            unconfirmed(ctx, email, token, why, Some(error), suppressed).await?;
            metrics::email_delivery("sent");
            Ok(())
        }
    }
}

/// The normalised addresses the message went to (all recipients less the suppressed).
fn envelope_keys(email: &Email, suppressed: &[String]) -> Vec<String> {
    let all = [email.to.clone(), email.cc.clone(), email.bcc.clone()].concat();
    let mut keys: Vec<String> = address::from_stored(&all)
        .unwrap_or_default()
        .iter()
        .map(Recipient::key)
        .filter(|k| !suppressed.contains(k))
        .collect();
    keys.dedup();
    keys
}

/// A transient failure: retry after the tenant's backoff, or give up past its give-up time.
async fn defer(
    ctx: &Sender<'_>,
    meta: &JobMeta,
    email: &Email,
    token: &str,
    reply: String,
    suppressed: Vec<String>,
) -> Result<(), JobError> {
    let db = ctx.db;
    let policy = settings::get(db, &email.tenant)
        .await
        .map_err(JobError::retryable)?
        .policy(ctx.config);
    let first = claim::first_deferred_at(db, &email.id)
        .await
        .map_err(JobError::retryable)?
        .unwrap_or_else(now_ms);
    let delay = policy.delay_after(email.attempts.max(1));
    let deadline = first + policy.give_up.as_millis() as i64;
    if now_ms() + delay.as_millis() as i64 > deadline || meta.attempt >= meta.max_attempts {
        let why = format!("gave up after {} attempts: {reply}", email.attempts);
        return fail(ctx, email, token, why, RejectReason::TimedOut, Some(reply)).await;
    }
    let f = Finish {
        status: EmailStatus::Deferred,
        event: EventKind::Deferred,
        data: Some(
            serde_json::json!({ "reply": reply, "attempt": email.attempts, "retry_in_ms": delay.as_millis() as u64 }),
        ),
        reply: Some(reply.clone()),
        suppressed,
        events: Vec::new(),
    };
    record(ctx, email, token, f, &Detail::reply(&reply)).await?;
    metrics::email_delivery("deferred");
    Err(JobError::RetryAfter {
        error: format!("deferred: {reply}"),
        delay,
    })
}

/// Marks the email failed (permanent) and ends the job. `reason` and `mta_response` (the last
/// SMTP reply, if one led to this) are for the `email.failed` event.
async fn fail(
    ctx: &Sender<'_>,
    email: &Email,
    token: &str,
    why: String,
    reason: RejectReason,
    mta_response: Option<String>,
) -> Result<(), JobError> {
    let f = Finish {
        status: EmailStatus::Failed,
        event: EventKind::Failed,
        data: Some(serde_json::json!({ "reason": why })),
        reply: Some(why.clone()),
        suppressed: Vec::new(),
        events: Vec::new(),
    };
    let detail = Detail {
        mta_response,
        reject_reason: Some(reason),
        description: Some(why.clone()),
        unconfirmed: false,
    };
    record(ctx, email, token, f, &detail).await?;
    metrics::email_delivery("failed");
    Err(JobError::Permanent(why))
}

/// Hands the claim back before any conversation took place, and retries the job.
async fn release(
    ctx: &Sender<'_>,
    email: &Email,
    token: &str,
    why: String,
) -> Result<(), JobError> {
    if let Err(e) = claim::release(ctx.db, &email.id, token).await {
        tracing::warn!(email = %email.id, error = %e, "could not release the send claim; it expires on its own");
    }
    Err(JobError::Retryable(why))
}

/// Writes an outcome with its app events, retrying while the database is unreachable (for
/// `sent`, a lost write would mean a second copy later), for as long as the claim lasts. The
/// events are built once, before the first try, so every retry carries the same event ids.
async fn record(
    ctx: &Sender<'_>,
    email: &Email,
    token: &str,
    mut f: Finish,
    detail: &Detail,
) -> Result<(), JobError> {
    let at = now_ms();
    let reasons = if f.status.is_final() {
        app_events::suppression_reasons(ctx.db, email, &f.suppressed).await
    } else {
        Vec::new()
    };
    f.events = app_events::outcome(email, f.status, at, detail, &reasons);
    let give_up = tokio::time::Instant::now() + ctx.mail.transport.max_duration();
    let mut backoff = Duration::from_millis(20);
    loop {
        match ctx.mail.sends.finish(email, token, &f).await {
            Ok(changed) => {
                if !changed {
                    tracing::warn!(email = %email.id, status = %f.status, "outcome not recorded: the claim was taken over");
                }
                return Ok(());
            }
            Err(e) if tokio::time::Instant::now() < give_up => {
                tracing::warn!(email = %email.id, error = %e, "could not record the outcome; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(JobError::retryable(e)),
        }
    }
}
