//! Command line: `orderflow [--profile P] [--config FILE] [run|api|worker|config]`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "orderflow", version, about = "Event-driven order processing")]
pub struct Cli {
    /// Configuration profile: config/<profile>.toml over the built-in defaults.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// An extra TOML file layered over the profile.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// API, worker and relay in one process (the default).
    Run,
    /// HTTP API and relay only.
    Api,
    /// Order worker only.
    Worker,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Show or replay dead letters (messages the queue gave up on).
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum DlqAction {
    /// Print dead letters, one JSON object per line.
    List {
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Move dead letters back to the work queue.
    Redrive {
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}
