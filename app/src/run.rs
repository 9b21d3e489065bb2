//! Starting roles and stopping them gracefully.

use crate::bootstrap::bootstrap;
use crate::cli::Command;
use crate::config::Config;
use crate::wiring::{Adapters, Services};
use crate::worker::Worker;
use anyhow::Context;
use std::time::Duration;
use tokio::sync::watch;

/// Runs a role until SIGINT/SIGTERM, then lets in-flight work finish within the grace
/// period. Returns an error if start-up fails or the grace period ran out.
pub async fn run(role: Command, config: Config) -> anyhow::Result<()> {
    // Start-up waits for unreachable dependencies; a shutdown signal meanwhile ends it.
    let adapters = tokio::select! {
        a = Adapters::from_config(&config) => a?,
        _ = shutdown_signal() => {
            tracing::info!("stopped before start-up finished");
            return Ok(());
        }
    };
    let services = Services::new(&config, adapters);
    if matches!(role, Command::Run | Command::Api) {
        // The admin and demo data need the store; during an outage, wait for it.
        let mut attempt = 0u32;
        loop {
            let outcome = tokio::select! {
                r = bootstrap(&services, &config.bootstrap) => r,
                _ = shutdown_signal() => return Ok(()),
            };
            match outcome {
                Ok(()) => break,
                Err(e) if attempt < 1000 => {
                    attempt += 1;
                    let pause = Duration::from_millis(250)
                        .saturating_mul(1 << attempt.min(6))
                        .min(Duration::from_secs(15));
                    tracing::warn!(
                        error = format!("{e:#}"),
                        ?pause,
                        "bootstrap failed; retrying"
                    );
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();

    if matches!(role, Command::Run | Command::Api) {
        let listener = tokio::net::TcpListener::bind(config.http.bind)
            .await
            .with_context(|| format!("binding http.bind = {}", config.http.bind))?;
        tracing::info!(addr = %listener.local_addr()?, "http api listening");
        let app = crate::http::router(services.clone(), &config.http);
        let stop = stop_rx.clone();
        let header_timeout = Duration::from_millis(config.http.header_read_timeout_ms);
        tasks.spawn(crate::serve::serve(listener, app, header_timeout, stop));
        tasks.spawn(crate::relay::run_relay(
            services.relay.clone(),
            services.metrics.clone(),
            Duration::from_millis(config.relay.interval_ms),
            crate::relay::Sweep {
                every: Duration::from_millis(config.relay.sweep_interval_ms),
                age: Duration::from_secs(config.relay.sweep_age_secs),
            },
            stop_rx.clone(),
        ));
        let handoff = services
            .handoff
            .lock()
            .map_err(|_| anyhow::anyhow!("hand-off lock poisoned"))?
            .take();
        if let Some(rx) = handoff {
            tasks.spawn(crate::relay::run_handoff(
                services.relay.clone(),
                services.metrics.clone(),
                rx,
                config.relay.batch_size,
                config.relay.concurrency,
                stop_rx.clone(),
            ));
        }
    }
    if matches!(role, Command::Run | Command::Worker) {
        let worker = Worker::new(
            services.adapters.queue.clone(),
            services.processor.clone(),
            services.metrics.clone(),
            &config.worker_settings(),
        );
        tasks.spawn(worker.run(stop_rx.clone()));
    }

    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight work");
    let _ = stop_tx.send(true);
    let grace = Duration::from_millis(config.http.shutdown_grace_ms);
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    match drained {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            Ok(())
        }
        Err(_) => {
            tasks.abort_all();
            anyhow::bail!(
                "in-flight work did not finish within http.shutdown_grace_ms = {}",
                config.http.shutdown_grace_ms
            )
        }
    }
}

async fn shutdown_signal() {
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
