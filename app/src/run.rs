//! Running a role as a process: built, run until SIGINT/SIGTERM, stopped gracefully.

use crate::config::Config;
use crate::startup::{Application, Background, Role};

/// Runs `role` until SIGINT/SIGTERM. A signal during start-up (waiting for a
/// dependency) stops it cleanly too. An error if start-up failed, a task ended by
/// itself, or in-flight work outlived the grace period.
pub async fn run(role: Role, config: Config) -> anyhow::Result<()> {
    let app = tokio::select! {
        app = Application::build(config, role) => app?,
        () = shutdown_signal() => {
            tracing::info!("stopped before start-up finished");
            return Ok(());
        }
    };
    app.run_until_stopped(shutdown_signal(), Background::Run)
        .await
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
