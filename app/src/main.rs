use clap::Parser;
use orderflow::cli::{Cli, Command};
use orderflow::config::{Config, Sources};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
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
