//! Layered configuration: defaults < `meetmind.toml` < `.env` < process
//! environment < CLI flags. Every effective value remembers its layer so
//! startup can print where it came from (compose's `environment:` silently
//! overriding `.env` cost a day once; the table makes that visible).

use std::{
    collections::HashMap,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use thiserror::Error;

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    DotEnv(PathBuf),
    Env,
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::DotEnv(p) => write!(f, "dotenv {}", p.display()),
            Source::Env => f.write_str("environment"),
            Source::Flag => f.write_str("flag"),
        }
    }
}

/// One configurable key: its name in `meetmind.toml`, its environment
/// variable (also used in `.env`), its CLI flag, its default and what it accepts.
pub struct KeySpec {
    pub key: &'static str,
    pub env: &'static str,
    pub flag: Option<&'static str>,
    pub default: &'static str,
    pub secret: bool,
    pub accepts: &'static str,
}

/// The single list of keys. Adding a key here makes it show in the table.
pub const KEYS: &[KeySpec] = &[
    KeySpec { key: "addr", env: "MEETMIND_ADDR", flag: Some("--addr"), default: "127.0.0.1:3000", secret: false, accepts: "a socket address such as 127.0.0.1:3000" },
    KeySpec { key: "database_url", env: "DATABASE_URL", flag: Some("--database-url"), default: "sqlite://data/meetmind.db", secret: true, accepts: "sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB" },
    KeySpec { key: "roles", env: "MEETMIND_ROLES", flag: Some("--roles"), default: "web,worker,maintenance", secret: false, accepts: "a non-empty comma-separated list of web, worker, maintenance" },
    KeySpec { key: "site_root", env: "MEETMIND_SITE_ROOT", flag: None, default: "target/site", secret: false, accepts: "the folder cargo-leptos built the site into" },
    KeySpec { key: "log_format", env: "MEETMIND_LOG_FORMAT", flag: None, default: "text", secret: false, accepts: "text or json" },
    KeySpec { key: "log_level", env: "MEETMIND_LOG", flag: None, default: "info", secret: false, accepts: "a tracing filter such as info or meetmind=debug,info" },
    KeySpec { key: "db_max_connections", env: "MEETMIND_DB_MAX_CONNECTIONS", flag: None, default: "10", secret: false, accepts: "an integer from 1 to 1000" },
    KeySpec { key: "shutdown_grace_secs", env: "MEETMIND_SHUTDOWN_GRACE_SECS", flag: None, default: "20", secret: false, accepts: "an integer number of seconds from 0 to 3600" },
    KeySpec { key: "node_id", env: "MEETMIND_NODE_ID", flag: None, default: "", secret: false, accepts: "empty (hostname plus a random suffix) or 1 to 64 letters, digits, '-', '_' or '.'" },
    KeySpec { key: "scheduler", env: "MEETMIND_SCHEDULER", flag: Some("--scheduler"), default: "heap", secret: false, accepts: "heap or wheel" },
    KeySpec { key: "worker_concurrency", env: "MEETMIND_WORKER_CONCURRENCY", flag: None, default: "16", secret: false, accepts: "an integer from 1 to 10000" },
    KeySpec { key: "job_lease_secs", env: "MEETMIND_JOB_LEASE_SECS", flag: None, default: "30", secret: false, accepts: "an integer number of seconds from 1 to 3600" },
    KeySpec { key: "smtp_url", env: "SMTP_URL", flag: None, default: "", secret: true, accepts: "empty (write to the outbox folder) or smtp[s]://USER:PASSWORD@HOST:PORT" },
    KeySpec { key: "email_outbox", env: "MEETMIND_EMAIL_OUTBOX", flag: None, default: "data/outbox", secret: false, accepts: "a folder for .eml files when SMTP_URL is empty" },
    KeySpec { key: "email_from", env: "MEETMIND_EMAIL_FROM", flag: None, default: "MeetMind <meetmind@localhost>", secret: false, accepts: "a mailbox such as MeetMind <noreply@example.com>" },
    KeySpec { key: "email_failure_rate", env: "EMAIL_FAILURE_RATE", flag: None, default: "0", secret: false, accepts: "a number from 0 to 1 (the share of sends that fail, for demos)" },
    KeySpec { key: "public_url", env: "MEETMIND_PUBLIC_URL", flag: None, default: "", secret: false, accepts: "the URL people reach MeetMind at, for links in emails (empty: http://ADDR)" },
    KeySpec { key: "candidate_link_days", env: "MEETMIND_CANDIDATE_LINK_DAYS", flag: None, default: "14", secret: false, accepts: "an integer number of days from 1 to 365 a candidate's room link stays valid" },
    KeySpec { key: "interview_retention_days", env: "MEETMIND_INTERVIEW_RETENTION_DAYS", flag: None, default: "365", secret: false, accepts: "an integer number of days from 1 to 36500 after an interview ends before its data is purged" },
    KeySpec { key: "suggest_debounce_ms", env: "MEETMIND_SUGGEST_DEBOUNCE_MS", flag: None, default: "800", secret: false, accepts: "an integer number of milliseconds from 0 to 60000 to wait for a burst of segments to settle" },
    KeySpec { key: "suggest_budget_ms", env: "MEETMIND_SUGGEST_BUDGET_MS", flag: None, default: "6000", secret: false, accepts: "an integer number of milliseconds from 100 to 60000 a live suggestion may take" },
    KeySpec { key: "llm_tiers", env: "MEETMIND_LLM_TIERS", flag: None, default: "gemini,openrouter,groq", secret: false, accepts: "a comma-separated order of gemini, openrouter, groq, ollama (offline is always last)" },
    KeySpec { key: "llm_attempt_timeout_ms", env: "MEETMIND_LLM_ATTEMPT_TIMEOUT_MS", flag: None, default: "3000", secret: false, accepts: "an integer number of milliseconds from 50 to 600000" },
    KeySpec { key: "llm_ttft_ms", env: "MEETMIND_LLM_TTFT_MS", flag: None, default: "3000", secret: false, accepts: "an integer number of milliseconds from 50 to 600000 (time to first token)" },
    KeySpec { key: "llm_stall_ms", env: "MEETMIND_LLM_STALL_MS", flag: None, default: "3000", secret: false, accepts: "an integer number of milliseconds from 50 to 600000 (longest pause between tokens)" },
    KeySpec { key: "llm_breaker_failure_rate", env: "MEETMIND_LLM_BREAKER_FAILURE_RATE", flag: None, default: "0.5", secret: false, accepts: "a failure rate from 0 to 1 that opens a provider's breaker" },
    KeySpec { key: "llm_breaker_min_calls", env: "MEETMIND_LLM_BREAKER_MIN_CALLS", flag: None, default: "10", secret: false, accepts: "an integer from 1 to 10000" },
    KeySpec { key: "llm_breaker_cooldown_ms", env: "MEETMIND_LLM_BREAKER_COOLDOWN_MS", flag: None, default: "5000", secret: false, accepts: "an integer number of milliseconds from 100 to 3600000" },
    KeySpec { key: "llm_real_calls_probe", env: "MEETMIND_LLM_REAL_CALLS_PROBE", flag: None, default: "false", secret: false, accepts: "true (user calls probe half-open providers) or false (a background probe does)" },
    KeySpec { key: "ollama_base_url", env: "OLLAMA_BASE_URL", flag: None, default: "http://127.0.0.1:11434/v1", secret: false, accepts: "an http(s) URL ending in /v1 (any OpenAI-compatible server)" },
    KeySpec { key: "ollama_model", env: "OLLAMA_MODEL", flag: None, default: "llama3.1", secret: false, accepts: "a model name on that server" },
    KeySpec { key: "llm_deadline_ms", env: "MEETMIND_LLM_DEADLINE_MS", flag: None, default: "8000", secret: false, accepts: "an integer number of milliseconds from 100 to 600000" },
    KeySpec { key: "gemini_api_key", env: "GEMINI_API_KEY", flag: None, default: "", secret: true, accepts: "a Gemini API key (empty skips Gemini)" },
    KeySpec { key: "gemini_base_url", env: "GEMINI_BASE_URL", flag: None, default: "https://generativelanguage.googleapis.com", secret: false, accepts: "an http(s) URL" },
    KeySpec { key: "gemini_model", env: "GEMINI_MODEL", flag: None, default: "gemini-2.0-flash", secret: false, accepts: "a Gemini model name" },
    KeySpec { key: "openrouter_api_key", env: "OPENROUTER_API_KEY", flag: None, default: "", secret: true, accepts: "an OpenRouter API key (empty skips OpenRouter)" },
    KeySpec { key: "openrouter_base_url", env: "OPENROUTER_BASE_URL", flag: None, default: "https://openrouter.ai/api/v1", secret: false, accepts: "an http(s) URL ending in /v1" },
    KeySpec { key: "openrouter_model", env: "OPENROUTER_MODEL", flag: None, default: "meta-llama/llama-3.1-8b-instruct", secret: false, accepts: "an OpenRouter model id" },
    KeySpec { key: "groq_api_key", env: "GROQ_API_KEY", flag: None, default: "", secret: true, accepts: "a Groq API key (empty skips Groq)" },
    KeySpec { key: "groq_base_url", env: "GROQ_BASE_URL", flag: None, default: "https://api.groq.com/openai/v1", secret: false, accepts: "an http(s) URL ending in /v1" },
    KeySpec { key: "groq_model", env: "GROQ_MODEL", flag: None, default: "llama-3.1-8b-instant", secret: false, accepts: "a Groq model id" },
    KeySpec { key: "secure_cookies", env: "MEETMIND_SECURE_COOKIES", flag: None, default: "false", secret: false, accepts: "true (always mark cookies Secure) or false (only when X-Forwarded-Proto is https)" },
    KeySpec { key: "node_heartbeat_secs", env: "MEETMIND_NODE_HEARTBEAT_SECS", flag: None, default: "5", secret: false, accepts: "an integer number of seconds from 1 to 300" },
    KeySpec { key: "stream_recheck_secs", env: "MEETMIND_STREAM_RECHECK_SECS", flag: None, default: "15", secret: false, accepts: "an integer number of seconds from 1 to 3600 (how soon an open event stream notices sign-out or lost access)" },
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("invalid {env} ({key} = {shown:?}, from {from}): expected {accepts}")]
    Invalid { key: &'static str, env: &'static str, shown: String, from: Source, accepts: &'static str },
    #[error("cannot read config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("unknown key {key:?} in {path}; known keys: {known}")]
    UnknownKey { key: String, path: PathBuf, known: String },
}

