use clap::Parser;
use orderflow::cli::{Cli, Command};
use orderflow::config::{Config, Sources};
use orderflow::startup::Role;
use std::process::ExitCode;

/// glibc raises its mmap threshold to the size of the largest block freed, so after the
/// first argon2 hash (a 19 MiB block) every later one came from the heap and stayed
/// resident when freed: 34 MiB idle instead of 15. A fixed threshold keeps big blocks
/// in their own mappings, returned to the system as soon as they are freed.
fn return_big_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any other thread
    // exists. A refusal (return 0) leaves the default behaviour, which is still correct.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    return_big_blocks_to_the_system();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("orderflow: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let sources = Sources {
        profile: cli.profile.clone(),
        file: cli.config.clone(),
        config_dir: None,
    };
    let config = match Config::load_unchecked(&sources) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("orderflow: {e}");
            return ExitCode::from(2);
        }
    };
    let role = match cli.command.unwrap_or(Command::Run) {
        Command::Run => Role::Run,
        Command::Api => Role::Api,
        Command::Worker => Role::Worker,
        other => return one_off(other, &config).await,
    };
    serve(role, config).await
}

/// A command that does its job and exits. None of these serves anything, so the
/// refusals that protect a listening process (development secrets outside the
/// embedded configuration) do not apply.
async fn one_off(command: Command, config: &Config) -> ExitCode {
    let failed = |what: &str, e: anyhow::Error| {
        eprintln!("orderflow {what}: {e:#}");
        ExitCode::FAILURE
    };
    match command {
        Command::Config { check } => {
            print!("{}", config.redacted_toml());
            match config.check() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("orderflow: this configuration would be refused at start: {e}");
                    if check {
                        ExitCode::from(2)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
            }
        }
        Command::Healthcheck { ready } => orderflow::healthcheck::probe(config, ready).await,
        Command::Dlq { action } => match orderflow::dlq::run(config, action).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed("dlq", e),
        },
        Command::Outbox { action } => match orderflow::outbox::run(config, action).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed("outbox", e),
        },
        Command::Emails { action } => match orderflow::emails::run(config, action).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed("emails", e),
        },
        // `run` serves these itself and never passes them here.
        Command::Run | Command::Api | Command::Worker => ExitCode::FAILURE,
    }
}

/// Runs a serving role until it is stopped: 0 on a clean stop, 1 on an error, 2 for
/// a configuration it refuses.
async fn serve(role: Role, config: Config) -> ExitCode {
    if let Err(e) = config.check() {
        eprintln!("orderflow: {e}");
        return ExitCode::from(2);
    }
    let telemetry = orderflow::telemetry::init(&config.log, role.name());
    for key in &config.ignored_env {
        tracing::warn!(
            key,
            "ignoring an environment variable that is not of the ORDERFLOW_SECTION__KEY form"
        );
    }
    let outcome = orderflow::run::run(role, config).await;
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "orderflow stopped with an error");
            eprintln!("orderflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}
