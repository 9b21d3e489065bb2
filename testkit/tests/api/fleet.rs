//! Several processes on one store, as a fleet of `api` containers is: work meant for
//! one process at a time (the sweep) runs in one.

use orderflow::startup::{Application, Background, Role};
use orderflow_adapter_memory::{MemoryStore, RecordingMailer};
use orderflow_core::ports::{Leases, Queue};
use orderflow_testkit::faults::SwitchableStore;
use orderflow_testkit::{memory_adapters, test_config};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One `api` process of the fleet, running its background tasks.
struct Process {
    /// Its API.
    addr: std::net::SocketAddr,
    /// Its store handle, which counts the sweep's reads.
    store: SwitchableStore,
    stop: Option<oneshot::Sender<()>>,
    run: JoinHandle<anyhow::Result<()>>,
}

impl Process {
    async fn start(store: &MemoryStore, queue: Arc<dyn Queue>) -> Self {
        Self::start_with(store, queue, |_| {}).await
    }

    async fn start_with(
        store: &MemoryStore,
        queue: Arc<dyn Queue>,
        tweak: impl FnOnce(&mut orderflow::config::Config),
    ) -> Self {
        let config = test_config(|c| {
            c.relay.sweep_interval_ms = 100;
            c.relay.sweep_lease_ms = 2000;
            c.relay.sweep_age_ms = 0;
            c.http.drain_delay_ms = 0;
            c.http.shutdown_grace_ms = 2000;
            tweak(c);
        });
        let mut adapters =
            memory_adapters(&config, store, queue, Arc::new(RecordingMailer::default()));
        let switch = SwitchableStore::wrap(&mut adapters);
        let app = Application::build_with(config, Role::Api, Some(adapters))
            .await
            .expect("the application builds");
        let addr = app.http_addr().expect("the api role serves");
        let (stop, stopped) = oneshot::channel::<()>();
        let run = tokio::spawn(app.run_until_stopped(
            async {
                let _ = stopped.await;
            },
            Background::Run,
        ));
        Self {
            addr,
            store: switch,
            stop: Some(stop),
            run,
        }
    }

    /// Stops it as SIGTERM does.
    async fn shut_down(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let outcome = tokio::time::timeout(Duration::from_secs(20), &mut self.run)
            .await
            .expect("shutdown finished within 20 s")
            .expect("the process task did not panic");
        outcome
    }
}

fn sweeping(fleet: &[Process]) -> Vec<usize> {
    fleet
        .iter()
        .enumerate()
        .filter(|(_, p)| p.store.sweep_reads() > 0)
        .map(|(i, _)| i)
        .collect()
}

fn reset_counts(fleet: &[Process]) -> Vec<usize> {
    fleet.iter().map(|p| p.store.sweep_reads()).collect()
}

/// Three `api` processes sweep every 100 ms; only the lease holder does. When it
/// stops, it hands the lease back and another process takes the sweep over at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_of_the_fleet_sweeps_and_another_takes_over_when_it_stops() {
    let store = MemoryStore::new();
    let queue: Arc<dyn Queue> = Arc::new(orderflow_adapter_memory::MemoryQueue::new(
        Duration::from_secs(30),
        5,
    ));
    let mut fleet = Vec::new();
    for _ in 0..3 {
        fleet.push(Process::start(&store, queue.clone()).await);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let holders = sweeping(&fleet);
    assert_eq!(
        holders.len(),
        1,
        "processes that swept: {holders:?}, reads {:?}",
        reset_counts(&fleet)
    );
    let holder = fleet.remove(holders[0]);
    let before = reset_counts(&fleet);
    let outcome = holder.shut_down().await;
    outcome.expect("the holder stopped cleanly");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = reset_counts(&fleet);
    let took_over: Vec<usize> = (0..fleet.len()).filter(|&i| after[i] > before[i]).collect();
    assert_eq!(
        took_over.len(),
        1,
        "well within the 2 s lease, exactly one other process sweeps: reads {before:?} -> {after:?}"
    );
    for p in fleet {
        p.shut_down().await.expect("stopped cleanly");
    }
}