/// The node roles a `meetmind serve` process may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Web,
    Worker,
    Maintenance,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Worker => "worker",
            Role::Maintenance => "maintenance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One row of the startup table.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub key: &'static str,
    pub env: &'static str,
    /// The value as it may be shown: secrets masked.
    pub shown: String,
    pub source: Source,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub backend: Backend,
    pub roles: Vec<Role>,
    pub site_root: PathBuf,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db_max_connections: u32,
    pub shutdown_grace: Duration,
    pub node_heartbeat: Duration,
    /// How often an open event stream checks its caller again.
    pub stream_recheck: Duration,
    pub secure_cookies: bool,
    pub email: crate::scheduler::handlers::email_send::EmailConfig,
    pub llm: crate::llm::LlmConfig,
    pub scheduler: crate::scheduler::QueueKind,
    /// Fixed node name; None means hostname plus a random suffix.
    pub node_id: Option<String>,
    pub worker_concurrency: u32,
    pub job_lease: Duration,
    pub meetmind: crate::meetmind::MeetMindConfig,
    pub provenance: Vec<Provenance>,
}

/// The raw inputs of each layer, injectable so tests need no real environment.
#[derive(Debug, Default, Clone)]
pub struct Layers {
    /// Path to `meetmind.toml`; `required` when the user named it explicitly.
    pub file: Option<(PathBuf, bool)>,
    pub dotenv: Option<PathBuf>,
    pub env: HashMap<String, String>,
    /// CLI flags, keyed by config key.
    pub flags: HashMap<&'static str, String>,
}

