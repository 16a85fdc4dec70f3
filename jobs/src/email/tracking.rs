//! What the public tracking endpoints call. Opens and clicks are verified from the token alone
//! (no database read), classified human or machine, and handed to the batching event writer;
//! unsubscribes are written before answering.

use std::hash::{Hash, Hasher};

use super::Mail;
use super::event_store::Tracked;
use super::machine::{self, Sighting, Windows};
use super::model::EventKind;
use super::tokens::{Claims, TokenKind};
use super::{address, repo, suppressions};
use crate::clock::now_ms;
use crate::config::Config;
use crate::db::{Db, DbError};

/// What recording a tracked open, click or unsubscribe uses.
pub struct Tracker<'a> {
    pub db: &'a Db,
    pub config: &'a Config,
    pub mail: &'a Mail,
}

/// Longest user agent kept.
const MAX_USER_AGENT: usize = 512;

/// Who made a tracking request.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    pub user_agent: String,
    pub ip: String,
}

fn windows(ctx: &Tracker<'_>) -> Windows {
    Windows {
        prefetch_ms: ctx.config.tracking_prefetch_window_ms,
        scanner_ms: ctx.config.tracking_scanner_window_ms,
    }
}

fn event(
    ctx: &Tracker<'_>,
    claims: &Claims,
    kind: EventKind,
    visitor: &Visitor,
    machine: Option<&str>,
) -> Tracked {
    let mut ua = visitor.user_agent.clone();
    if ua.len() > MAX_USER_AGENT {
        let mut cut = MAX_USER_AGENT;
        while !ua.is_char_boundary(cut) {
            cut -= 1;
        }
        ua.truncate(cut);
    }
    Tracked {
        email: claims.email.clone(),
        tenant: claims.tenant.clone(),
        kind,
        at: now_ms(),
        machine: machine.map(str::to_owned),
        fingerprint: Some(ctx.mail.keys.fingerprint(
            &claims.email,
            &visitor.ip,
            &visitor.user_agent,
        )),
        user_agent: (!ua.is_empty()).then_some(ua),
        ip: (ctx.config.tracking_record_ip && !visitor.ip.is_empty()).then(|| visitor.ip.clone()),
        link: claims.link.clone(),
        data: None,
        sighting: ulid::Ulid::new().to_string(),
    }
}

/// A pixel fetch: records an open when the token is genuine and `count` (a GET, not a HEAD).
/// Returns whether the token is genuine.
pub async fn open(ctx: &Tracker<'_>, token: &str, visitor: &Visitor, count: bool) -> bool {
    let Some(claims) = ctx.mail.keys.verify(TokenKind::Open, token) else {
        return false;
    };
    if count {
        let sighting = Sighting {
            is_click: false,
            user_agent: &visitor.user_agent,
            since_sent_ms: now_ms() - claims.issued_at,
        };
        let machine = machine::classify(&sighting, windows(ctx));
        ctx.mail
            .events
            .record(event(ctx, &claims, EventKind::Opened, visitor, machine))
            .await;
    }
    true
}

/// A link follow: records a click and returns the original link, or `None` for a token that is
/// not genuine (nothing recorded, no redirect).
pub async fn click(ctx: &Tracker<'_>, token: &str, visitor: &Visitor) -> Option<String> {
    let claims = ctx.mail.keys.verify(TokenKind::Click, token)?;
    let link = claims.link.clone()?;
    let now = now_ms();
    let sighting = Sighting {
        is_click: true,
        user_agent: &visitor.user_agent,
        since_sent_ms: now - claims.issued_at,
    };
    let mut machine = machine::classify(&sighting, windows(ctx));
    let mut e = event(ctx, &claims, EventKind::Clicked, visitor, None);
    if machine.is_none() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        link.hash(&mut h);
        let fingerprint = e.fingerprint.clone().unwrap_or_default();
        if ctx
            .mail
            .bursts
            .click(claims.email.as_str(), &fingerprint, h.finish(), now)
        {
            machine = Some("clicked many links at once");
        }
    }
    e.machine = machine.map(str::to_owned);
    ctx.mail.events.record(e).await;
    Some(link)
}

/// Checks an unsubscribe token without changing anything (the confirmation page).
pub fn unsubscribe_token(ctx: &Tracker<'_>, token: &str) -> Option<Claims> {
    ctx.mail.keys.verify(TokenKind::Unsubscribe, token)
}

/// One-click unsubscribe (RFC 8058): suppresses the email's `to` recipients and records the
/// event and its `email.unsubscribed` app event, in one transaction, before answering.
/// Idempotent: repeating it changes nothing more and records nothing. `None` for a token that
/// is not genuine or an email that no longer exists.
pub async fn unsubscribe(
    ctx: &Tracker<'_>,
    token: &str,
    visitor: &Visitor,
) -> Result<Option<Vec<String>>, DbError> {
    let Some(claims) = unsubscribe_token(ctx, token) else {
        return Ok(None);
    };
    let db: &Db = ctx.db;
    let Some(to) = repo::recipients(db, &claims.tenant, &claims.email).await? else {
        return Ok(None);
    };
    let keys: Vec<String> = address::from_stored(&to)
        .map_err(|e| DbError::Unavailable(format!("stored recipients do not parse: {e}")))?
        .iter()
        .map(address::Recipient::key)
        .collect();
    let mut tx = db.pool().begin().await?;
    let added = suppressions::add_on(
        &mut tx,
        &claims.tenant,
        &keys,
        suppressions::UNSUBSCRIBED,
        Some(&claims.email),
        None,
    )
    .await?;
    if !added.is_empty() {
        let mut e = event(ctx, &claims, EventKind::Unsubscribed, visitor, None);
        e.data = Some(serde_json::json!({ "addresses": added }));
        super::event_store::insert_on(&mut tx, db.dialect(), &[e]).await?;
    }
    tx.commit().await?;
    Ok(Some(keys))
}

/// The link of a genuine click token, without recording anything (`HEAD` requests).
pub fn peek_link(ctx: &Tracker<'_>, token: &str) -> Option<String> {
    ctx.mail.keys.verify(TokenKind::Click, token)?.link
}

/// The link as a `Location` header value: non-ASCII characters percent-encoded (RFC 3986), the
/// rest as signed.
pub fn location(link: &str) -> String {
    let mut out = String::with_capacity(link.len());
    for c in link.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn locations_are_ascii() {
        assert_eq!(
            super::location("https://a.example/é?q=ü"),
            "https://a.example/%C3%A9?q=%C3%BC"
        );
        assert_eq!(
            super::location("https://a.example/x?y=1&z=2"),
            "https://a.example/x?y=1&z=2"
        );
    }
}
