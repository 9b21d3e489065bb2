use clap::Parser;
use orderflow::cli::{Cli, Command};
use orderflow::config::{Config, Sources};
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
    let config = match Config::load(&sources) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("orderflow: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Run);
    if command == Command::Config {
        print!("{}", config.redacted_toml());
        return ExitCode::SUCCESS;
    }
    if let Command::Dlq { action } = command {
        return match orderflow::dlq::run(&config, action).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("orderflow dlq: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    orderflow::telemetry::init(&config.log);
    match orderflow::run::run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "orderflow stopped with an error");
            eprintln!("orderflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}
