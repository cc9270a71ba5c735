//! The real binary: `config`, `migrate`, and `serve` with a graceful SIGTERM.

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_meetmind");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A command isolated from the developer's own `.env` and `meetmind.toml`.
fn meetmind(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("MEETMIND_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn config_prints_each_value_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meetmind.toml"), "log_format = \"json\"\n").unwrap();
    std::fs::write(dir.path().join(".env"), "MEETMIND_ROLES=worker\n").unwrap();
    let out = meetmind(dir.path())
        .args(["config", "--addr", "127.0.0.1:4321"])
        .env("DATABASE_URL", "postgres://app:s3cret@db.internal:5432/mm")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let row = |key: &str| text.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap().to_string();
    assert!(row("addr").ends_with("flag"), "{text}");
    assert!(row("addr").contains("127.0.0.1:4321"));
    assert!(row("database_url").ends_with("environment"), "{text}");
    assert!(row("roles").contains("dotenv"), "{text}");
    assert!(row("log_format").contains("file meetmind.toml"), "{text}");
    assert!(row("site_root").ends_with("default"), "{text}");
    assert!(!text.contains("s3cret"), "secrets are masked: {text}");
}

#[test]
fn an_invalid_value_stops_startup_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = meetmind(dir.path()).args(["serve", "--roles", "web,chef"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("MEETMIND_ROLES") && err.contains("web, worker, maintenance"), "{err}");
}

#[test]
fn migrate_creates_the_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = meetmind(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("data/meetmind.db").exists());
}

#[test]
fn serve_answers_then_drains_and_deregisters_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = meetmind(dir.path())
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("MEETMIND_SHUTDOWN_GRACE_SECS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let health: serde_json::Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(health["status"], "ok");
        let page = client.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
    });

    let started = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "exit {status:?}: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    // The startup table shows where each value came from.
    assert!(stderr.contains("key=\"addr\"") || stderr.contains("key=addr"), "{stderr}");

    // The node removed its own registration on the way out.
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("data/meetmind.db").display());
        let store = meetmind::store::SqliteStore::connect(&url, 1).await.unwrap();
        use meetmind::store::Store;
        assert!(store.list_nodes().await.unwrap().is_empty());
    });
}
