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
            .map_err(|e| ops_bind_error(config.ops.bind, &e))?;
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
            None => Adapters::from_config(&config, metrics.clone()).await?,
        };
        fit_probes_to(role, &mut adapters.probes);
        readiness.set_probes(adapters.probes.clone());
        let services = Services::new(&config, adapters, metrics);
        if role.serves_api() {
            // The admin and demo data need the store; during an outage, wait for it.
            // (`config.check` has refused admin settings no retry could fix.)
            until_up("bootstrap (admin and demo catalog)", || async {
                bootstrap(&services, &config.bootstrap)
                    .await
                    .map_err(|e| format!("{e:#}").into())
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
        if let Some(listener) = self.http.take() {
            let c = &self.config.http;
            let app = crate::http::router(self.services.clone(), c, self.readiness.clone());
            let header_timeout = Duration::from_millis(c.header_read_timeout_ms);
            let serve = crate::serve::serve(listener, app, header_timeout, stop.clone());
            spawn_named(&mut tasks, "the HTTP server", serve);
        }
        let mut sweeping = None;
        if background == Background::Run && self.role.serves_api() {
            sweeping = Some(self.spawn_relay(&mut tasks, &stop)?);
        }
        if background == Background::Run && self.role.runs_worker() {
            self.spawn_worker(&mut tasks, &stop);
        }
        self.readiness.set_phase(Phase::Ready);
        tracing::info!(role = self.role.name(), "ready");

        tokio::pin!(shutdown);
        let outcome = tokio::select! {
            () = &mut shutdown => Ok(()),
            Some(ended) = tasks.join_next() => Err(unexpected(ended)),
        };
        self.readiness.set_phase(Phase::Draining);
        let outcome = self.drain(outcome, &mut tasks).await;
        tracing::info!("shutting down: finishing in-flight work");
        let _ = stop_tx.send(true);
        self.finish(outcome, tasks, sweeping).await
    }

    /// The API's background work: ended-login reads, the relay's scan and hand-off,
    /// and the sweeper, which is returned apart because shutdown never waits for a
    /// sweep (see `sweeper`).
    fn spawn_relay(
        &self,
        tasks: &mut JoinSet<&'static str>,
        stop: &watch::Receiver<bool>,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let (c, s) = (&self.config, &self.services);
        let reads = crate::revocations::run_revocation_reads(
            s.auth.clone(),
            s.metrics.clone(),
            Duration::from_millis(c.auth.revocation_check_ms),
            stop.clone(),
        );
        spawn_named(tasks, "the ended-login reads", reads);
        let relay = crate::relay::run_relay(
            s.relay.clone(),
            s.metrics.clone(),
            Duration::from_millis(c.relay.interval_ms),
            Duration::from_millis(self.config.ops.idle_scan_max_ms),
            stop.clone(),
        );
        spawn_named(tasks, "the relay", relay);
        let handoff = s
            .handoff
            .lock()
            .map_err(|_| anyhow::anyhow!("hand-off lock poisoned"))?
            .take();
        if let Some(rx) = handoff {
            let run = crate::handoff::run_handoff(
                s.relay.clone(),
                s.metrics.clone(),
                rx,
                c.relay.batch_size,
                Duration::from_millis(c.relay.batch_linger_ms),
                c.relay.concurrency,
                stop.clone(),
            );
            spawn_named(tasks, "the relay's hand-off", run);
        }
        let sweeper = crate::sweeper::Sweeper {
            relay: s.relay.clone(),
            lease: crate::fleet_lease::FleetLease {
                leases: s.adapters.store.leases.clone(),
                clock: s.adapters.clock.clone(),
                name: crate::sweeper::SWEEP_LEASE,
                holder: crate::fleet_lease::holder_name(),
                term: Duration::from_millis(c.relay.sweep_lease_ms),
            },
            metrics: s.metrics.clone(),
            sweep: crate::sweeper::Sweep {
                every: Duration::from_millis(c.relay.sweep_interval_ms),
                age: Duration::from_millis(c.relay.sweep_age_ms),
            },
        };
        Ok(tokio::spawn(sweeper.run(stop.clone())))
    }

    /// The worker, its due-email scan and the webhook tasks.
    fn spawn_worker(&self, tasks: &mut JoinSet<&'static str>, stop: &watch::Receiver<bool>) {
        spawn_named(tasks, "the worker", self.worker().run(stop.clone()));
        let notifier = crate::notifier::run_notifier(
            self.services.processor.clone(),
            self.services.metrics.clone(),
            Duration::from_millis(self.config.notify.scan_interval_ms),
            Duration::from_millis(self.config.ops.idle_scan_max_ms),
            self.config.notify.scan_batch,
            stop.clone(),
        );
        spawn_named(tasks, "the due-email scan", notifier);
        let w = &self.config.webhooks;
        let pace = crate::webhook_deliveries::Pace {
            every: Duration::from_millis(w.scan_interval_ms),
            idle_max: Duration::from_millis(self.config.ops.idle_scan_max_ms),
            batch: w.scan_batch,
            concurrency: w.concurrency,
            per_endpoint: w.per_endpoint,
        };
        let s = &self.services;
        let fan_out = crate::webhook_deliveries::run_fan_out(
            s.webhooks.clone(),
            s.metrics.clone(),
            pace,
            stop.clone(),
        );
        spawn_named(tasks, "the webhook fan-out", fan_out);
        let sender = crate::webhook_deliveries::run_sender(
            s.webhooks.clone(),
            s.metrics.clone(),
            pace,
            stop.clone(),
        );
        spawn_named(tasks, "the webhook sender", sender);
        let gauges = crate::gauges::FleetGauges {
            relay: s.relay.clone(),
            processor: s.processor.clone(),
            dead_letters: s.dead_letters.clone(),
            clock: s.adapters.clock.clone(),
            metrics: s.metrics.clone(),
        };
        spawn_named(
            tasks,
            "the fleet gauges",
            gauges.run(
                crate::fleet_lease::FleetLease {
                    leases: s.adapters.store.leases.clone(),
                    clock: s.adapters.clock.clone(),
                    name: crate::gauges::GAUGES_LEASE,
                    holder: crate::fleet_lease::holder_name(),
                    // Three looks: a holder that misses one keeps it.
                    term: Duration::from_millis(
                        self.config.ops.gauge_interval_ms.saturating_mul(3),
                    ),
                },
                Duration::from_millis(self.config.ops.gauge_interval_ms),
                stop.clone(),
            ),
        );
    }

    /// After a clean stop signal, an API keeps serving for `http.drain_delay_ms` with
    /// readiness at 503, so load balancers stop sending before the listener closes.
    async fn drain(
        &self,
        outcome: anyhow::Result<()>,
        tasks: &mut JoinSet<&'static str>,
    ) -> anyhow::Result<()> {
        let drain = Duration::from_millis(self.config.http.drain_delay_ms);
        if outcome.is_err() || !self.role.serves_api() || drain.is_zero() {
            return outcome;
        }
        tracing::info!(?drain, "draining: readiness is 503, still serving");
        tokio::select! {
            () = tokio::time::sleep(drain) => outcome,
            Some(ended) = tasks.join_next() => Err(unexpected(ended)),
        }
    }

    /// Waits for the in-flight work within `http.shutdown_grace_ms`, gives the sweeper
    /// time to release its lease, and closes the ops listener.
    async fn finish(
        mut self,
        mut outcome: anyhow::Result<()>,
        mut tasks: JoinSet<&'static str>,
        sweeping: Option<tokio::task::JoinHandle<()>>,
    ) -> anyhow::Result<()> {
        let grace_ms = self.config.http.shutdown_grace_ms;
        let finished = tokio::time::timeout(Duration::from_millis(grace_ms), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
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
                "in-flight work did not finish within http.shutdown_grace_ms = {grace_ms}"
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

/// What readiness checks for a role: a worker cannot do anything without its queue;
/// an API sends no mail (and its production role may not reach the provider).
fn fit_probes_to(role: Role, probes: &mut Vec<crate::health::Probe>) {
    match role {
        Role::Worker => {
            for p in probes.iter_mut().filter(|p| p.name == "queue") {
                p.critical = true;
            }
        }
        Role::Api => probes.retain(|p| p.name != "mailer"),
        Role::Run => {}
    }
}

/// Runs `work` as one of the tasks shutdown waits for; if it ends by itself, `name`
/// says which one did.
fn spawn_named(
    tasks: &mut JoinSet<&'static str>,
    name: &'static str,
    work: impl Future<Output = ()> + Send + 'static,
) {
    tasks.spawn(async move {
        work.await;
        name
    });
}

/// Why the ops listener could not bind, and, when its port is taken (an `api` and a
/// `worker` started on one host with the same profile), what to set.
fn ops_bind_error(bind: std::net::SocketAddr, e: &std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        let mut next = bind;
        next.set_port(bind.port().wrapping_add(1).max(1));
        anyhow::anyhow!(
            "binding ops.bind = {bind}: the address is in use (another process on this host, \
             perhaps the other role of this profile): give each process its own ops port, \
             e.g. ORDERFLOW_OPS__BIND={next}"
        )
    } else {
        anyhow::anyhow!("binding ops.bind = {bind}: {e}")
    }
}
