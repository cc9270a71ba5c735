//! Several real nodes on one PostgreSQL: one web node and two workers work
//! 5,000 jobs with none lost; a SIGKILLed worker's job finishes on another
//! node after its lease expires; a frozen worker's late completion is refused.
//! Needs TEST_DATABASE_URL (CI sets it; without it the test says so and passes).

#[path = "common/env.rs"]
mod test_env;

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};

const BIN: &str = env!("CARGO_BIN_EXE_meetmind");

struct Cluster {
    dir: tempfile::TempDir,
    url: String,
    admin_url: String,
    schema: String,
    children: Vec<(String, Child)>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let (admin, schema) = (self.admin_url.clone(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = c.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await;
                }
            });
        })
        .join();
    }
}

impl Cluster {
    /// A fresh schema on TEST_DATABASE_URL, migrated; None (with a note) when
    /// no server is configured, which CI=true does not allow.
    async fn new(prefix: &str) -> Option<Cluster> {
        let admin_url = test_env::test_database_url()?;
        let schema = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        let cluster = Cluster { dir: tempfile::tempdir().unwrap(), url, admin_url, schema, children: vec![] };
        assert!(cluster.command(&["migrate"]).status().unwrap().success());
        Some(cluster)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path());
        test_env::isolate(&mut cmd);
        cmd.args(args)
            .env("DATABASE_URL", &self.url)
            .env("MEETMIND_JOB_LEASE_SECS", "2")
            .env("MEETMIND_SHUTDOWN_GRACE_SECS", "2")
            .env("MEETMIND_WORKER_CONCURRENCY", "24")
            .env("MEETMIND_NODE_HEARTBEAT_SECS", "1");
        cmd
    }

    /// Starts a node; its log goes to a file (a pipe nobody reads while the
    /// test runs could fill up and stall the node).
    fn start(&mut self, name: &str, roles: &str, port: u16) {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = self
            .command(&["serve", "--roles", roles, "--addr", &format!("127.0.0.1:{port}")])
            .env("MEETMIND_NODE_ID", name)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.push((name.to_string(), child));
    }

    fn pid(&self, name: &str) -> u32 {
        self.children.iter().find(|(n, _)| n == name).unwrap().1.id()
    }

    fn signal(&self, name: &str, sig: &str) {
        assert!(Command::new("kill").args([sig, &self.pid(name).to_string()]).status().unwrap().success());
    }

    /// What the node has logged so far.
    fn log_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls an async condition until it holds, or fails the test.
