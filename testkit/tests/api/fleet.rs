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
    /// Its store handle, which counts the sweep's reads.
    store: SwitchableStore,
    stop: Option<oneshot::Sender<()>>,
    run: JoinHandle<anyhow::Result<()>>,
}

impl Process {
    async fn start(store: &MemoryStore, queue: Arc<dyn Queue>) -> Self {
        let config = test_config(|c| {
            c.relay.sweep_interval_ms = 100;
            c.relay.sweep_lease_secs = 2;
            c.relay.sweep_age_secs = 0;
            c.http.drain_delay_ms = 0;
            c.http.shutdown_grace_ms = 2000;
        });
        let mut adapters =
            memory_adapters(&config, store, queue, Arc::new(RecordingMailer::default()));
        let switch = SwitchableStore::new(adapters.orders.clone(), adapters.inventory.clone());
        adapters.orders = Arc::new(switch.clone());
        adapters.inventory = Arc::new(switch.clone());
        let app = Application::build_with(config, Role::Api, Some(adapters))
            .await
            .expect("the application builds");
        let (stop, stopped) = oneshot::channel::<()>();
        let run = tokio::spawn(app.run_until_stopped(
            async {
                let _ = stopped.await;
            },
            Background::Run,
        ));
        Self {
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