impl Layers {
    /// The usual layers for a process started in `cwd`.
    pub fn from_process(config_file: Option<PathBuf>, flags: HashMap<&'static str, String>) -> Self {
        let env: HashMap<String, String> = std::env::vars().collect();
        let file = match config_file.or_else(|| env.get("MEETMIND_CONFIG").map(PathBuf::from)) {
            Some(path) => Some((path, true)),
            None => Some((PathBuf::from("meetmind.toml"), false)),
        };
        Layers { file, dotenv: Some(PathBuf::from(".env")), env, flags }
    }
}

impl Config {
    pub fn load(layers: &Layers) -> Result<Config, ConfigError> {
        let mut chosen: HashMap<&'static str, (String, Source)> =
            KEYS.iter().map(|k| (k.key, (k.default.to_string(), Source::Default))).collect();

        if let Some((path, required)) = &layers.file {
            for (key, value) in read_toml(path, *required)? {
                chosen.insert(key, (value, Source::File(path.clone())));
            }
        }
        if let Some(path) = &layers.dotenv {
            for (key, value) in read_dotenv(path)? {
                chosen.insert(key, (value, Source::DotEnv(path.clone())));
            }
        }
        for spec in KEYS {
            if let Some(value) = layers.env.get(spec.env) {
                chosen.insert(spec.key, (value.clone(), Source::Env));
            }
        }
        for (key, value) in &layers.flags {
            chosen.insert(key, (value.clone(), Source::Flag));
        }

        let get = |key: &str| chosen.get(key).cloned().expect("every key has a default");
        let invalid = |key: &'static str| {
            let spec = spec(key);
            let (value, source) = get(key);
            ConfigError::Invalid { key, env: spec.env, shown: mask(spec, &value), from: source, accepts: spec.accepts }
        };

