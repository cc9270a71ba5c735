//! The real binary: `config`, `migrate`, and `serve` with a graceful SIGTERM.

#[path = "common/env.rs"]
mod test_env;

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
    test_env::isolate(&mut cmd);
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
        let health: serde_json::Value =
            client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
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

fn wait_ready(rt: &tokio::runtime::Runtime, base: &str) {
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

#[test]
fn first_run_prints_a_one_time_setup_link_and_tokens_come_from_the_cli() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = meetmind(dir.path())
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("MEETMIND_SHUTDOWN_GRACE_SECS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("/setup?token=") {
                let _ = tx.send(line[at..].trim().to_string());
            }
        }
    });
    let link = rx.recv_timeout(Duration::from_secs(20)).expect("serve prints the setup link on an empty database");
    let token = link.trim_start_matches("/setup?token=").to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    wait_ready(&rt, &base);

    rt.block_on(async {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let page = client.get(format!("{base}{link}")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("Create the first admin"));
        let setup = |email: &str| {
            client
                .post(format!("{base}/api/setup"))
                .header("origin", &base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={token}&email={email}&name=Root&password=a+long+password"))
                .send()
        };
        let done = setup("root%40example.com").await.unwrap();
        assert_eq!(done.status(), 200);
        let cookie = done.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("mm_session=") && cookie.contains("HttpOnly"), "{cookie}");
        let me: serde_json::Value = client
            .get(format!("{base}/api/v1/me"))
            .header("cookie", cookie.split(';').next().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["User"]["role"], "admin");
        // The link stops working.
        assert_ne!(setup("other%40example.com").await.unwrap().status(), 200);
        let again = client.get(format!("{base}{link}")).send().await.unwrap().text().await.unwrap();
        assert!(again.contains("This setup link is not valid") || again.contains("setup-invalid"), "{again}");
    });

    // `token create` prints the token and nothing else; it works at once.
    let out = meetmind(dir.path()).args(["token", "create", "--name", "deploy", "--admin"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.lines().count(), 1, "{printed}");
    let secret = printed.trim().to_string();
    assert!(secret.starts_with("mm_"));
    rt.block_on(async {
        let users: serde_json::Value = reqwest::Client::new()
            .get(format!("{base}/api/v1/users"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(users[0]["email"], "root@example.com");
    });

    // `user create` reads the password from stdin when it is not a terminal.
    let mut create = meetmind(dir.path())
        .args(["user", "create", "--email", "ivy@example.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(create.stdin.as_mut().unwrap(), b"ivy's long password\n").unwrap();
    let out = create.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("created ivy@example.com (interviewer)"));

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    // Nothing secret reached the log.
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains(&token) && !stderr.contains(&secret), "secrets in the log");
}

#[test]
fn llm_commands_use_the_configured_base_urls_against_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut sim = meetmind(dir.path())
        .args(["sim-providers", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "simulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let with_env = |cmd: &mut Command| {
        cmd.env("GEMINI_API_KEY", "test-key")
            .env("GEMINI_BASE_URL", format!("http://127.0.0.1:{port}/gemini"))
            .env("MEETMIND_LLM_TIERS", "gemini,groq");
    };
    let mut check = meetmind(dir.path());
    check.args(["llm", "check"]);
    with_env(&mut check);
    let out = check.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("groq        skipped: no API key"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("gemini") && l.contains(" ok ")), "{text}");
    assert!(!text.contains("test-key"), "keys never printed");

    let mut complete = meetmind(dir.path());
    complete.args(["llm", "complete", "Tell me about a hard bug you fixed"]);
    with_env(&mut complete);
    let out = complete.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("tier: gemini\n"), "{text}");
    assert!(text.contains("hard bug you fixed"), "{text}");
    let _ = sim.kill();
    let _ = sim.wait();
}
