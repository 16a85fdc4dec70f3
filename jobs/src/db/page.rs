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

/// Cuts a `limit + 1` fetch into a page and the cursor of the next one (the id of the page's
/// last item, `None` on the last page): what every keyset listing does with its extra row.
pub fn split_overfetch<T>(
    mut items: Vec<T>,
    limit: usize,
    id: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(id) } else { None };
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::split_overfetch;

    #[test]
    fn an_extra_row_means_another_page() {
        let id = |n: &u32| n.to_string();
        assert_eq!(
            split_overfetch(vec![5, 4, 3], 2, id),
            (vec![5, 4], Some("4".into()))
        );
        assert_eq!(split_overfetch(vec![5, 4], 2, id), (vec![5, 4], None));
        assert_eq!(split_overfetch(Vec::<u32>::new(), 2, id), (vec![], None));
    }
}
