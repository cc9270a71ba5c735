use std::process::ExitCode;

use clap::Parser;
use meetmind::{
    cli::{BenchCommand, Cli, Command, LlmCommand, Overrides, TokenCommand, UserCommand},
    config::{Config, Layers},
    serve, store, telemetry,
};

fn load(cli_config: Option<std::path::PathBuf>, overrides: &Overrides) -> Result<Config, ExitCode> {
    Config::load(&Layers::from_process(cli_config, overrides.flags())).map_err(|e| {
        // One line naming the key and what it accepts; nothing else.
        eprintln!("meetmind: {e}");
        ExitCode::from(2)
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(o) => match load(cli.config, &o) {
            Ok(config) => {
                print!("{}", config.table());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Migrate(o) => {
            let config = match load(cli.config, &o) {
                Ok(c) => c,
                Err(code) => return code,
            };
            telemetry::init(&config);
            let result = async {
                let store = store::connect(&config).await?;
                store.migrate().await?;
                store.close().await;
                Ok::<_, store::StoreError>(())
            }
            .await;
            match result {
                Ok(()) => {
                    println!("migrations applied ({:?})", config.backend);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("meetmind: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Demo(o) => {
            let config = match load(cli.config, &o) {
                Ok(c) => c,
                Err(code) => return code,
            };
            telemetry::init(&config);
            match meetmind::meetmind::demo::run(&config).await {
                Ok(out) => {
                    println!("Sample interview {} seeded and run end to end.", out.interview_id);
                    println!("  live suggestions: {}", out.suggestions);
                    println!("  post-interview workflow: {}", out.workflow_state);
                    if let Some(r) = out.recommendation {
                        println!("  AI recommendation: {r}");
                    }
                    if let Some(s) = out.summary {
                        println!("  summary: {s}");
                    }
                    println!("  report: {} (sign in first)", out.report_url);
                    println!("  emailed to the owner through the outbox ({})", config.email.outbox.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("meetmind: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::User(UserCommand::Create { email, name, admin, overrides }) => {
            let config = match load(cli.config, &overrides) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match meetmind::accounts_cli::create_user(&config, &email, name, admin).await {
                Ok(line) => {
                    eprintln!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("meetmind: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Token(TokenCommand::Create { name, scopes, admin, overrides }) => {
            let config = match load(cli.config, &overrides) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match meetmind::accounts_cli::create_token(&config, &name, &scopes, admin).await {
                Ok(secret) => {
                    println!("{secret}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("meetmind: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Llm(cmd) => {
            let overrides = match &cmd {
                LlmCommand::Check { overrides } | LlmCommand::Complete { overrides, .. } => overrides.clone(),
            };
            let config = match load(cli.config, &overrides) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match cmd {
                LlmCommand::Check { .. } => meetmind::llm::cli::check(&config.llm).await,
                LlmCommand::Complete { prompt, .. } => meetmind::llm::cli::complete(&config.llm, &prompt).await,
            }
        }
        Command::SimProviders { addr } => {
            let config = match load(cli.config, &Overrides::default()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            telemetry::init(&config);
            match meetmind::llm::sim::serve(addr).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("meetmind: cannot serve the simulator on {addr}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bench(bench) => {
            let overrides = match &bench {
                BenchCommand::BurnDown { overrides, .. }
                | BenchCommand::Latency { overrides, .. }
                | BenchCommand::Workflows { overrides, .. } => overrides.clone(),
                BenchCommand::LlmOverhead { .. } | BenchCommand::Sse { .. } => Overrides::default(),
            };
            let config = match load(cli.config, &overrides) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let result = match bench {
                BenchCommand::BurnDown { jobs, workers, batch, .. } => {
                    let b =
                        meetmind::bench::BurnDown { jobs, workers, batch: batch.max(1), scheduler: config.scheduler };
                    meetmind::bench::burn_down(&config, &b).await
                }
                BenchCommand::Workflows { workflows, width, workers, .. } => {
                    let b = meetmind::bench::WorkflowBench {
                        workflows: workflows.max(1),
                        // A workflow holds at most MAX_NODES jobs: the root and the join too.
                        width: width.clamp(1, app::dag::MAX_NODES - 2),
                        workers: workers.max(1),
                        scheduler: config.scheduler,
                    };
                    meetmind::bench::workflows(&config, &b).await
                }
                BenchCommand::LlmOverhead { rate, secs } => {
                    meetmind::bench::llm_overhead(rate.max(1), secs.max(1)).await
                }
                BenchCommand::Sse { url, token, subscribers, rate, secs, server_pid, types } => {
                    let b = meetmind::bench_sse::SseBench {
                        url,
                        token,
                        subscribers: subscribers.max(1),
                        rate: rate.max(1),
                        secs: secs.max(1),
                        server_pid,
                        types,
                    };
                    meetmind::bench_sse::sse(&b).await
                }
                BenchCommand::Latency { samples, paused_backlog, .. } => {
                    meetmind::bench::latency(&config, samples.max(1), paused_backlog, config.scheduler).await
                }
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("meetmind: bench failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve(o) => {
            let config = match load(cli.config, &o) {
                Ok(c) => c,
                Err(code) => return code,
            };
            telemetry::init(&config);
            for p in &config.provenance {
                tracing::info!(target: "meetmind::config", key = p.key, env = p.env, value = %p.shown, source = %p.source, "config");
            }
            match serve::run(config, serve::shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "serve failed");
                    eprintln!("meetmind: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
