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
            IdList::JsonEach => {
                format!("json_each(${n}) AS ids CROSS JOIN {table} AS {alias} ON {alias}.{col} = ids.value")
            }
        }
    }

    /// `rows` for text keys (workflow ids): both drivers read a JSON array
    /// of strings, bound through `bind_text`, so no key needs escaping.
    pub(crate) fn text_rows(self, table: &str, alias: &str, cols: &str, col: &str, n: usize) -> String {
        match self {
            IdList::PgArray => format!(
                "json_array_elements_text(CAST(${n} AS JSON)) AS ids(id) \
                 CROSS JOIN LATERAL (SELECT {cols} FROM {table} WHERE {col} = ids.id OFFSET 0) AS {alias}"
            ),
            IdList::JsonEach => self.rows(table, alias, cols, col, n),
        }
    }

    /// What to bind for `text_rows`: the same JSON array for both drivers.
    pub(crate) fn bind_text(self, keys: &[String]) -> String {
        serde_json::to_string(keys).unwrap_or_else(|_| "[]".into())
    }

    /// A WHERE condition: `col` is one of the ids bound at `$n` (bound with
    /// `bind`). The planner picks how to look them up, so this is for
    /// maintenance deletes, not for the hot path's joins above.
    pub(crate) fn matches(self, col: &str, n: usize) -> String {
        match self {
            IdList::PgArray => format!("{col} = ANY(CAST(${n} AS BIGINT[]))"),
            IdList::JsonEach => format!("{col} IN (SELECT value FROM json_each(${n}))"),
        }
    }

    /// What to bind for `rows` and `matches`.
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

    #[test]
    fn text_keys_are_bound_as_a_json_array() {
        let keys = vec!["wf-1".to_string(), "quote\"and,comma}".to_string()];
        let bound = IdList::PgArray.bind_text(&keys);
        assert_eq!(serde_json::from_str::<Vec<String>>(&bound).unwrap(), keys);
        assert_eq!(IdList::JsonEach.bind_text(&[]), "[]");
        assert!(IdList::PgArray
            .text_rows("jobs", "j", "state", "workflow_id", 1)
            .starts_with("json_array_elements_text(CAST($1 AS JSON))"));
    }
}
