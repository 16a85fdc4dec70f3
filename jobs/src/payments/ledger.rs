//! Reads shared by the ledger tables (payouts, expenses): one row by id, and a page newest first
//! with an optional filter column. Each table supplies its columns and row decoder.

use sqlx::any::AnyRow;

use super::{ListQuery, Page};
use crate::db::{Db, DbError};
use crate::ids::TenantId;

/// How to read one ledger table.
pub(super) struct Table<T> {
    pub name: &'static str,
    pub columns: &'static str,
    /// The column `ListQuery::status` filters on.
    pub filter: &'static str,
    pub decode: fn(&AnyRow) -> Result<T, DbError>,
    pub id_of: fn(&T) -> String,
}

impl<T> Table<T> {
    /// One row of `tenant`.
    pub async fn get(&self, db: &Db, tenant: &TenantId, id: &str) -> Result<Option<T>, DbError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2",
            self.columns, self.name
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
        row.as_ref().map(self.decode).transpose()
    }

    /// A page of `tenant`'s rows, newest first.
    pub async fn list(
        &self,
        db: &Db,
        tenant: &TenantId,
        q: &ListQuery,
    ) -> Result<Page<T>, DbError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND ($2 = '' OR {} = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4",
            self.columns, self.name, self.filter
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(q.status.as_deref().unwrap_or(""))
            .bind(q.cursor.as_deref().unwrap_or(""))
            .bind(q.limit + 1)
            .fetch_all(db.pool())
            .await?;
        let items = rows
            .iter()
            .map(self.decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, q.limit, self.id_of))
    }
}