/// A process that died holding the lease (it never released it) keeps the sweep from
/// running until its lease lapses; then a live process takes it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_lease_is_taken_over_once_it_lapses() {
    let store = MemoryStore::new();
    let lease = Duration::from_secs(4);
    let taken = Instant::now();
    assert!(store
        .acquire(
            orderflow::sweeper::SWEEP_LEASE,
            "a-process-that-died",
            lease,
            chrono::Utc::now()
        )
        .await
        .unwrap());
    let queue: Arc<dyn Queue> = Arc::new(orderflow_adapter_memory::MemoryQueue::new(
        Duration::from_secs(30),
        5,
    ));
    let live = Process::start(&store, queue).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let early = live.store.sweep_reads();
    let elapsed = taken.elapsed();
    assert!(
        elapsed < lease,
        "the test machine was too slow to look before the lease lapsed ({elapsed:?})"
    );
    assert_eq!(early, 0, "swept while the dead process's lease held");
    tokio::time::sleep(lease.saturating_sub(taken.elapsed()) + Duration::from_millis(1500)).await;
    assert!(
        live.store.sweep_reads() > 0,
        "never took the lapsed lease over"
    );
    live.shut_down().await.expect("stopped cleanly");
}

/// A sweep stuck on a store that stopped answering does not hold up shutdown: the
/// sweep runs outside the work shutdown waits for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_stuck_sweep() {
    let store = MemoryStore::new();
    let queue: Arc<dyn Queue> = Arc::new(orderflow_adapter_memory::MemoryQueue::new(
        Duration::from_secs(30),
        5,
    ));
    let p = Process::start(&store, queue).await;
    p.store.hang_sweeps(true);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(p.store.sweep_reads() > 0, "a sweep started");
    let outcome = p.shut_down().await;
    outcome.expect("stopped cleanly, within the grace period");
}

/// A login ended through one process (logout) ends its access token on another
/// within `auth.revocation_check_ms`, with no store read per request there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_ended_on_one_process_ends_its_access_token_on_the_others() {
    let store = MemoryStore::new();
    let queue: Arc<dyn Queue> = Arc::new(orderflow_adapter_memory::MemoryQueue::new(
        Duration::from_secs(30),
        5,
    ));
    let fast_reads = |c: &mut orderflow::config::Config| c.auth.revocation_check_ms = 1000;
    let a = Process::start_with(&store, queue.clone(), fast_reads).await;
    let b = Process::start_with(&store, queue, fast_reads).await;
    let http = reqwest::Client::new();
    let call = |addr: std::net::SocketAddr,
                path: &str,
                token: Option<&str>,
                body: Option<serde_json::Value>| {
        let mut r = match &body {
            Some(_) => http.post(format!("http://{addr}{path}")),
            None => http.get(format!("http://{addr}{path}")),
        };
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let res = r.send().await.expect("request");
            let status = res.status();
            (
                status,
                res.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let creds = serde_json::json!({"email": "fleet@example.com", "password": "a-strong-password"});
    let (status, _) = call(a.addr, "/api/auth/register", None, Some(creds.clone())).await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let (status, pair) = call(a.addr, "/api/auth/login", None, Some(creds)).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let (status, _) = call(b.addr, "/api/auth/me", Some(&access), None).await;
    assert_eq!(status, reqwest::StatusCode::OK, "one fleet, one token");

    let (status, _) = call(
        a.addr,
        "/api/auth/logout",
        None,
        Some(serde_json::json!({"refresh_token": pair["refresh_token"]})),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    let (status, _) = call(a.addr, "/api/auth/me", Some(&access), None).await;
    assert_eq!(
        status,
        reqwest::StatusCode::UNAUTHORIZED,
        "at once where it ended"
    );
    let ended = Instant::now();
    let mut refused_after = None;
    while ended.elapsed() < Duration::from_secs(10) {
        let (status, _) = call(b.addr, "/api/auth/me", Some(&access), None).await;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            refused_after = Some(ended.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused_after =
        refused_after.expect("the other process still accepts the ended login's token after 10 s");
    assert!(
        refused_after < Duration::from_secs(3),
        "a 1 s check interval took {refused_after:?}"
    );
    a.shut_down().await.expect("stopped cleanly");
    b.shut_down().await.expect("stopped cleanly");
}
