//! The send claim's writes as delivery makes them: on PostgreSQL the hot ones (claim,
//! transmitted mark, `sent` outcome) are group-committed across concurrent attempts by
//! [`crate::db::batcher`], one statement per batch instead of one per email; each attempt still
//! waits for its own write to commit before it goes on, so the claim is durable before the SMTP
//! conversation and the outcome before the job is acknowledged. On SQLite, and for every other
//! outcome, the one-email statements of [`super::claim`] run directly.

use super::claim::{self, Claimed, Finish};
use super::claim_batch::{self, ClaimRequest, MAX_BATCH, MarkRequest, SentRequest};
use super::model::{Email, EmailStatus};
use crate::db::batcher::Batcher;
use crate::db::{Db, DbError, Dialect};
use crate::ids::{EmailId, TenantId};

/// The batch writers (PostgreSQL only).
struct Batched {
    claims: Batcher<ClaimRequest, Option<Claimed>>,
    marks: Batcher<MarkRequest, bool>,
    sent: Batcher<SentRequest, bool>,
}

/// Writes the send claim's records. Built once per process ([`super::Mail`]).
pub struct SendLog {
    db: Db,
    batched: Option<Batched>,
}

impl SendLog {
    /// Starts the batch writers when `db` is PostgreSQL.
    pub fn start(db: Db) -> SendLog {
        let batched = (db.dialect() == Dialect::Postgres).then(|| Batched {
            claims: Batcher::start(db.clone(), MAX_BATCH, claim_batch::claim_many),
            marks: Batcher::start(db.clone(), MAX_BATCH, claim_batch::mark_many),
            sent: Batcher::start(db.clone(), MAX_BATCH, claim_batch::sent_many),
        });
        SendLog { db, batched }
    }

    /// [`claim::claim`], group-committed on PostgreSQL.
    pub async fn claim(
        &self,
        tenant: &TenantId,
        id: &EmailId,
        token: &str,
        hold_ms: i64,
    ) -> Result<Option<Claimed>, DbError> {
        match &self.batched {
            Some(b) => {
                b.claims
                    .call(ClaimRequest {
                        tenant: tenant.clone(),
                        id: id.clone(),
                        token: token.to_owned(),
                        hold_ms,
                    })
                    .await
            }
            None => claim::claim(&self.db, tenant, id, token, hold_ms).await,
        }
    }

    /// [`claim::mark_transmitted`], group-committed on PostgreSQL.
    pub async fn mark_transmitted(&self, id: &EmailId, token: &str) -> Result<bool, DbError> {
        match &self.batched {
            Some(b) => {
                b.marks
                    .call(MarkRequest {
                        id: id.clone(),
                        token: token.to_owned(),
                    })
                    .await
            }
            None => claim::mark_transmitted(&self.db, id, token).await,
        }
    }

    /// [`claim::finish`]; `sent` outcomes are group-committed on PostgreSQL.
    pub async fn finish(&self, e: &Email, token: &str, f: &Finish) -> Result<bool, DbError> {
        match &self.batched {
            Some(b) if f.status == EmailStatus::Sent => {
                b.sent
                    .call(SentRequest {
                        tenant: e.tenant.clone(),
                        id: e.id.clone(),
                        finish: f.clone(),
                    })
                    .await
            }
            _ => claim::finish(&self.db, e, token, f).await,
        }
    }
}
