//! One behavioural suite per port, written once and run against every adapter: same
//! tests, same assertions. Each suite is a set of `pub async fn`s plus a macro that
//! stamps them out as `#[tokio::test]`s for one adapter factory, e.g.
//!
//! ```text
//! orderflow_testkit::store_contract!(async { Some(my_store()) });
//! ```
//!
//! The factory is an async expression giving `Some(adapter)` with fresh, empty state,
//! or `None` to skip (a service that is not there; see `services`).

pub mod cache;
pub mod feed;
pub mod fixtures;
pub mod inventory;
pub mod leases;
pub mod limiter;
pub mod mailer;
pub mod notification_ledger;
pub mod orders;
pub mod outbox;
pub mod queue;
pub mod resets;
pub mod sessions;
pub mod settlement;
pub mod store;
pub mod users;
pub mod webhooks;

/// Stamps out one suite's tests for one adapter from a single list: each entry is the
/// test's attribute, its name in `contracts::$suite`, and for factories that take them
/// (the queue's visibility timeout and receive limit) the factory's arguments. It also
/// adds `every_contract_test_is_listed`, which fails when the suite defines a test the
/// list leaves out (that test would otherwise silently stop running everywhere).
#[macro_export]
macro_rules! contract_tests {
    ($suite:ident, $factory:expr; $( #[$test:meta] $name:ident $( ( $($arg:expr),* ) )? ),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let Some(adapter) = $crate::contract_adapter!($factory $(, $($arg),*)?) else {
                    return;
                };
                $crate::contracts::$suite::$name(adapter).await
            }
        )*

        #[test]
        fn every_contract_test_is_listed() {
            $crate::contracts::assert_every_test_listed(
                stringify!($suite),
                &[$(stringify!($name)),*],
            );
        }
    };
}

/// The adapter from a suite's factory: an async expression, or an async function of the
/// entry's arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! contract_adapter {
    ($factory:expr) => {
        $factory.await
    };
    ($factory:expr, $($arg:expr),+) => {
        $factory($($arg),+).await
    };
}

/// Each suite's source, read for the tests it defines.
const SUITES: &[(&str, &str)] = &[
    ("cache", include_str!("cache.rs")),
    ("leases", include_str!("leases.rs")),
    ("limiter", include_str!("limiter.rs")),
    ("queue", include_str!("queue.rs")),
    ("sessions", include_str!("sessions.rs")),
    ("orders", include_str!("orders.rs")),
    ("outbox", include_str!("outbox.rs")),
    (
        "notification_ledger",
        include_str!("notification_ledger.rs"),
    ),
    ("inventory", include_str!("inventory.rs")),
    ("settlement", include_str!("settlement.rs")),
    ("resets", include_str!("resets.rs")),
    ("feed", include_str!("feed.rs")),
    ("users", include_str!("users.rs")),
    ("webhooks", include_str!("webhooks.rs")),
];

/// Panics unless `listed` names every test `suite` defines: every `pub async fn` whose
/// one parameter is the adapter (`Arc<dyn …>`, the store's `Store`, or the feed's two
/// `Processes`).
pub fn assert_every_test_listed(suite: &str, listed: &[&str]) {
    let (_, source) = SUITES
        .iter()
        .find(|(name, _)| *name == suite)
        .unwrap_or_else(|| panic!("no contract suite named {suite}"));
    let defined: std::collections::BTreeSet<&str> = source
        .split("\npub async fn ")
        .skip(1)
        .filter_map(|rest| {
            let (name, after) = rest.split_once('(')?;
            let params = after.split_once(')')?.0;
            let one_adapter = !params.contains(',') || params.trim_end().ends_with(',');
            let adapter = ["Arc<dyn", "Store", "Processes"]
                .iter()
                .any(|t| params.contains(t));
            (one_adapter && adapter).then_some(name.trim())
        })
        .collect();
    let listed: std::collections::BTreeSet<&str> = listed.iter().copied().collect();
    let missing: Vec<&&str> = defined.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "the {suite} contract defines tests its macro does not run: {missing:?}"
    );
    assert!(
        !defined.is_empty(),
        "found no tests in the {suite} contract's source"
    );
}
