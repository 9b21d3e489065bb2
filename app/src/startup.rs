//! One way to build and run the application, used by `main` for every role and by the
//! test harness alike, so a test runs what production starts.
//!
//! [`Application::build`] binds the ops listener and serves probes at once, then
//! connects to the dependencies (waiting out an outage), bootstraps, and binds the API.
//! [`Application::run_until_stopped`] runs the role's tasks until the shutdown signal,
//! drains, and stops; a task that ends by itself ends the process with an error, so
//! an orchestrator restarts it instead of keeping a process that only looks healthy.

use crate::bootstrap::bootstrap;
use crate::config::Config;
use crate::health::{Phase, Readiness};
use crate::metrics::Metrics;
use crate::until_up::until_up;
use crate::wiring::{Adapters, Services};
use crate::worker::Worker;
use anyhow::Context;
use orderflow_core::domain::ParseError;
use orderflow_core::retry::Permanent;
use orderflow_core::BoxError;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What a process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API, relay and worker in one process.
    Run,
    /// HTTP API and relay.
    Api,
    /// Order worker.
    Worker,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Run => "run",
            Role::Api => "api",
            Role::Worker => "worker",
        }
    }

    fn serves_api(self) -> bool {
        matches!(self, Role::Run | Role::Api)
    }

    fn runs_worker(self) -> bool {
        matches!(self, Role::Run | Role::Worker)
    }
}

/// Which of the role's background tasks [`Application::run_until_stopped`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// All of them: what `main` does.
    Run,
    /// None: the listeners only. The test harness steps the worker and the relay
    /// itself, so a test decides exactly when each message moves.
    Stepped,
}

/// A built application: listeners bound, dependencies connected, not yet running.
pub struct Application {
    role: Role,
    config: Config,
    services: Services,
    readiness: Arc<Readiness>,
    ops_addr: SocketAddr,
    ops_stop: watch::Sender<bool>,
    ops_task: tokio::task::JoinHandle<()>,
    http: Option<TcpListener>,
}

impl Application {
    /// Builds the role from configuration alone.
    pub async fn build(config: Config, role: Role) -> anyhow::Result<Self> {
        Self::build_with(config, role, None).await
    }

