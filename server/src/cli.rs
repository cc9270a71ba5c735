//! The `meetmind` command line.

use std::{collections::HashMap, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "meetmind", version, about = "Durable job scheduler and AI interview assistant")]
pub struct Cli {
    /// Configuration file (default: ./meetmind.toml when present; or MEETMIND_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: the web app and API, workers and maintenance, as --roles says.
    Serve(Overrides),
    /// Apply database migrations and exit.
    Migrate(Overrides),
    /// Print the effective configuration and where each value came from.
    Config(Overrides),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check or try the LLM providers, with the server's configuration.
    #[command(subcommand)]
    Llm(LlmCommand),
    /// Run the LLM provider simulator (Gemini and OpenAI wire formats, with faults).
    SimProviders {
        #[arg(long, default_value = "127.0.0.1:8089")]
        addr: std::net::SocketAddr,
    },
    /// Seed a realistic sample interview and run it end to end (offline without API keys).
    Demo(Overrides),
    /// Load generators for the scheduler (in a throw-away schema or file).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum LlmCommand {
    /// Send a tiny request to each configured provider; print status, latency and error class.
    Check {
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Run one call through the engine; print the tier, attempts, latency and text.
    Complete {
        prompt: String,
        #[command(flatten)]
        overrides: Overrides,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Insert N no-op jobs, then work them; prints jobs/s for both.
    BurnDown {
        #[arg(long, default_value_t = 50_000)]
        jobs: usize,
        /// Worker slots (jobs run at once).
        #[arg(long, default_value_t = 200)]
        workers: usize,
        /// Jobs per insert statement.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Submit N fan-in workflows (root, W leaves, join), then work them;
    /// prints workflows/s for both.
    Workflows {
        #[arg(long, default_value_t = 1_000)]
        workflows: usize,
        /// Leaves between each workflow's root and its join.
        #[arg(long, default_value_t = 8)]
        width: usize,
        #[arg(long, default_value_t = 50)]
        workers: usize,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// The LLM engine's overhead over a direct call, open loop, against the simulator.
    LlmOverhead {
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// SSE subscribers on a running node's /api/v1/events while jobs are
    /// enqueued at a steady rate; prints delivery delay percentiles and the
    /// server's CPU and RSS.
    Sse {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// An admin API token (from the environment, to keep it out of shell history).
        #[arg(long, env = "MEETMIND_BENCH_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long, default_value_t = 1_000)]
        subscribers: usize,
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        #[arg(long, default_value_t = 15)]
        secs: u64,
        /// The server's pid, to report its CPU and RSS.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Frame names to subscribe to, e.g. `stats`.
        #[arg(long)]
        types: Option<String>,
    },
    /// Sequential enqueue→start samples; prints p50, p99 and max.
    Latency {
        #[arg(long, default_value_t = 1_000)]
        samples: usize,
        /// Jobs waiting first in a paused queue, all more urgent than the
        /// samples (every claim leaves them out).
        #[arg(long, default_value_t = 0)]
        paused_backlog: usize,
        #[command(flatten)]
        overrides: Overrides,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Prompts for the password, or reads one line from
    /// stdin when stdin is not a terminal.
    Create {
        #[arg(long)]
        email: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Make the account an admin (default: interviewer).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it on stdout, and nothing else.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated scopes, e.g. jobs:read,jobs:write.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Grant the admin scope (every right).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
}

/// Flags that override the configuration layers below them.
#[derive(Debug, Args, Default, Clone)]
pub struct Overrides {
    /// Roles of this node: a comma-separated subset of web, worker, maintenance.
    #[arg(long, value_name = "ROLES")]
    pub roles: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:3000.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Database: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Timer structure for dispatch: heap or wheel.
    #[arg(long, value_name = "KIND")]
    pub scheduler: Option<String>,
}

impl Overrides {
    pub fn flags(&self) -> HashMap<&'static str, String> {
        let mut flags = HashMap::new();
        if let Some(v) = &self.roles {
            flags.insert("roles", v.clone());
        }
        if let Some(v) = &self.addr {
            flags.insert("addr", v.clone());
        }
        if let Some(v) = &self.database_url {
            flags.insert("database_url", v.clone());
        }
        if let Some(v) = &self.scheduler {
            flags.insert("scheduler", v.clone());
        }
        flags
    }
}