macro_rules! wait_until {
    ($what:expr, $secs:expr, $cond:expr) => {{
        let deadline = Instant::now() + Duration::from_secs($secs);
        loop {
            if $cond {
                break;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_the_work_and_survive_a_crash_and_a_freeze() {
    let Some(mut cluster) = Cluster::new("mmcluster").await else { return };
    let url = cluster.url.clone();
    let out = cluster.command(&["token", "create", "--name", "cluster-test", "--admin"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let db = sqlx::PgPool::connect(&url).await.unwrap();

    let web_port = free_port();
    let base = format!("http://127.0.0.1:{web_port}");
    cluster.start("web", "web", web_port);
    cluster.start("a", "worker", free_port());
    let http = reqwest::Client::new();
    wait_until!("the web node", 30, http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200));
    let post = |body: Value| http.post(format!("{base}/api/v1/jobs")).bearer_auth(&token).json(&body).send();

    // 1. A crash: worker A is killed while running two jobs.
    // The jobs run long enough that neither ends between the check and the kill.
    let r: Value =
        post(json!([{"kind": "sleep", "payload": {"ms": 3000}}, {"kind": "sleep", "payload": {"ms": 3000}}]))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let crash_ids: Vec<i64> = r["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
    wait_until!("worker A to start both jobs", 30, {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'running'").fetch_one(&db).await.unwrap();
        n == 2
    });
    cluster.signal("a", "-KILL");
    cluster.start("b", "worker,maintenance", free_port());
    wait_until!("the crashed worker's jobs to finish elsewhere", 40, {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND id = ANY($1)")
            .bind(&crash_ids)
            .fetch_one(&db)
            .await
            .unwrap();
        n == 2
    });
    let outcomes: Vec<(String, String)> =
        sqlx::query_as("SELECT outcome, node FROM job_runs WHERE job_id = $1 ORDER BY seq")
            .bind(crash_ids[0])
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert_eq!(outcomes[0].0, "lost");
    assert_eq!(outcomes[1].0, "succeeded");
    assert_ne!(outcomes[0].1, outcomes[1].1, "finished on another node");

    // 2. Two workers, 5,000 jobs: all succeed exactly once.
    cluster.start("c", "worker,maintenance", free_port());
    // C registers before it takes jobs; without this wait B could work all
    // 5,000 while C still starts up (migrations wait on a database-wide lock).
    wait_until!("worker C to join", 30, {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes WHERE id = 'c'").fetch_one(&db).await.unwrap();
        n == 1
    });
    // The web node runs no scheduler, yet its dashboard follows the workers'
    // jobs: their events reach it over LISTEN/NOTIFY.
    let mut feed = http.get(format!("{base}/api/v1/events?types=stats")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    let dashboard_saw_completions = tokio::spawn(async move {
        let mut text = String::new();
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(500), feed.chunk()).await {
                Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => return false,
                Err(_) => continue,
            }
            let completed = |line: &str| {
                let data = line.strip_prefix("data: ")?;
                serde_json::from_str::<Value>(data).ok()?["completed_per_s"].as_u64()
            };
            if text.lines().filter_map(completed).any(|n| n > 0) {
                return true;
            }
        }
        false
    });
    for chunk in 0..5 {
        let batch: Vec<Value> = (0..1000)
            .map(|i| json!({"kind": "noop", "payload": {"n": chunk * 1000 + i}, "priority": i % 10}))
            .collect();
        let r = post(Value::Array(batch)).await.unwrap();
        assert_eq!(r.status(), 201);
    }
    wait_until!("5,000 jobs", 60, {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'succeeded'")
            .fetch_one(&db)
            .await
            .unwrap();
        n == 5000
    });
    let (jobs, attempts, nodes): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM jobs WHERE kind = 'noop'),
                (SELECT count(*) FROM job_runs a JOIN jobs j ON j.id = a.job_id WHERE j.kind = 'noop'),
                (SELECT count(DISTINCT a.node) FROM job_runs a JOIN jobs j ON j.id = a.job_id WHERE j.kind = 'noop')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((jobs, attempts), (5000, 5000), "none lost, none run twice");
    assert_eq!(nodes, 2, "both workers took part");
    assert!(dashboard_saw_completions.await.unwrap(), "the web node's dashboard saw the workers' completions");

    // 3. A freeze: the worker running a job stops (SIGSTOP), loses its lease,
    //    the job completes elsewhere, and its late completion is refused.
    let r: Value = post(json!({"kind": "sleep", "payload": {"ms": 3000}})).await.unwrap().json().await.unwrap();
    let id = r["id"].as_i64().unwrap();
    let mut owner = String::new();
    wait_until!("the job to start", 30, {
        let o: Option<String> = sqlx::query_scalar("SELECT lease_owner FROM jobs WHERE id = $1 AND state = 'running'")
            .bind(id)
            .fetch_optional(&db)
            .await
            .unwrap()
            .flatten();
        if let Some(o) = o {
            owner = o;
            true
        } else {
            false
        }
    });
    let frozen = match owner.as_str() {
        "b" => "b",
        "c" => "c",
        other => panic!("unexpected owner {other}"),
    };
    cluster.signal(frozen, "-STOP");
    wait_until!("the frozen worker's job to finish elsewhere", 40, {
        let s: String =
            sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1").bind(id).fetch_one(&db).await.unwrap();
        s == "succeeded"
    });
    cluster.signal(frozen, "-CONT");
    wait_until!("the late completion to be refused", 30, cluster.log_of(frozen).contains("stale completions refused"));
    let outcomes: Vec<String> = sqlx::query_scalar("SELECT outcome FROM job_runs WHERE job_id = $1 ORDER BY seq")
        .bind(id)
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(outcomes, ["lost", "succeeded"], "exactly one success");

    // 4. SIGTERM: the worker stops taking jobs, gets the grace period (2 s)
    //    for a 6 s job, then releases it; another worker runs it to the end.
    cluster.start("d", "worker,maintenance", free_port());
    let r: Value = post(json!({"kind": "sleep", "payload": {"ms": 6000}})).await.unwrap().json().await.unwrap();
    let id = r["id"].as_i64().unwrap();
    let mut owner = String::new();
    wait_until!("the long job to start", 30, {
        let o: Option<String> = sqlx::query_scalar("SELECT lease_owner FROM jobs WHERE id = $1 AND state = 'running'")
            .bind(id)
            .fetch_optional(&db)
            .await
            .unwrap()
            .flatten();
        if let Some(o) = o {
            owner = o;
            true
        } else {
            false
        }
    });
    let stopping = if owner == "d" {
        "d"
    } else if owner == "b" {
        "b"
    } else {
        "c"
    };
    let started = Instant::now();
    cluster.signal(stopping, "-TERM");
    let (_, child) = cluster.children.iter_mut().find(|(n, _)| n == stopping).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "a clean exit after SIGTERM");
    assert!(started.elapsed() < Duration::from_secs(6), "it did not wait for the whole job");
    let log = cluster.log_of(stopping);
    assert!(log.contains("released unfinished jobs"), "{log}");
    wait_until!("the released job to finish on another worker", 40, {
        let s: String =
            sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1").bind(id).fetch_one(&db).await.unwrap();
        s == "succeeded"
    });
    let attempts: Vec<(String, String)> =
        sqlx::query_as("SELECT outcome, node FROM job_runs WHERE job_id = $1").bind(id).fetch_all(&db).await.unwrap();
    assert_eq!(attempts.len(), 1, "a released run is not a failed attempt: {attempts:?}");
    assert_ne!(attempts[0].1, stopping);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_fails_over_when_the_leader_dies() {
    let Some(mut cluster) = Cluster::new("mmleader").await else { return };
    let url = cluster.url.clone();
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    cluster.start("x", "worker,maintenance", free_port());
    cluster.start("y", "worker,maintenance", free_port());
    let mut leader = String::new();
    wait_until!("a leader", 30, {
        let l: Option<String> = sqlx::query_scalar("SELECT node FROM leaders WHERE name = 'maintenance'")
            .fetch_optional(&db)
            .await
            .unwrap();
        if let Some(l) = l {
            leader = l;
            true
        } else {
            false
        }
    });
    let other = if leader == "x" { "y" } else { "x" };
    let killed_at = Instant::now();
    cluster.signal(&leader, "-KILL");
    wait_until!("the other node to take over", 30, {
        let l: Option<String> = sqlx::query_scalar("SELECT node FROM leaders WHERE name = 'maintenance'")
            .fetch_optional(&db)
            .await
            .unwrap();
        l.as_deref() == Some(other)
    });
    // The lease lasts 10 s and is renewed every second; the rest is margin
    // for a CI machine busy with other tests.
    let took = killed_at.elapsed();
    assert!(took < Duration::from_secs(25), "failover took {took:?}");
}