        let addr = get("addr").0.trim().parse::<SocketAddr>().map_err(|_| invalid("addr"))?;
        let database_url = get("database_url").0.trim().to_string();
        let backend = parse_database_url(&database_url).ok_or_else(|| invalid("database_url"))?;
        let roles = parse_roles(&get("roles").0).ok_or_else(|| invalid("roles"))?;
        let site_root = PathBuf::from(get("site_root").0);
        let log_format = match get("log_format").0.trim().to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid("log_format")),
        };
        let log_level = get("log_level").0.trim().to_string();
        if log_level.is_empty() || tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(invalid("log_level"));
        }
        let db_max_connections =
            parse_int(&get("db_max_connections").0, 1, 1000).ok_or_else(|| invalid("db_max_connections"))?;
        let shutdown_grace = Duration::from_secs(
            parse_int(&get("shutdown_grace_secs").0, 0, 3600).ok_or_else(|| invalid("shutdown_grace_secs"))?.into(),
        );
        let node_heartbeat = Duration::from_secs(
            parse_int(&get("node_heartbeat_secs").0, 1, 300).ok_or_else(|| invalid("node_heartbeat_secs"))?.into(),
        );
        let stream_recheck = Duration::from_secs(
            parse_int(&get("stream_recheck_secs").0, 1, 3600).ok_or_else(|| invalid("stream_recheck_secs"))?.into(),
        );

        let secure_cookies = match get("secure_cookies").0.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => return Err(invalid("secure_cookies")),
        };

        let smtp_url = get("smtp_url").0.trim().to_string();
        if !smtp_url.is_empty() && !(smtp_url.starts_with("smtp://") || smtp_url.starts_with("smtps://")) {
            return Err(invalid("smtp_url"));
        }
        let failure_rate = get("email_failure_rate")
            .0
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| invalid("email_failure_rate"))?;
        let from = get("email_from").0.trim().to_string();
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid("email_from"));
        }
        let email = crate::scheduler::handlers::email_send::EmailConfig {
            smtp_url: (!smtp_url.is_empty()).then_some(smtp_url),
            outbox: PathBuf::from(get("email_outbox").0.trim()),
            from,
            failure_rate,
        };
        let mut tiers = Vec::new();
        for name in get("llm_tiers").0.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !["gemini", "openrouter", "groq", "ollama"].contains(&name)
                || tiers.iter().any(|t: &crate::llm::ProviderConfig| t.name == name)
            {
                return Err(invalid("llm_tiers"));
            }
            let base_key: &'static str = match name {
                "gemini" => "gemini_base_url",
                "openrouter" => "openrouter_base_url",
                "ollama" => "ollama_base_url",
                _ => "groq_base_url",
            };
            let base_url = get(base_key).0.trim().to_string();
            if !url::Url::parse(&base_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(invalid(base_key));
            }
            // A local OpenAI-compatible server needs no key: listing it enables it.
            let key = if name == "ollama" {
                "none".to_string()
            } else {
                get(&format!("{name}_api_key")).0.trim().to_string()
            };
            tiers.push(crate::llm::ProviderConfig {
                name: name.to_string(),
                base_url,
                key: (!key.is_empty()).then_some(key),
                model: get(&format!("{name}_model")).0.trim().to_string(),
            });
        }
        let deadline_ms =
            parse_int(&get("llm_deadline_ms").0, 100, 600_000).ok_or_else(|| invalid("llm_deadline_ms"))?;
        let ms = |key: &'static str, lo: u32, hi: u32| -> Result<Duration, ConfigError> {
            Ok(Duration::from_millis(parse_int(&get(key).0, lo, hi).ok_or_else(|| invalid(key))?.into()))
        };
        let failure_rate = get("llm_breaker_failure_rate")
            .0
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| invalid("llm_breaker_failure_rate"))?;
        let real_calls_probe = match get("llm_real_calls_probe").0.trim() {
            "true" => true,
            "false" => false,
            _ => return Err(invalid("llm_real_calls_probe")),
        };
        let llm = crate::llm::LlmConfig {
            tiers,
            deadline: Duration::from_millis(deadline_ms.into()),
            attempt_timeout: ms("llm_attempt_timeout_ms", 50, 600_000)?,
            ttft: ms("llm_ttft_ms", 50, 600_000)?,
            stall: ms("llm_stall_ms", 50, 600_000)?,
            breaker_failure_rate: failure_rate,
            breaker_min_calls: parse_int(&get("llm_breaker_min_calls").0, 1, 10_000)
                .ok_or_else(|| invalid("llm_breaker_min_calls"))? as usize,
            breaker_cooldown: ms("llm_breaker_cooldown_ms", 100, 3_600_000)?,
            real_calls_probe,
        };
        let node_id = get("node_id").0.trim().to_string();
        if node_id.len() > 64 || !node_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(invalid("node_id"));
        }
        let node_id = (!node_id.is_empty()).then_some(node_id);
        let scheduler = get("scheduler").0.trim().parse().map_err(|_| invalid("scheduler"))?;
        let worker_concurrency =
            parse_int(&get("worker_concurrency").0, 1, 10_000).ok_or_else(|| invalid("worker_concurrency"))?;
        let job_lease = Duration::from_secs(
            parse_int(&get("job_lease_secs").0, 1, 3600).ok_or_else(|| invalid("job_lease_secs"))?.into(),
        );

        let public_url = match get("public_url").0.trim().trim_end_matches('/') {
            "" => {
                let host = if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
                format!("http://{host}:{}", addr.port())
            }
            u if u.starts_with("http://") || u.starts_with("https://") => u.to_string(),
            _ => return Err(invalid("public_url")),
        };
        let days = |key: &'static str, max: u32| parse_int(&get(key).0, 1, max).ok_or_else(|| invalid(key));
        let ms = |key: &'static str, min: u32, max: u32| {
            parse_int(&get(key).0, min, max).map(|v| Duration::from_millis(v.into())).ok_or_else(|| invalid(key))
        };
        let meetmind = crate::meetmind::MeetMindConfig {
            public_url,
            candidate_link_ttl_ms: i64::from(days("candidate_link_days", 365)?) * 86_400_000,
            retention_ms: i64::from(days("interview_retention_days", 36_500)?) * 86_400_000,
            debounce: ms("suggest_debounce_ms", 0, 60_000)?,
            suggest_budget: ms("suggest_budget_ms", 100, 60_000)?,
        };

        let provenance = KEYS
            .iter()
            .map(|spec| {
                let (value, source) = get(spec.key);
                Provenance { key: spec.key, env: spec.env, shown: mask(spec, &value), source }
            })
            .collect();

        Ok(Config {
            addr,
            database_url,
            backend,
            roles,
            site_root,
            log_format,
            log_level,
            db_max_connections,
            shutdown_grace,
            node_heartbeat,
            stream_recheck,
            secure_cookies,
            email,
            llm,
            scheduler,
            node_id,
            worker_concurrency,
            job_lease,
            meetmind,
            provenance,
        })
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The provenance table as aligned text, one key per line.
    pub fn table(&self) -> String {
        let w_key = self.provenance.iter().map(|p| p.key.len()).max().unwrap_or(0).max(3);
        let w_env = self.provenance.iter().map(|p| p.env.len()).max().unwrap_or(0).max(3);
        let w_val = self.provenance.iter().map(|p| p.shown.len()).max().unwrap_or(0).max(5);
        let mut out = format!("{:w_key$}  {:w_env$}  {:w_val$}  source\n", "key", "env", "value");
        for p in &self.provenance {
            out.push_str(&format!("{:w_key$}  {:w_env$}  {:w_val$}  {}\n", p.key, p.env, p.shown, p.source));
        }
        out
    }
}

