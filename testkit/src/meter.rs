//! A `CallMeter` that remembers what it was told, for tests of the adapters' counts.

use orderflow_core::ports::CallMeter;
use parking_lot::Mutex;
use std::collections::BTreeMap;

/// Counts by key: `store <command> <collection>`, `store-failure <command>`,
/// `store-conflict`, `queue <action>`, `queue-failure <action>`.
#[derive(Default)]
pub struct CountingMeter(Mutex<BTreeMap<String, u64>>);

impl CountingMeter {
    fn add(&self, key: String) {
        *self.0.lock().entry(key).or_default() += 1;
    }

    /// How often `key` was counted.
    pub fn count(&self, key: &str) -> u64 {
        self.0.lock().get(key).copied().unwrap_or(0)
    }

    /// Everything counted so far, for a failing assertion's message.
    pub fn all(&self) -> BTreeMap<String, u64> {
        self.0.lock().clone()
    }

    /// Forgets the counts so far.
    pub fn reset(&self) {
        self.0.lock().clear();
    }
}

impl CallMeter for CountingMeter {
    fn store_command(&self, command: &str, collection: &str) {
        self.add(format!("store {command} {collection}"));
    }
    fn store_failure(&self, command: &str) {
        self.add(format!("store-failure {command}"));
    }
    fn store_conflict_retry(&self) {
        self.add("store-conflict".to_owned());
    }
    fn queue_request(&self, action: &str) {
        self.add(format!("queue {action}"));
    }
    fn queue_failure(&self, action: &str) {
        self.add(format!("queue-failure {action}"));
    }
}
