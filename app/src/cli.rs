//! Command line: `orderflow [--profile P] [--config FILE]
//! [run|api|worker|config|healthcheck|dlq|outbox|emails]`.

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

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// API, worker and relay in one process (the default).
    Run,
    /// HTTP API and relay only.
    Api,
    /// Order worker only.
    Worker,
    /// Print the effective configuration, secrets redacted, and say on stderr if it
    /// would be refused at start; with `--check`, such a configuration exits 2.
    Config {
        #[arg(long)]
        check: bool,
    },
    /// Ask the running process's ops listener (`ops.bind`) whether it is alive, or
    /// with `--ready` whether it is ready; exit 0 or 1. For container health checks.
    Healthcheck {
        #[arg(long)]
        ready: bool,
    },
    /// Show or replay dead letters (messages the queue gave up on).
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Show or retry orders the relay set aside because the queue kept refusing their
    /// message.
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Outcome emails owed to customers.
    Emails {
        #[command(subcommand)]
        action: EmailsAction,
    },
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum EmailsAction {
    /// Make every owed email due now (after a mail outage, instead of each waiting out
    /// its back-off); the workers send them, each once.
    Retry,
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum OutboxAction {
    /// Print set-aside orders, one JSON object per line.
    List {
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Hand a set-aside order back to the relay (refusals count from zero again).
    Retry { order_id: uuid::Uuid },
}

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
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
    /// Delete one dead letter for good (a message no redrive can help), by the
    /// `message_id` that `dlq list` prints.
    Drop { message_id: String },
}
