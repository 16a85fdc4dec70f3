//! What the tests of the recording points share: a subscription that fans every event out, and
//! reads of what was recorded.

use sqlx::Row;

use crate::db::Db;
use crate::ids::TenantId;

/// The endpoint every test subscription points at.
pub const ENDPOINT: &str = "ep_x";

/// Subscribes `tenant`'s endpoint [`ENDPOINT`] to every type (`*`).
pub async fn subscribe_all(db: &Db, tenant: &TenantId) {
    endpoint_row(db, tenant, ENDPOINT).await;
    sqlx::query(
        "INSERT INTO event_subscriptions (tenant_id, event_type, endpoint_id) VALUES ($1, '*', $2)",
    )
    .bind(tenant.as_str())
    .bind(ENDPOINT)
    .execute(db.pool())
    .await
    .expect("subscription");
}

/// Gives `tenant` an endpoint subscribed to nothing: its events are recorded (they are only for
/// tenants with an endpoint), with no delivery.
pub async fn add_endpoint(db: &Db, tenant: &TenantId) {
    endpoint_row(db, tenant, &format!("ep_{}", tenant.as_str())).await;
}

async fn endpoint_row(db: &Db, tenant: &TenantId, id: &str) {
    sqlx::query(
        "INSERT INTO event_endpoints (id, tenant_id, url, description, event_types, enabled, \
         max_concurrent, secret, created_at, updated_at) \
         VALUES ($1, $2, 'https://app.example.com/hook', '', '[]', 1, 50, 'sealed', 0, 0)",
    )
    .bind(id)
    .bind(tenant.as_str())
    .execute(db.pool())
    .await
    .expect("endpoint");
}

/// A recorded event as a test reads it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: String,
    pub resource_id: Option<String>,
    /// The body's `data`.
    pub data: serde_json::Value,
    /// The endpoints it fans out to.
    pub deliveries: Vec<String>,
}

/// `tenant`'s events of type `kind`, oldest id first, with their fan-out.
pub async fn recorded(db: &Db, tenant: &TenantId, kind: &str) -> Vec<Recorded> {
    let rows = sqlx::query(
        "SELECT id, resource_id, body FROM events WHERE tenant_id = $1 AND type = $2 ORDER BY id",
    )
    .bind(tenant.as_str())
    .bind(kind)
    .fetch_all(db.pool())
    .await
    .expect("events");
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.get(0);
        let body: serde_json::Value =
            serde_json::from_str(&r.get::<String, _>(2)).expect("body is JSON");
        assert_eq!(body["type"], kind);
        assert_eq!(body["id"], id.as_str());
        let deliveries = sqlx::query(
            "SELECT endpoint_id FROM event_deliveries WHERE event_id = $1 AND status = 'pending' ORDER BY endpoint_id",
        )
        .bind(&id)
        .fetch_all(db.pool())
        .await
        .expect("deliveries")
        .iter()
        .map(|d| d.get::<String, _>(0))
        .collect();
        out.push(Recorded {
            id,
            resource_id: r.get(1),
            data: body["data"].clone(),
            deliveries,
        });
    }
    out
}

/// How many events `tenant` has, of any type.
pub async fn count_all(db: &Db, tenant: &TenantId) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM events WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(db.pool())
        .await
        .expect("count")
        .get(0)
}
