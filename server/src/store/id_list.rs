//! "The rows of a table whose `col` is one of these ids", with a single bound
//! parameter per driver, so a statement over a batch of jobs is one prepared
//! statement and one round trip whatever the batch size (no bind-count
//! limits, no SQL built per call).
//!
//! Both forms walk the ids and look each one up through the column's index.
//! `col = ANY($1)` or `col IN (SELECT unnest($1))` let PostgreSQL's planner,
//! misled by the statistics of freshly filled tables, scan the whole table
//! instead: 2.4 s for 1,400 ids against 48,000 edges, where the lookup per id
//! takes 5 ms. `OFFSET 0` keeps the per-id subquery from being flattened
//! back into that join.
//!
//! PostgreSQL binds an array literal and unnests it; SQLite has no arrays and
//! reads a JSON array through `json_each` (its CROSS JOIN keeps that order).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdList {
    /// `unnest(CAST($n AS BIGINT[]))`, bound as `{1,2,3}`.
    PgArray,
    /// `json_each($n)`, bound as `[1,2,3]`.
    JsonEach,
}

impl IdList {
    /// A FROM clause: `table`'s rows (named `alias`, columns `cols`) whose
    /// `col` is one of the ids bound at `$n`.
    pub(crate) fn rows(self, table: &str, alias: &str, cols: &str, col: &str, n: usize) -> String {
        match self {
            IdList::PgArray => format!(
                "unnest(CAST(${n} AS BIGINT[])) AS ids(id) \
                 CROSS JOIN LATERAL (SELECT {cols} FROM {table} WHERE {col} = ids.id OFFSET 0) AS {alias}"
            ),
            IdList::JsonEach => format!("json_each(${n}) AS ids CROSS JOIN {table} AS {alias} ON {alias}.{col} = ids.value"),
        }
    }

    /// What to bind for `rows`.
    pub(crate) fn bind(self, ids: &[i64]) -> String {
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        match self {
            IdList::PgArray => format!("{{{joined}}}"),
            IdList::JsonEach => format!("[{joined}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_driver_gets_its_own_literal() {
        assert_eq!(IdList::PgArray.bind(&[3, -1, 20]), "{3,-1,20}");
        assert_eq!(IdList::JsonEach.bind(&[3, -1, 20]), "[3,-1,20]");
        assert_eq!(IdList::PgArray.bind(&[]), "{}");
        assert_eq!(
            IdList::JsonEach.rows("job_deps", "d", "parent_id, child_id", "parent_id", 2),
            "json_each($2) AS ids CROSS JOIN job_deps AS d ON d.parent_id = ids.value"
        );
    }
}
