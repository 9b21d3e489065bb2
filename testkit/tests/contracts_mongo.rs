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
    mongo_with(database, Duration::from_secs(30)).await
}

async fn mongo_with(database: &str, operation_timeout: Duration) -> Option<MongoStore> {
    let uri = mongo_url().await?;
    let settings = MongoSettings {
        uri,
        database: database.to_owned(),
        server_selection_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        operation_timeout,
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

/// A store on a database of its own (calls bounded by `operation_timeout`), with
/// `n` orders each owing a webhook event for an hour (what `forget_owed` looks for),
/// and a client of its own on the orders, for transactions the store knows nothing of.
struct OwingOrders {
    store: MongoStore,
    client: mongodb::Client,
    orders: mongodb::Collection<mongodb::bson::Document>,
    ids: Vec<orderflow_core::domain::OrderId>,
}

impl OwingOrders {
    /// `n` orders in `status` that owe webhook events (for an hour).
    async fn new(n: u32, status: &str, operation_timeout: Duration) -> Option<Self> {
        use mongodb::bson::{doc, DateTime};
        use orderflow_core::ports::{InventoryRepo, Orders};
        use orderflow_testkit::contracts::fixtures;

        let database = unique("orderflow-test").replace('-', "_");
        let store = mongo_with(&database, operation_timeout).await?;
        let product = fixtures::product("HELD", 100, 50);
        InventoryRepo::insert(&store, &product).await.unwrap();
        let client = mongodb::Client::with_uri_str(mongo_url().await?)
            .await
            .unwrap();
        let orders = client.database(&database).collection("orders");
        let an_hour_ago = DateTime::from_millis(DateTime::now().timestamp_millis() - 3_600_000);
        let user = orderflow_core::domain::UserId::new();
        let mut ids = Vec::new();
        for q in 1..=n {
            let o = fixtures::order(user, &[(&product, q)]);
            Orders::insert(&store, &o).await.unwrap();
            orders
                .update_one(
                    doc! {"_id": o.id.to_string()},
                    doc! {"$set": {
                        "status": status,
                        "hooks_owed": true,
                        "hooks_owed_final": status != "pending",
                        "updated_at": an_hour_ago,
                    }},
                )
                .await
                .unwrap();
            ids.push(o.id);
        }
        Some(Self {
            store,
            client,
            orders,
            ids,
        })
    }

    /// A transaction that has written order `i` (as a settlement does) and not ended.
    async fn hold(&self, i: usize, by: &str) -> mongodb::ClientSession {
        let mut s = self.client.start_session().await.unwrap();
        s.start_transaction().await.unwrap();
        self.orders
            .update_one(
                mongodb::bson::doc! {"_id": self.ids[i].to_string()},
                mongodb::bson::doc! {"$set": {"settled_by": by}},
            )
            .session(&mut s)
            .await
            .unwrap();
        s
    }

    async fn get(&self, i: usize) -> mongodb::bson::Document {
        self.orders
            .find_one(mongodb::bson::doc! {"_id": self.ids[i].to_string()})
            .await
            .unwrap()
            .unwrap()
    }
}

/// Writes to many orders at once (the relay marking a batch published, forgetting
/// webhook events nobody wants, …) run while workers settle some of those orders in
/// transactions. They may wait for a settlement, never hold one up: a server may hold
/// the whole collection while a multi-document update retries a conflict with a
/// transaction (secantusdb does), and then the settlement's commit waits behind a
/// second settlement's write, which waits behind the update, which waits for the
/// commit. `write` gets the settling order and one nobody holds.
async fn never_holds_up_a_settlement<F, Fut>(status: &str, write: F)
where
    F: FnOnce(MongoStore, orderflow_core::domain::OrderId, orderflow_core::domain::OrderId) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let Some(t) = OwingOrders::new(3, status, Duration::from_secs(30)).await else {
        return;
    };
    // A settlement that has written its order and is about to commit.
    let mut first = t.hold(0, "first").await;
    let written = tokio::spawn(write(t.store.clone(), t.ids[0], t.ids[1]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Another settlement, writing its own order meanwhile.
    let second = {
        let t = &t;
        async move {
            let mut s = t.hold(2, "second").await;
            s.commit_transaction().await
        }
    };
    let (second, committed) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(10), second),
        async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            tokio::time::timeout(Duration::from_secs(10), first.commit_transaction()).await
        }
    );
    assert!(
        matches!(committed, Ok(Ok(()))),
        "the settlement's commit was held up: {committed:?}"
    );
    assert!(
        matches!(second, Ok(Ok(()))),
        "the second settlement was held up: {second:?}"
    );
    let written = tokio::time::timeout(Duration::from_secs(10), written).await;
    assert!(
        matches!(written, Ok(Ok(Ok(())))),
        "the write did not finish after the settlements: {written:?}"
    );
    for (i, by) in [(0, "first"), (2, "second")] {
        assert_eq!(t.get(i).await.get_str("settled_by"), Ok(by));
    }
    t.store.drop_database().await.unwrap();
}

