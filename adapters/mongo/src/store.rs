use crate::docs::{OrderDoc, ProductDoc, SessionDoc, UserDoc};
use mongodb::bson::doc;
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use orderflow_core::ports::{CallMeter, NoMeter};
use orderflow_core::retry::Permanent;
use orderflow_core::BoxError;
use std::future::IntoFuture;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: String,
    pub database: String,
    /// How long to look for a usable server before failing a call.
    pub server_selection_timeout: Duration,
    pub connect_timeout: Duration,
    /// An upper bound on any one call,
    /// so that no request hangs on a stalled connection.
    pub operation_timeout: Duration,
    /// Bound on a batch's settlement with its retries.
    pub transaction_timeout: Duration,
}

/// The store ports on one MongoDB database. Cheap to clone.
#[derive(Clone)]
pub struct MongoStore {
    pub(crate) db: Database,
    pub(crate) users: Collection<UserDoc>,
    pub(crate) sessions: Collection<SessionDoc>,
    pub(crate) orders: Collection<OrderDoc>,
    pub(crate) products: Collection<ProductDoc>,
    pub(crate) leases: Collection<mongodb::bson::Document>,
    pub(crate) resets: Collection<crate::resets::ResetDoc>,
    pub(crate) webhooks: Collection<crate::webhooks::WebhookDoc>,
    pub(crate) webhook_lanes: Collection<mongodb::bson::Document>,
    pub(crate) webhook_attempts: Collection<crate::webhooks::AttemptDoc>,
    pub(crate) op_timeout: Duration,
    pub(crate) txn_timeout: Duration,
    pub(crate) meter: std::sync::Arc<dyn CallMeter>,
}

impl MongoStore {
    /// Connects and makes sure every index exists (idempotent; safe from many
    /// processes at once).
    pub async fn connect(s: &MongoSettings) -> Result<Self, BoxError> {
        Self::connect_metered(s, std::sync::Arc::new(NoMeter)).await
    }

    /// `connect`, counting every command sent (and every settlement try retried because
    /// the stock moved under it) on `meter`.
    pub async fn connect_metered(
        s: &MongoSettings,
        meter: std::sync::Arc<dyn CallMeter>,
    ) -> Result<Self, BoxError> {
        let mut options = ClientOptions::parse(&s.uri).await.map_err(start_error)?;
        options.command_event_handler = Some(crate::metering::command_counter(meter.clone()));
        options.server_selection_timeout = Some(s.server_selection_timeout);
        options.connect_timeout = Some(s.connect_timeout);
        options.app_name = Some("orderflow".into());
        let client = Client::with_options(options).map_err(start_error)?;
        let db = client.database(&s.database);
        let store = Self {
            users: db.collection("users"),
            sessions: db.collection("sessions"),
            orders: db.collection("orders"),
            products: db.collection("products"),
            leases: db.collection("leases"),
            resets: db.collection("password_resets"),
            webhooks: db.collection("webhooks"),
            webhook_lanes: db.collection("webhook_lanes"),
            webhook_attempts: db.collection("webhook_attempts"),
            db,
            op_timeout: s.operation_timeout,
            txn_timeout: s.transaction_timeout,
            meter,
        };
        store
            .bounded(async { store.create_indexes().await.map_err(start_error) })
            .await?;
        Ok(store)
    }

    /// Every collection's indexes, one `createIndexes` command per collection (the
    /// server skips those that exist).
    async fn create_indexes(&self) -> Result<(), mongodb::error::Error> {
        for (collection, models) in self.indexes() {
            self.db
                .collection::<mongodb::bson::Document>(collection)
                .create_indexes(models)
                .await?;
        }
        Ok(())
    }

