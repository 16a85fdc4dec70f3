//! The render job's two writes, claim (`rendering`) and `ready`, as the worker makes them: on
//! PostgreSQL they are group-committed across concurrent render jobs by
//! [`crate::db::batcher::Batcher`] (one statement and one commit per batch instead of one per
//! document; a batch of 500 certificates otherwise spends more database time committing than
//! rendering), and each job still waits for its own write to commit. On SQLite the one-document
//! statements of [`super::repo`] run directly.

use std::collections::HashMap;

use serde_json::json;

use super::events;
use super::model::Document;
use super::repo::{self, COLUMNS, from_row};
use crate::clock::now_ms;
use crate::db::batcher::Batcher;
use crate::db::{Db, DbError, Dialect};
use crate::events::EventType;
use crate::ids::{DocumentId, TenantId};

/// Requests per statement, at most.
const MAX_BATCH: usize = 128;

/// One claim to take.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub tenant: TenantId,
    pub id: DocumentId,
}

/// One stored document to record as ready.
#[derive(Debug, Clone)]
pub struct Ready {
    pub id: DocumentId,
    pub pages: u32,
    pub bytes: i64,
    pub sha256: String,
    pub storage_key: String,
}

#[derive(Clone)]
struct Batched {
    claims: Batcher<ClaimRequest, Option<Document>>,
    ready: Batcher<Ready, bool>,
}

/// Writes a render job's records. Built once per process ([`crate::platform::Services`]).
#[derive(Clone)]
pub struct RenderLog {
    db: Db,
    batched: Option<Batched>,
}

impl RenderLog {
    /// Starts the batch writers when `db` is PostgreSQL.
    pub fn start(db: Db) -> RenderLog {
        let batched = (db.dialect() == Dialect::Postgres).then(|| Batched {
            claims: Batcher::start(db.clone(), MAX_BATCH, claim_many),
            ready: Batcher::start(db.clone(), MAX_BATCH, ready_many),
        });
        RenderLog { db, batched }
    }

    /// [`repo::claim_for_render`], group-committed on PostgreSQL.
    pub async fn claim(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
    ) -> Result<Option<Document>, DbError> {
        match &self.batched {
            Some(b) => {
                b.claims
                    .call(ClaimRequest {
                        tenant: tenant.clone(),
                        id: id.clone(),
                    })
                    .await
            }
            None => repo::claim_for_render(&self.db, tenant, id).await,
        }
    }

    /// [`repo::mark_ready`], group-committed on PostgreSQL. True when the document is ready
    /// (made so now, or already): false when it had failed meanwhile (a render finishing after
    /// its job died elsewhere), so nothing may follow from it.
    pub async fn ready(&self, ready: Ready) -> Result<bool, DbError> {
        match &self.batched {
            Some(b) => b.ready.call(ready).await,
            None => {
                let made = repo::mark_ready(
                    &self.db,
                    &ready.id,
                    ready.pages,
                    ready.bytes,
                    &ready.sha256,
                    &ready.storage_key,
                )
                .await?;
                Ok(made || repo::is_ready(&self.db, &ready.id).await?)
            }
        }
    }
}

/// Claims many documents in one statement; each result is what [`repo::claim_for_render`]
/// would have returned (two requests for one document both get it, as two single claims
/// would).
async fn claim_many(db: Db, requests: Vec<ClaimRequest>) -> Result<Vec<Option<Document>>, DbError> {
    let rows: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| json!({"did": r.id.as_str(), "tid": r.tenant.as_str()}))
        .collect();
    let sql = format!(
        "UPDATE documents SET status = 'rendering', updated_at = $2 \
         FROM json_to_recordset($1::json) AS v(did text, tid text) \
         WHERE id = v.did AND tenant_id = v.tid AND status <> 'ready' RETURNING {COLUMNS}"
    );
    let found = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now_ms())
        .fetch_all(db.pool())
        .await?;
    let mut claimed: HashMap<String, Document> = HashMap::with_capacity(found.len());
    for row in &found {
        let doc = from_row(row)?;
        claimed.insert(doc.id.as_str().to_owned(), doc);
    }
    Ok(requests
        .iter()
        .map(|r| {
            claimed
                .get(r.id.as_str())
                .filter(|d| d.tenant == r.tenant)
                .cloned()
        })
        .collect())
}

/// Records many rendered documents in one statement, with their `document.ready` events (and
/// the completions of their batches) in the same transaction. Only documents waiting on their
/// render change, as in [`repo::mark_ready`]; each answer is [`RenderLog::ready`]'s.
async fn ready_many(db: Db, requests: Vec<Ready>) -> Result<Vec<bool>, DbError> {
    let rows: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| {
            json!({"did": r.id.as_str(), "npages": r.pages, "nbytes": r.bytes,
                   "sha": r.sha256, "skey": r.storage_key})
        })
        .collect();
    // The JSON source's column names differ from every document column, so the `RETURNING`
    // list reads the documents' own.
    let sql = format!(
        "UPDATE documents SET status = 'ready', pages = v.npages, bytes = v.nbytes, sha256 = v.sha, \
         storage_key = v.skey, failure_reason = NULL, updated_at = $2, rendered_at = $2 \
         FROM json_to_recordset($1::json) AS v(did text, npages bigint, nbytes bigint, sha text, skey text) \
         WHERE id = v.did AND status IN ('queued', 'rendering') RETURNING {COLUMNS}"
    );
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now_ms())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<Document>, DbError>>()?;
    events::record_changes(&mut tx, db.dialect(), EventType::DocumentReady, &changed).await?;
    tx.commit().await?;
    let made: std::collections::HashSet<&str> = changed.iter().map(|d| d.id.as_str()).collect();
    let mut answers = Vec::with_capacity(requests.len());
    for r in &requests {
        answers.push(made.contains(r.id.as_str()) || repo::is_ready(&db, &r.id).await?);
    }
    Ok(answers)
}
