//! What tests take from the developer's environment, and what they keep from
//! the processes they start. Shared by the suites that `mod common` and, via
//! `#[path]`, by the ones that only spawn the binary.

#![allow(dead_code)]

use std::process::Command;

/// CI is any value of `CI` but empty, `false` or `0`; there a PostgreSQL
/// suite must run, never skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// TEST_DATABASE_URL when set and not empty. Unset under CI is a failure.
pub fn test_database_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty());
    if url.is_none() {
        assert!(!in_ci(), "TEST_DATABASE_URL is not set under CI: the PostgreSQL suite must run");
        eprintln!("TEST_DATABASE_URL unset: skipping a PostgreSQL test");
    }
    url
}

/// Removes every configuration variable the binary reads (and its config
/// file's path), so a developer's exported SMTP_URL, API keys or cookie
/// settings never reach a test's server: it sees only what the test sets.
pub fn isolate(cmd: &mut Command) -> &mut Command {
    for spec in meetmind::config::KEYS {
        cmd.env_remove(spec.env);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("MEETMIND_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("DATABASE_URL")
}