    /// Builds the role, with `adapters` instead of those the configuration names when
    /// given (tests pass in-memory adapters they hold handles on).
    pub async fn build_with(
        config: Config,
        role: Role,
        adapters: Option<Adapters>,
    ) -> anyhow::Result<Self> {
        config.check()?;
        let metrics = Arc::new(Metrics::new());
        let readiness = Readiness::new(Duration::from_secs(1), Duration::from_secs(2));
        let ops = TcpListener::bind(config.ops.bind)
            .await
            .with_context(|| format!("binding ops.bind = {}", config.ops.bind))?;
        let ops_addr = ops.local_addr()?;
        tracing::info!(addr = %ops_addr, role = role.name(), "ops listener up: /healthz /readyz /metrics");
        let (ops_stop, stop) = watch::channel(false);
        let ops_router = crate::ops::router(crate::ops::OpsState {
            readiness: readiness.clone(),
            metrics: metrics.clone(),
        });
        let header_timeout = Duration::from_millis(config.http.header_read_timeout_ms);
        let ops_task = tokio::spawn(crate::serve::serve(ops, ops_router, header_timeout, stop));

        let mut adapters = match adapters {
            Some(a) => a,
            None => Adapters::from_config(&config).await?,
        };
        if role == Role::Worker {
            // A worker cannot do anything without its queue.
            for p in adapters.probes.iter_mut().filter(|p| p.name == "queue") {
                p.critical = true;
            }
        }
        if role == Role::Api {
            // It sends no mail (and its production role may not reach the provider).
            adapters.probes.retain(|p| p.name != "mailer");
        }
        readiness.set_probes(adapters.probes.clone());
        let services = Services::new(&config, adapters, metrics);
        if role.serves_api() {
            // The admin and demo data need the store; during an outage, wait for it.
            until_up("bootstrap (admin and demo catalog)", || async {
                bootstrap(&services, &config.bootstrap).await.map_err(|e| {
                    // A setting the domain refuses (the admin's email or password)
                    // is as wrong on the next try.
                    let refused = e.chain().any(|c| c.is::<ParseError>());
                    let e: BoxError = format!("{e:#}").into();
                    if refused {
                        Permanent::boxed(e)
                    } else {
                        e
                    }
                })
            })
            .await?;
        }
        let http = if role.serves_api() {
            let l = TcpListener::bind(config.http.bind)
                .await
                .with_context(|| format!("binding http.bind = {}", config.http.bind))?;
            tracing::info!(addr = %l.local_addr()?, "http api listening");
            Some(l)
        } else {
            None
        };
        Ok(Self {
            role,
            config,
            services,
            readiness,
            ops_addr,
            ops_stop,
            ops_task,
            http,
        })
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_addr
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The worker as this role runs it, with the queue's own settings.
    pub fn worker(&self) -> Worker {
        Worker::new(
            self.services.adapters.queue.clone(),
            self.services.processor.clone(),
            self.services.metrics.clone(),
            &self.config.worker_settings(),
        )
    }

    /// Runs until `shutdown` resolves, then: readiness turns `draining` at once, the
    /// API keeps serving for `http.drain_delay_ms`, everything stops taking new work,
    /// and what is in flight gets `http.shutdown_grace_ms` to finish. An error if a
    /// task ended by itself before that, or the grace period ran out.
    pub async fn run_until_stopped(
        mut self,
        shutdown: impl Future<Output = ()>,
        background: Background,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks: JoinSet<&'static str> = JoinSet::new();
        let mut sweeping: Option<tokio::task::JoinHandle<()>> = None;
        let c = &self.config;
        if let Some(listener) = self.http.take() {
            let app = crate::http::router(self.services.clone(), &c.http, self.readiness.clone());
            let header_timeout = Duration::from_millis(c.http.header_read_timeout_ms);
            let serve = crate::serve::serve(listener, app, header_timeout, stop.clone());
            tasks.spawn(async move {
                serve.await;
                "the HTTP server"
            });
        }
        if background == Background::Run && self.role.serves_api() {
            let reads = crate::revocations::run_revocation_reads(
                self.services.auth.clone(),
                self.services.metrics.clone(),
                Duration::from_secs(c.auth.revocation_check_secs),
                stop.clone(),
            );
            tasks.spawn(async move {
                reads.await;
                "the ended-login reads"
            });
            let relay = crate::relay::run_relay(
                self.services.relay.clone(),
                self.services.metrics.clone(),
                Duration::from_millis(c.relay.interval_ms),
                stop.clone(),
            );
            tasks.spawn(async move {
                relay.await;
                "the relay"
            });
            // Not one of `tasks`: shutdown never waits for a sweep (see `sweeper`).
            let sweeper = crate::sweeper::Sweeper {
                relay: self.services.relay.clone(),
                leases: self.services.adapters.leases.clone(),
                clock: self.services.adapters.clock.clone(),
                metrics: self.services.metrics.clone(),
                holder: crate::sweeper::holder_name(),
                sweep: crate::sweeper::Sweep {
                    every: Duration::from_millis(c.relay.sweep_interval_ms),
                    age: Duration::from_secs(c.relay.sweep_age_secs),
                    lease: Duration::from_secs(c.relay.sweep_lease_secs),
                },
            };
            sweeping = Some(tokio::spawn(sweeper.run(stop.clone())));
            let handoff = self
                .services
                .handoff
                .lock()
                .map_err(|_| anyhow::anyhow!("hand-off lock poisoned"))?
                .take();
            if let Some(rx) = handoff {
                let run = crate::relay::run_handoff(
                    self.services.relay.clone(),
                    self.services.metrics.clone(),
                    rx,
                    c.relay.batch_size,
                    c.relay.concurrency,
                    stop.clone(),
                );
                tasks.spawn(async move {
                    run.await;
                    "the relay's hand-off"
                });
            }
        }
        if background == Background::Run && self.role.runs_worker() {
            let run = self.worker().run(stop.clone());
            tasks.spawn(async move {
                run.await;
                "the worker"
            });
            let notifier = crate::notifier::run_notifier(
                self.services.processor.clone(),
                self.services.metrics.clone(),
                Duration::from_millis(c.notify.scan_interval_ms),
                c.notify.scan_batch,
                stop.clone(),
            );
            tasks.spawn(async move {
                notifier.await;
                "the due-email scan"
            });
        }
        self.readiness.set_phase(Phase::Ready);
        tracing::info!(role = self.role.name(), "ready");

        tokio::pin!(shutdown);
        let mut outcome = tokio::select! {
            () = &mut shutdown => Ok(()),
            Some(ended) = tasks.join_next() => Err(unexpected(ended)),
        };
        self.readiness.set_phase(Phase::Draining);
        let drain = Duration::from_millis(c.http.drain_delay_ms);
        if outcome.is_ok() && self.role.serves_api() && !drain.is_zero() {
            tracing::info!(?drain, "draining: readiness is 503, still serving");
            tokio::select! {
                () = tokio::time::sleep(drain) => {}
                Some(ended) = tasks.join_next() => outcome = Err(unexpected(ended)),
            }
        }
        tracing::info!("shutting down: finishing in-flight work");
        let _ = stop_tx.send(true);
        let grace = Duration::from_millis(c.http.shutdown_grace_ms);
        let finished =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if let Some(mut sweeping) = sweeping {
            // It drops its sweep at once on stop; this only gives its lease release time.
            if tokio::time::timeout(Duration::from_secs(3), &mut sweeping)
                .await
                .is_err()
            {
                sweeping.abort();
            }
        }
        let _ = self.ops_stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.ops_task).await;
        if finished.is_err() {
            tasks.abort_all();
            outcome = outcome.and(Err(anyhow::anyhow!(
                "in-flight work did not finish within http.shutdown_grace_ms = {}",
                c.http.shutdown_grace_ms
            )));
        }
        if outcome.is_ok() {
            tracing::info!("stopped cleanly");
        }
        outcome
    }
}

fn unexpected(ended: Result<&'static str, tokio::task::JoinError>) -> anyhow::Error {
    let e = match ended {
        Ok(task) => anyhow::anyhow!("{task} stopped unexpectedly"),
        Err(e) if e.is_panic() => anyhow::anyhow!("a task panicked: {e}"),
        Err(e) => anyhow::anyhow!("a task was cancelled: {e}"),
    };
    tracing::error!(error = %e, "stopping the process so that it is restarted");
    e
}