fn spec(key: &str) -> &'static KeySpec {
    KEYS.iter().find(|k| k.key == key).expect("known key")
}

fn parse_int(raw: &str, min: u32, max: u32) -> Option<u32> {
    raw.trim().parse::<u32>().ok().filter(|v| (min..=max).contains(v))
}

fn parse_roles(raw: &str) -> Option<Vec<Role>> {
    let mut roles = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let role = match part.to_ascii_lowercase().as_str() {
            "web" => Role::Web,
            "worker" => Role::Worker,
            "maintenance" => Role::Maintenance,
            _ => return None,
        };
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    (!roles.is_empty()).then_some(roles)
}

pub fn parse_database_url(raw: &str) -> Option<Backend> {
    if let Some(rest) = raw.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        return (!path.is_empty()).then_some(Backend::Sqlite);
    }
    let url = url::Url::parse(raw).ok()?;
    match url.scheme() {
        "postgres" | "postgresql" if url.host_str().is_some_and(|h| !h.is_empty()) => Some(Backend::Postgres),
        _ => None,
    }
}

/// Masks a secret for display. URLs keep their shape with the password hidden,
/// so the table still tells which server is used: the user-info password and
/// the value of every query parameter that names a credential
/// (`?password=`, `sslpassword`, `passfile`, `secret`, `token`, `api_key`, ...),
/// which database drivers accept as well. Anything else marked secret that
/// is not a URL with a host (an API key, even one holding a ':') is hidden whole.
fn mask(spec: &KeySpec, value: &str) -> String {
    if !spec.secret {
        return value.to_string();
    }
    if let Ok(mut url) = url::Url::parse(value) {
        let sqlite = url.scheme() == "sqlite";
        if sqlite || url.has_host() {
            let mut masked = mask_query(&mut url);
            if !sqlite && url.password().is_some() {
                let _ = url.set_password(Some("****"));
                masked = true;
            }
            // A SQLite path is shown as given unless something was hidden.
            return if sqlite && !masked { value.to_string() } else { url.to_string() };
        }
    }
    // An unset key says so: for an LLM provider that means its tier is skipped.
    if value.is_empty() {
        "(not set)".to_string()
    } else {
        "****".to_string()
    }
}