#[tokio::test]
async fn forgetting_owed_webhook_events_never_holds_up_a_settlement() {
    // Forgetting writes settled orders only; a transaction holding one stands for any
    // write that may (and shows what would happen were it a settlement).
    never_holds_up_a_settlement("completed", |store, _, _| async move {
        use orderflow_core::ports::WebhookDeliveries;
        let forgotten = store
            .forget_owed(orderflow_testkit::contracts::fixtures::now())
            .await
            .map_err(|e| format!("{e:?}"))?;
        // The settling order, the one nobody holds, and the second settlement's.
        if forgotten != 3 {
            return Err(format!("forgot {forgotten} orders' events, not 3"));
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn marking_orders_published_never_holds_up_a_settlement() {
    never_holds_up_a_settlement("pending", |store, settling, other| async move {
        use orderflow_core::ports::Outbox;
        let before = store
            .count_unpublished(1000)
            .await
            .map_err(|e| format!("{e:?}"))?;
        store
            .mark_published(&[settling, other])
            .await
            .map_err(|e| format!("{e:?}"))?;
        let after = store
            .count_unpublished(1000)
            .await
            .map_err(|e| format!("{e:?}"))?;
        if before - after != 2 {
            return Err(format!("unpublished {before} before, {after} after"));
        }
        Ok(())
    })
    .await;
}

/// With no endpoint, the fan-out forgets owed events of settled orders only: a pending
/// order's settlement writes it anyway, and a write to it meanwhile would meet that
/// settlement's transaction (on MongoDB, abort it: a write conflict, the whole batch
/// tried again; on the stand-in, also wait for it).
#[tokio::test]
async fn forgetting_owed_webhook_events_leaves_pending_orders_to_their_settlement() {
    use orderflow_core::ports::WebhookDeliveries;
    let Some(t) = OwingOrders::new(2, "pending", Duration::from_secs(2)).await else {
        return;
    };
    let mut settling = t.hold(0, "settlement").await;
    let forgotten = t
        .store
        .forget_owed(orderflow_testkit::contracts::fixtures::now())
        .await;
    assert!(matches!(forgotten, Ok(0)), "{forgotten:?}");
    settling.commit_transaction().await.unwrap();
    for i in 0..2 {
        assert_eq!(t.get(i).await.get_bool("hooks_owed"), Ok(true));
    }
    t.store.drop_database().await.unwrap();
}

/// A worker killed inside its settlement leaves its order held until the server reaps
/// the transaction (a minute). A write to many orders that meets it gives up when its
/// caller does, on the server too: one still waiting there would apply after its
/// caller was told it failed, and the webhook fan-out, which forgets owed events four
/// times a second, left one more such write waiting each time, until they kept every
/// other write to the orders out (inserts timed out: 503s in the soak).
#[tokio::test]
async fn a_write_held_up_by_a_dead_settlement_ends_with_its_call() {
    use orderflow_core::ports::WebhookDeliveries;
    let Some(t) = OwingOrders::new(1, "completed", Duration::from_secs(1)).await else {
        return;
    };
    let mut dead = t.hold(0, "dead").await;
    let forgot = t
        .store
        .forget_owed(orderflow_testkit::contracts::fixtures::now())
        .await;
    assert!(forgot.is_err(), "{forgot:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The server reaps the transaction: here, it ends.
    dead.commit_transaction().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        t.get(0).await.get_bool("hooks_owed"),
        Ok(true),
        "the write the caller was told had failed was applied later"
    );
    t.store.drop_database().await.unwrap();
}

/// Every command the store sends is counted under its name and collection, the
/// settlement transaction's commit included, and a command that fails as a failure:
/// what `orderflow_store_commands_total` shows and `scripts/bench cost` divides by the
/// orders.
#[tokio::test]
async fn every_command_sent_is_counted_under_its_collection() {
    use orderflow_core::ports::{InventoryRepo, OrderSettlement, Orders};
    use orderflow_testkit::contracts::fixtures;
    use orderflow_testkit::meter::CountingMeter;

    let Some(uri) = mongo_url().await else {
        return;
    };
    let settings = MongoSettings {
        uri,
        database: unique("orderflow-test").replace('-', "_"),
        server_selection_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(30),
        transaction_timeout: Duration::from_secs(90),
    };
    let meter = Arc::new(CountingMeter::default());
    let store = MongoStore::connect_metered(&settings, meter.clone())
        .await
        .unwrap();
    // Each collection's indexes in one command.
    assert_eq!(
        meter.count("store createIndexes orders"),
        1,
        "{:?}",
        meter.all()
    );
    let client = mongodb::Client::with_uri_str(&settings.uri).await.unwrap();
    let names = client
        .database(&settings.database)
        .collection::<mongodb::bson::Document>("orders")
        .list_index_names()
        .await
        .unwrap();
    for name in [
        "user_idempotency_key",
        "outbox",
        "pending",
        "owed_notifications",
        "webhook_fan_out",
        "webhook_forget",
        "desk_recent",
        "desk_status",
        "desk_sku",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
    }

    let product = fixtures::product("METERED", 100, 5);
    InventoryRepo::insert(&store, &product).await.unwrap();
    let order = fixtures::order(orderflow_core::domain::UserId::new(), &[(&product, 1)]);
    meter.reset();
    Orders::insert(&store, &order).await.unwrap();
    assert_eq!(meter.count("store insert orders"), 1, "{:?}", meter.all());
    assert_eq!(meter.all().values().sum::<u64>(), 1, "{:?}", meter.all());

    meter.reset();
    store.fulfil(order.id, fixtures::now()).await.unwrap();
    assert!(
        meter.count("store update products") >= 1,
        "{:?}",
        meter.all()
    );
    assert_eq!(
        meter.count("store commitTransaction "),
        0,
        "{:?}",
        meter.all()
    );

    // A batch of ten settles in four commands, none a transaction: the orders read,
    // one statement taking the batch's whole want (and recording it as held), one
    // statement per order in one command, and the holds ended.
    let mut batch = Vec::new();
    for _ in 0..10 {
        let o = fixtures::order(orderflow_core::domain::UserId::new(), &[(&product, 1)]);
        Orders::insert(&store, &o).await.unwrap();
        batch.push(o.id);
    }
    InventoryRepo::update(&store, &product.sku, &fixtures::stock_change(100))
        .await
        .unwrap();
    meter.reset();
    let settled = store.fulfil_many(&batch, fixtures::now(), None).await;
    assert!(
        settled.iter().all(|f| f
            .as_ref()
            .is_ok_and(|f| f.outcome == orderflow_core::domain::FulfilmentOutcome::Completed)),
        "{settled:?}"
    );
    for (key, n) in [
        ("store find orders", 1),
        ("store update products", 2),
        ("store update orders", 1),
    ] {
        assert_eq!(meter.count(key), n, "{key}: {:?}", meter.all());
    }
    assert_eq!(meter.all().values().sum::<u64>(), 4, "{:?}", meter.all());

    // A command the server refuses is a failure too: a cancel that gives up waiting
    // for a settlement's transaction (its server-side time limit).
    let held_order = fixtures::order(orderflow_core::domain::UserId::new(), &[(&product, 1)]);
    Orders::insert(&store, &held_order).await.unwrap();
    let client = mongodb::Client::with_uri_str(mongo_url().await.unwrap())
        .await
        .unwrap();
    let orders = client
        .database(&settings.database)
        .collection::<mongodb::bson::Document>("orders");
    let mut held = client.start_session().await.unwrap();
    held.start_transaction().await.unwrap();
    orders
        .update_one(
            mongodb::bson::doc! {"_id": held_order.id.to_string()},
            mongodb::bson::doc! {"$set": {"updated_at": mongodb::bson::DateTime::now()}},
        )
        .session(&mut held)
        .await
        .unwrap();
    meter.reset();
    let busy = store
        .cancel(held_order.id, fixtures::now(), None, false)
        .await;
    assert!(busy.is_err(), "{busy:?}");
    assert_eq!(
        meter.count("store findAndModify orders"),
        1,
        "{:?}",
        meter.all()
    );
    assert_eq!(
        meter.count("store-failure findAndModify"),
        1,
        "{:?}",
        meter.all()
    );
    held.abort_transaction().await.unwrap();
    store.drop_database().await.unwrap();
}

/// A worker killed inside a settlement, after it took the stock (here: a product
/// document as such a worker leaves it, its units taken and held for two orders)
/// holds up no other settlement of the product, and loses nothing: the held order's
/// next delivery completes it without taking again, and a held order cancelled
/// meanwhile gets its units back. No transaction is left open for the server to reap.
#[tokio::test]
async fn a_dead_workers_settlement_holds_up_no_one_and_is_completed_from_its_holds() {
    use orderflow_core::domain::{FulfilmentOutcome, OrderStatus, UserId};
    use orderflow_core::ports::{InventoryRepo, OrderSettlement, Orders};
    use orderflow_testkit::contracts::fixtures;

    let database = unique("orderflow-test").replace('-', "_");
    let Some(store) = mongo_in(&database).await else {
        return;
    };
    let product = fixtures::product("HELD", 100, 10);
    InventoryRepo::insert(&store, &product).await.unwrap();
    let order = |q| fixtures::order(UserId::new(), &[(&product, q)]);
    let (held, cancelled, other) = (order(2), order(3), order(1));
    for o in [&held, &cancelled, &other] {
        Orders::insert(&store, o).await.unwrap();
    }
    let client = mongodb::Client::with_uri_str(mongo_url().await.unwrap())
        .await
        .unwrap();
    let products = client
        .database(&database)
        .collection::<mongodb::bson::Document>("products");
    let stock = || async {
        let p = products
            .find_one(mongodb::bson::doc! {"_id": "HELD"})
            .await
            .unwrap()
            .unwrap();
        let holds = p.get_document("holds").map(|h| h.len()).unwrap_or(0);
        (p.get_i64("stock").unwrap(), holds)
    };
    // The dead worker's take: 5 units, held for the two orders.
    let h = |o: &orderflow_core::domain::Order| format!("holds.{}", o.id);
    products
        .update_one(
            mongodb::bson::doc! {"_id": "HELD"},
            mongodb::bson::doc! {
                "$inc": {"stock": -5},
                "$set": {h(&held): 2_i64, h(&cancelled): 3_i64},
            },
        )
        .await
        .unwrap();
    store
        .cancel(cancelled.id, fixtures::now(), None, false)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let settled = store.fulfil_many(&[other.id], fixtures::now(), None).await;
    assert!(
        matches!(&settled[0], Ok(f) if f.outcome == FulfilmentOutcome::Completed),
        "{settled:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stock().await, (4, 2), "the other order took its own unit");

    // The held orders are delivered again.
    let again = store
        .fulfil_many(&[held.id, cancelled.id], fixtures::now(), None)
        .await;
    assert!(
        matches!(&again[0], Ok(f) if f.outcome == FulfilmentOutcome::Completed
            && f.order.status == OrderStatus::Completed),
        "{again:?}"
    );
    assert!(
        matches!(&again[1], Ok(f) if f.outcome == FulfilmentOutcome::AlreadyFinal),
        "{again:?}"
    );
    assert_eq!(
        stock().await,
        (7, 0),
        "the held order's units used, the cancelled one's given back, no hold left"
    );
    // Once more: nothing changes.
    let thrice = store
        .fulfil_many(&[held.id, cancelled.id], fixtures::now(), None)
        .await;
    assert!(thrice
        .iter()
        .all(|f| matches!(f, Ok(f) if f.outcome == FulfilmentOutcome::AlreadyFinal)));
    assert_eq!(stock().await, (7, 0));
    store.drop_database().await.unwrap();
}
