//! Keyset pages of a tenant's rows, newest first: the query every listing needs, with its
//! placeholders numbered for both PostgreSQL and SQLite (`sqlx::QueryBuilder<Any>` writes `?`,
//! which PostgreSQL refuses).

use sqlx::any::AnyRow;

use super::{Db, DbError};
use crate::ids::TenantId;

/// A listing being built: `SELECT … WHERE tenant_id = $1 [AND filters] AND id < cursor`.
pub struct TenantPage {
    sql: String,
    binds: Vec<String>,
}

impl TenantPage {
    /// Starts from `select` (`SELECT <columns> FROM <table>`), limited to `tenant`'s rows.
    pub fn new(select: &str, tenant: &TenantId) -> TenantPage {
        TenantPage {
            sql: format!("{select} WHERE tenant_id = $1"),
            binds: vec![tenant.as_str().to_owned()],
        }
    }

    /// Adds `AND condition` when `value` is given; `{}` in `condition` stands for its placeholder.
    pub fn filter(mut self, condition: &str, value: Option<&str>) -> TenantPage {
        if let Some(v) = value {
            self.binds.push(v.to_owned());
            let placeholder = format!("${}", self.binds.len());
            self.sql.push_str(" AND ");
            self.sql.push_str(&condition.replace("{}", &placeholder));
        }
        self
    }

    /// Up to `limit` rows after `cursor` (an id of the previous page), newest id first.
    pub async fn fetch(
        self,
        db: &Db,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AnyRow>, DbError> {
        let mut page = self.filter("id < {}", cursor);
        page.sql.push_str(&format!(
            " ORDER BY id DESC LIMIT ${}",
            page.binds.len() + 1
        ));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(page.sql));
        for b in page.binds {
            q = q.bind(b);
        }
        Ok(q.bind(limit as i64).fetch_all(db.pool()).await?)
    }
}