/// Query parameter names (lower case, as substrings) whose values are credentials.
const SECRET_PARAMS: [&str; 5] = ["password", "pass", "secret", "token", "key"];

/// Replaces the value of each credential-like query parameter with `****`;
/// true when it hid something.
fn mask_query(url: &mut url::Url) -> bool {
    let secret_name = |name: &str| {
        let name = name.to_ascii_lowercase();
        SECRET_PARAMS.iter().any(|s| name.contains(s))
    };
    if !url.query_pairs().any(|(name, _)| secret_name(&*name)) {
        return false;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| {
            let shown = if secret_name(&*name) { "****".to_string() } else { value.into_owned() };
            (name.into_owned(), shown)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    true
}

fn read_toml(path: &Path, required: bool) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(Vec::new()),
        Err(e) => return Err(ConfigError::File { path: path.to_path_buf(), message: e.to_string() }),
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::File {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })?;
    let mut out = Vec::new();
    for (key, value) in table {
        let Some(spec) = KEYS.iter().find(|k| k.key == key) else {
            return Err(ConfigError::UnknownKey {
                key,
                path: path.to_path_buf(),
                known: KEYS.iter().map(|k| k.key).collect::<Vec<_>>().join(", "),
            });
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Array(items) => items.into_iter().map(scalar_text).collect::<Vec<_>>().join(","),
            other => scalar_text(other),
        };
        out.push((spec.key, text));
    }
    Ok(out)
}

