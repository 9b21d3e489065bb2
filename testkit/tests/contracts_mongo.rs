//! The store contracts against MongoDB (`ORDERFLOW_TEST_MONGO_URL`), one database per test.

use orderflow_adapter_mongo::{MongoSettings, MongoStore};
use orderflow_core::ports::{Leases, ResetTokens, SessionRepo, UserRepo};
use orderflow_testkit::contracts::store::Store;
use orderflow_testkit::services::{mongo_url, unique};
use std::sync::Arc;
use std::time::Duration;

async fn mongo() -> Option<MongoStore> {
    mongo_in(&unique("orderflow-test").replace('-', "_")).await
}

async fn mongo_in(database: &str) -> Option<MongoStore> {
    let uri = mongo_url().await?;
    let settings = MongoSettings {
        uri,
        database: database.to_owned(),
        server_selection_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(30),
        transaction_timeout: Duration::from_secs(90),
    };
    Some(
        MongoStore::connect(&settings)
            .await
            .expect("connect to the test MongoDB"),
    )
}

async fn users() -> Option<Arc<dyn UserRepo>> {
    Some(Arc::new(mongo().await?))
}
async fn sessions() -> Option<Arc<dyn SessionRepo>> {
    Some(Arc::new(mongo().await?))
}
async fn leases() -> Option<Arc<dyn Leases>> {
    Some(Arc::new(mongo().await?))
}
async fn resets() -> Option<Arc<dyn ResetTokens>> {
    Some(Arc::new(mongo().await?))
}
async fn store() -> Option<Store> {
    let m = mongo().await?;
    Some(Store::of(m))
}

orderflow_testkit::user_repo_contract!(users());
orderflow_testkit::session_repo_contract!(sessions());
orderflow_testkit::orders_contract!(store());
orderflow_testkit::outbox_contract!(store());
orderflow_testkit::notification_ledger_contract!(store());
orderflow_testkit::inventory_contract!(store());
orderflow_testkit::settlement_contract!(store());
orderflow_testkit::leases_contract!(leases());
orderflow_testkit::reset_tokens_contract!(resets());
async fn webhook_store() -> Option<orderflow_testkit::contracts::webhooks::WebhookStore> {
    let m = mongo().await?;
    Some(orderflow_testkit::contracts::webhooks::WebhookStore {
        endpoints: Arc::new(m.clone()),
        deliveries: Arc::new(m.clone()),
        store: Store::of(m),
    })
}
orderflow_testkit::webhooks_contract!(webhook_store());

/// A worker killed inside its settlement transaction leaves the order locked until the
/// server reaps the transaction (a minute). A cancel meanwhile answers `Busy` after a
/// moment instead of queueing behind the lock until its call times out (a 503 in the
/// soak); once the lock is gone, the cancel goes through.
#[tokio::test]
async fn a_cancel_of_an_order_a_dead_settlement_holds_is_busy_not_stuck() {
    use orderflow_core::ports::{InventoryRepo, OrderRepoError, Orders};
    use orderflow_testkit::contracts::fixtures;

    let database = unique("orderflow-test").replace('-', "_");
    let Some(store) = mongo_in(&database).await else {
        return;
    };
    let product = fixtures::product("BUSY", 100, 5);
    InventoryRepo::insert(&store, &product).await.unwrap();
    let order = fixtures::order(orderflow_core::domain::UserId::new(), &[(&product, 1)]);
    Orders::insert(&store, &order).await.unwrap();

    // The dead worker: a transaction that wrote the order and never ends.
    let client = mongodb::Client::with_uri_str(mongo_url().await.unwrap())
        .await
        .unwrap();
    let orders = client
        .database(&database)
        .collection::<mongodb::bson::Document>("orders");
    let mut held = client.start_session().await.unwrap();
    held.start_transaction().await.unwrap();
    let r = orders
        .update_one(
            mongodb::bson::doc! {"_id": order.id.to_string()},
            mongodb::bson::doc! {"$set": {"updated_at": mongodb::bson::DateTime::now()}},
        )
        .session(&mut held)
        .await
        .unwrap();
    assert_eq!(r.matched_count, 1);

    let started = std::time::Instant::now();
    let busy = store.cancel(order.id, fixtures::now(), None, false).await;
    assert!(
        matches!(busy, Err(OrderRepoError::Busy)),
        "{busy:?} after {:?}",
        started.elapsed()
    );

    held.abort_transaction().await.unwrap();
    let cancelled = store
        .cancel(order.id, fixtures::now(), None, false)
        .await
        .unwrap();
    assert_eq!(
        cancelled.status,
        orderflow_core::domain::OrderStatus::Cancelled
    );
    store.drop_database().await.unwrap();
}

/// The order desk answers each of its filters from an index, never by scanning the
/// orders (the plans the README shows). Where two indexes fit, the planner may take
/// either: pending orders have a partial index of their own (the relay's sweep's).
#[tokio::test]
async fn every_order_desk_filter_is_answered_from_an_index() {
    use orderflow_core::domain::{OrderSearch, OrderStatus, Sku, UserId};
    let Some(store) = mongo().await else {
        return;
    };
    let t = chrono::Utc::now();
    let status = |s| OrderSearch {
        status: Some(s),
        ..OrderSearch::default()
    };
    let cases: [(OrderSearch, &[&str]); 6] = [
        (OrderSearch::default(), &["desk_recent"]),
        (status(OrderStatus::Completed), &["desk_status"]),
        (status(OrderStatus::Pending), &["desk_status", "pending"]),
        (
            OrderSearch {
                sku: Some(Sku::parse("SKU-1").unwrap()),
                ..OrderSearch::default()
            },
            &["desk_sku"],
        ),
        (
            OrderSearch {
                user_id: Some(UserId::new()),
                ..OrderSearch::default()
            },
            &["user_id_1_created_at_-1__id_-1"],
        ),
        (
            OrderSearch {
                created_from: Some(t - chrono::Duration::days(1)),
                created_to: Some(t),
                ..OrderSearch::default()
            },
            &["desk_recent"],
        ),
    ];
    for (filter, fitting) in cases {
        let used = store
            .search_plan_indexes(&filter)
            .await
            .expect("explain answers");
        assert!(
            used.len() == 1 && fitting.contains(&used[0].as_str()),
            "{filter:?}: the plan uses {used:?}, not one of {fitting:?}"
        );
    }
}
