//! Case-insensitive "contains" for the search boxes, per driver.
//!
//! PostgreSQL's `lower()` folds every script, SQLite's only ASCII: there a
//! search for "émilie" would miss "Émilie". SQLite matches through the
//! `REGEXP` function sqlx registers (Rust's `regex`, whose `(?i)` folds
//! Unicode); PostgreSQL keeps `lower(..) LIKE`, which its indexes know.
//! Either way the user's text is literal, never a pattern.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextMatch {
    /// `lower(col) LIKE '%text%'` with LIKE's wildcards escaped.
    LowerLike,
    /// `col REGEXP '(?i)text'` with the text escaped.
    Regexp,
}

impl TextMatch {
    /// SQL true when `col` contains the bound pattern `$n`.
    pub(crate) fn clause(self, col: &str, n: usize) -> String {
        match self {
            TextMatch::LowerLike => format!("lower({col}) LIKE ${n} ESCAPE '\\'"),
            TextMatch::Regexp => format!("{col} REGEXP ${n}"),
        }
    }

    /// What to bind for `clause`, from the text the user typed.
    pub(crate) fn pattern(self, text: &str) -> String {
        match self {
            TextMatch::LowerLike => {
                let literal = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                format!("%{literal}%")
            }
            TextMatch::Regexp => format!("(?i){}", regex::escape(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_keep_the_text_literal() {
        assert_eq!(TextMatch::LowerLike.pattern("Ab_%\\"), "%ab\\_\\%\\\\%");
        assert_eq!(TextMatch::Regexp.pattern("a.b(c)"), "(?i)a\\.b\\(c\\)");
        assert_eq!(TextMatch::LowerLike.clause("title", 2), "lower(title) LIKE $2 ESCAPE '\\'");
        assert_eq!(TextMatch::Regexp.clause("title", 2), "title REGEXP $2");
    }
}