fn scalar_text(value: toml::Value) -> String {
    match value {
        toml::Value::String(s) => s,
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        // Tables and dates are never valid values; show something the
        // validator will reject with its usual message.
        other => format!("{other:?}"),
    }
}

fn read_dotenv(path: &Path) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ConfigError::File { path: path.to_path_buf(), message: e.to_string() }),
    };
    let mut out = Vec::new();
    for item in iter {
        let (name, value) = item.map_err(|e| ConfigError::File { path: path.to_path_buf(), message: e.to_string() })?;
        // .env may hold other tools' variables too; take only ours.
        if let Some(spec) = KEYS.iter().find(|k| k.env == name) {
            out.push((spec.key, value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers() -> Layers {
        Layers::default()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let cfg = Config::load(&layers()).unwrap();
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(cfg.backend, Backend::Sqlite);
        assert_eq!(cfg.roles, vec![Role::Web, Role::Worker, Role::Maintenance]);
        assert!(cfg.provenance.iter().all(|p| p.source == Source::Default));
        assert_eq!(cfg.provenance.len(), KEYS.len());
    }

    #[test]
    fn each_layer_overrides_the_one_below_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("meetmind.toml");
        std::fs::write(
            &file,
            "addr = \"127.0.0.1:4000\"\nroles = [\"web\"]\nlog_format = \"json\"\nshutdown_grace_secs = 5\n",
        )
        .unwrap();
        let dotenv = dir.path().join(".env");
        std::fs::write(&dotenv, "MEETMIND_ADDR=127.0.0.1:5000\nMEETMIND_ROLES=worker\nUNRELATED=1\n").unwrap();
        let mut l = Layers { file: Some((file.clone(), true)), dotenv: Some(dotenv.clone()), ..Default::default() };
        l.env.insert("MEETMIND_ADDR".into(), "127.0.0.1:6000".into());
        l.flags.insert("addr", "127.0.0.1:7000".into());

        let cfg = Config::load(&l).unwrap();
        let source = |key: &str| cfg.provenance.iter().find(|p| p.key == key).unwrap().source.clone();
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:7000");
        assert_eq!(source("addr"), Source::Flag);
        assert_eq!(cfg.roles, vec![Role::Worker]);
        assert_eq!(source("roles"), Source::DotEnv(dotenv));
        assert_eq!(cfg.log_format, LogFormat::Json);
        assert_eq!(source("log_format"), Source::File(file));
        assert_eq!(cfg.shutdown_grace, Duration::from_secs(5));
        assert_eq!(source("site_root"), Source::Default);

        l.flags.clear();
        let cfg = Config::load(&l).unwrap();
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:6000");
        let table = cfg.table();
        let addr_row = table.lines().find(|l| l.starts_with("addr ")).unwrap();
        assert!(addr_row.contains("127.0.0.1:6000") && addr_row.ends_with("environment"), "{table}");
    }

    #[test]
    fn invalid_values_name_the_key_and_the_accepted_range() {
        let cases = [
            ("MEETMIND_ROLES", "web,cook", "web, worker, maintenance"),
            ("DATABASE_URL", "mysql://x/y", "sqlite://PATH"),
            ("DATABASE_URL", "not a url", "postgres://"),
            ("MEETMIND_ADDR", "localhost", "socket address"),
            ("MEETMIND_DB_MAX_CONNECTIONS", "0", "from 1 to 1000"),
            ("MEETMIND_SHUTDOWN_GRACE_SECS", "-3", "from 0 to 3600"),
            ("MEETMIND_LOG_FORMAT", "yaml", "text or json"),
            ("EMAIL_FAILURE_RATE", "1.5", "from 0 to 1"),
            ("SMTP_URL", "mail.example.com", "smtp[s]://"),
            ("MEETMIND_SCHEDULER", "treap", "heap or wheel"),
            ("MEETMIND_NODE_ID", "a b", "letters, digits"),
            ("MEETMIND_LLM_BREAKER_FAILURE_RATE", "1.2", "from 0 to 1"),
            ("MEETMIND_LLM_TIERS", "gemini,skynet", "gemini, openrouter, groq, ollama"),
        ];
        for (env, value, expect) in cases {
            let mut l = layers();
            l.env.insert(env.into(), value.into());
            let err = Config::load(&l).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid {env}")), "{err}");
            assert!(err.contains(expect), "{err}");
            assert!(err.contains("from environment"), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn secrets_are_masked_in_the_table_and_in_errors() {
        let mut l = layers();
        l.env.insert("DATABASE_URL".into(), "postgres://app:hunter2@db:5432/meetmind".into());
        let cfg = Config::load(&l).unwrap();
        assert_eq!(cfg.backend, Backend::Postgres);
        assert!(!cfg.table().contains("hunter2"));
        assert!(cfg.table().contains("postgres://app:****@db:5432/meetmind"));

        l.env.insert("DATABASE_URL".into(), "redis://app:hunter2@db".into());
        let err = Config::load(&l).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn passwords_in_url_query_parameters_are_masked_too() {
        let mut l = layers();
        // sqlx takes the password from the query string as well.
        l.env.insert("DATABASE_URL".into(), "postgres://app@db/meetmind?password=hunter2&sslmode=require".into());
        let cfg = Config::load(&l).unwrap();
        assert_eq!(cfg.backend, Backend::Postgres);
        let table = cfg.table();
        assert!(!table.contains("hunter2"), "{table}");
        assert!(table.contains("postgres://app@db/meetmind?password=****&sslmode=require"), "{table}");

        l.env.insert(
            "DATABASE_URL".into(),
            "postgres://app:hunter1@db/meetmind?sslpassword=hunter2&application_name=mm".into(),
        );
        let table = Config::load(&l).unwrap().table();
        assert!(!table.contains("hunter1") && !table.contains("hunter2"), "{table}");
        assert!(table.contains("application_name=mm"), "other parameters stay readable: {table}");

        l.env.insert("DATABASE_URL".into(), "mysql://db/meetmind?Password=hunter2".into());
        let err = Config::load(&l).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");

        // A secret that merely looks like a URL (scheme:rest) is hidden whole.
        l.env.remove("DATABASE_URL");
        l.env.insert("GROQ_API_KEY".into(), "gsk:hunter2".into());
        let table = Config::load(&l).unwrap().table();
        assert!(!table.contains("hunter2"), "{table}");
    }

    #[test]
    fn unknown_file_keys_and_missing_named_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("meetmind.toml");
        std::fs::write(&file, "adr = \"127.0.0.1:1\"\n").unwrap();
        let l = Layers { file: Some((file, true)), ..Default::default() };
        assert!(matches!(Config::load(&l), Err(ConfigError::UnknownKey { .. })));

        let l = Layers { file: Some((dir.path().join("missing.toml"), true)), ..Default::default() };
        assert!(matches!(Config::load(&l), Err(ConfigError::File { .. })));
        let l = Layers { file: Some((dir.path().join("missing.toml"), false)), ..Default::default() };
        assert!(Config::load(&l).is_ok());
    }
}