    /// The indexes, by collection, and what needs each.
    fn indexes(&self) -> Vec<(&str, Vec<IndexModel>)> {
        let opts = IndexOptions::builder;
        let with = |keys, options| IndexModel::builder().keys(keys).options(options).build();
        let plain = |keys| IndexModel::builder().keys(keys).build();
        let partial = |keys, name: &str, filter| {
            with(
                keys,
                opts()
                    .partial_filter_expression(filter)
                    .name(name.to_owned())
                    .build(),
            )
        };
        let expiring =
            |field: &str, after| with(doc! {field: 1}, opts().expire_after(after).build());
        let mut orders = vec![
            // A customer's own orders, newest first.
            plain(doc! {"user_id": 1, "created_at": -1, "_id": -1}),
            with(
                doc! {"user_id": 1, "idempotency_key": 1},
                opts()
                    .unique(true)
                    .partial_filter_expression(doc! {"idempotency_key": {"$exists": true}})
                    .name("user_idempotency_key".to_owned())
                    .build(),
            ),
            // The relay's scan: unpublished orders, oldest first.
            partial(
                doc! {"created_at": 1, "_id": 1},
                "outbox",
                doc! {"published": false},
            ),
            // The sweep and the fleet gauges: pending orders, oldest first.
            partial(
                doc! {"created_at": 1, "_id": 1},
                "pending",
                doc! {"status": "pending"},
            ),
            // The due-email scan.
            partial(
                doc! {"notify_due_at": 1, "_id": 1},
                "owed_notifications",
                doc! {"notify_due_at": {"$exists": true}},
            ),
            // The fan-out reads the orders that still owe status changes, oldest first.
            partial(
                doc! {"hooks_owed": 1, "_id": 1},
                "webhook_fan_out",
                doc! {"hooks_owed": true},
            ),
            // With no endpoint, the settled orders' owed changes are forgotten: the
            // settlement (or cancel) marks them, so the forget never walks the backlog.
            partial(
                doc! {"hooks_owed_final": 1, "updated_at": 1},
                "webhook_forget",
                doc! {"hooks_owed_final": true},
            ),
        ];
        orders.extend(
            crate::order_search::DESK_INDEXES
                .iter()
                .map(|(name, leading)| {
                    with(
                        crate::order_search::desk_keys(leading),
                        opts().name((*name).to_owned()).build(),
                    )
                }),
        );
        vec![
            (
                self.users.name(),
                vec![with(doc! {"email": 1}, opts().unique(true).build())],
            ),
            (
                self.sessions.name(),
                vec![
                    plain(doc! {"current": 1}),
                    plain(doc! {"previous": 1}),
                    // A password or role change ends every login of one user.
                    plain(doc! {"user_id": 1}),
                    // Every process reads the recent revocations every
                    // auth.revocation_check_ms; only revoked families carry the field.
                    with(doc! {"revoked_at": 1}, opts().sparse(true).build()),
                ],
            ),
            (self.orders.name(), orders),
            (
                self.resets.name(),
                vec![
                    // Redeeming one token ends the user's others; expired ones go by
                    // themselves.
                    plain(doc! {"user_id": 1}),
                    expiring("expires_at", Duration::ZERO),
                ],
            ),
            (
                self.webhook_lanes.name(),
                vec![plain(doc! {"due_at": 1}), plain(doc! {"webhook": 1})],
            ),
            (
                self.webhook_attempts.name(),
                vec![
                    plain(doc! {"webhook": 1, "_id": -1}),
                    expiring("at", crate::webhooks::ATTEMPTS_KEPT),
                ],
            ),
        ]
    }

    /// Runs `f` with the operation timeout; a timeout is an `Unavailable` like any
    /// other driver failure.
    pub(crate) async fn bounded<T, E>(
        &self,
        f: impl IntoFuture<Output = Result<T, E>>,
    ) -> Result<T, BoxError>
    where
        E: Into<BoxError>,
    {
        match tokio::time::timeout(self.op_timeout, f).await {
            Ok(r) => r.map_err(Into::into),
            Err(_) => Err(format!("mongodb call exceeded {:?}", self.op_timeout).into()),
        }
    }

    /// Drops the whole database: for tests that made their own.
    pub async fn drop_database(&self) -> Result<(), BoxError> {
        self.bounded(self.db.drop()).await
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), BoxError> {
        self.bounded(self.db.run_command(doc! {"ping": 1}))
            .await
            .map(|_| ())
    }
}

/// A `ping` round trip, bounded by the operation timeout.
#[async_trait::async_trait]
impl orderflow_core::ports::Health for MongoStore {
    async fn health(&self) -> Result<(), BoxError> {
        self.ping().await
    }
}

/// A connection error, marked `Permanent` when waiting cannot help: a malformed URI or
/// option, refused credentials (server codes 18, AuthenticationFailed, and 13,
/// Unauthorized).
pub(crate) fn start_error(e: mongodb::error::Error) -> BoxError {
    let permanent = match e.kind.as_ref() {
        ErrorKind::InvalidArgument { .. } | ErrorKind::Authentication { .. } => true,
        ErrorKind::Command(c) => matches!(c.code, 13 | 18),
        _ => false,
    };
    if permanent {
        Permanent::boxed(e)
    } else {
        e.into()
    }
}
