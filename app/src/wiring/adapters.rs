//! Adapters from configuration: one per port, and the readiness probe of each that
//! reaches a service.

use crate::config::{CacheKind, Config, MailerKind, QueueKind, SmtpTls, StoreKind};
use crate::health::Probe;
use crate::until_up::until_up;
use anyhow::Context;
use orderflow_adapter_auth::{
    Argon2Hasher, Argon2Settings, HmacSigner, JwtIssuer, JwtKey, JwtSettings,
};
use orderflow_adapter_http::{HttpSender, HttpSenderSettings};
use orderflow_adapter_memory::{
    LogMailer, MemoryCache, MemoryFeed, MemoryLimiter, MemoryQueue, MemoryStore, NoCache,
};
use orderflow_adapter_mongo::{MongoSettings, MongoStore};
use orderflow_adapter_redis::{RedisCache, RedisConn, RedisFeed, RedisLimiter, RedisSettings};
use orderflow_adapter_ses::{SesMailer, SesSettings};
use orderflow_adapter_smtp::{FileMailer, SmtpMailer, SmtpSettings, Tls};
use orderflow_adapter_sqs::{SqsQueue, SqsSettings};
use orderflow_core::ports::{
    Cache, CallMeter, Clock, Health, InventoryRepo, Leases, Mailer, NotificationLedger, OrderFeed,
    OrderSettlement, Orders, Outbox, PasswordHasher, Queue, RateLimiter, ResetTokens, SessionRepo,
    SystemClock, TokenIssuer, UserRepo, WebhookDeliveries, WebhookEndpoints, WebhookSender,
    WebhookSigner,
};
use std::sync::Arc;
use std::time::Duration;

/// One adapter per port.
#[derive(Clone)]
pub struct Adapters {
    pub store: StorePorts,
    pub cache: Arc<dyn Cache>,
    /// Tells every process that an order changed (live status streams listen).
    pub feed: Arc<dyn OrderFeed>,
    pub queue: Arc<dyn Queue>,
    pub mailer: Arc<dyn Mailer>,
    pub tokens: Arc<dyn TokenIssuer>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Arc<dyn RateLimiter>,
    /// Posts webhook events; signs them.
    pub webhook_sender: Arc<dyn WebhookSender>,
    pub signer: Arc<dyn WebhookSigner>,
    /// Readiness checks of the outside dependencies (none for in-memory adapters).
    pub probes: Vec<Probe>,
}

impl Adapters {
    /// The adapters the configuration names; those that reach a billed service count
    /// their requests on `meter`.
    pub async fn from_config(c: &Config, meter: Arc<dyn CallMeter>) -> anyhow::Result<Self> {
        let mut probes = Vec::new();
        let store = store_ports(c, &meter, &mut probes).await?;
        let redis = redis_conn(c)?;
        let feed = order_feed(redis.as_ref());
        let (cache, limiter) = cache_and_limiter(c, redis, &mut probes);
        let needs_aws = c.adapters.queue == QueueKind::Sqs || c.adapters.mailer == MailerKind::Ses;
        let sdk = if needs_aws {
            Some(crate::aws::sdk_config(&c.aws).await)
        } else {
            None
        };
        let queue = queue(c, sdk.as_ref(), &meter, &mut probes).await?;
        let mailer = mailer(c, sdk.as_ref(), &mut probes).await?;
        Ok(Self {
            store,
            cache,
            feed,
            queue,
            mailer,
            tokens: Arc::new(jwt_issuer(c)?),
            hasher: Arc::new(argon2_hasher(c)?),
            clock: Arc::new(SystemClock),
            limiter,
            webhook_sender: Arc::new(webhook_sender(c)?),
            signer: Arc::new(HmacSigner),
            probes,
        })
    }
}

/// A readiness check that asks the port itself.
fn probe<P: Health + ?Sized + 'static>(name: &'static str, critical: bool, port: Arc<P>) -> Probe {
    Probe::new(name, critical, move || {
        let port = port.clone();
        async move { port.health().await }
    })
}

async fn store_ports(
    c: &Config,
    meter: &Arc<dyn CallMeter>,
    probes: &mut Vec<Probe>,
) -> anyhow::Result<StorePorts> {
    Ok(match c.adapters.store {
        StoreKind::Memory => StorePorts::of(MemoryStore::new()),
        StoreKind::Mongo => {
            let settings = mongo_settings(c);
            let m = until_up("mongo (connect and create indexes)", || {
                MongoStore::connect_metered(&settings, meter.clone())
            })
            .await?;
            let store = StorePorts::of(m);
            probes.push(probe("store", true, store.orders.clone()));
            store
        }
    })
}

fn redis_conn(c: &Config) -> anyhow::Result<Option<RedisConn>> {
    if c.adapters.cache != CacheKind::Redis {
        return Ok(None);
    }
    let conn = RedisConn::new(RedisSettings {
        url: c.redis.url.expose().to_owned(),
        key_prefix: c.redis.key_prefix.clone(),
        timeout: Duration::from_millis(c.redis.timeout_ms),
    })
    .context("redis.url")?;
    Ok(Some(conn))
}

/// The order feed: over Redis whenever it is configured, so a change made by any
/// process reaches streams held by every other; otherwise within this process (other
/// processes' changes then show at each stream's recheck).
fn order_feed(redis: Option<&RedisConn>) -> Arc<dyn OrderFeed> {
    match redis {
        Some(conn) => Arc::new(RedisFeed::start(conn.clone())),
        None => Arc::new(MemoryFeed::default()),
    }
}

/// The cache, and the limiter: throttling counts must be shared by every process when
/// they can be, so Redis holds them whenever it is configured.
fn cache_and_limiter(
    c: &Config,
    redis: Option<RedisConn>,
    probes: &mut Vec<Probe>,
) -> (Arc<dyn Cache>, Arc<dyn RateLimiter>) {
    match redis {
        Some(conn) => {
            let cache: Arc<dyn Cache> = Arc::new(RedisCache::new(conn.clone()));
            probes.push(probe("cache", false, cache.clone()));
            (cache, Arc::new(RedisLimiter::new(conn)))
        }
        None => {
            let cache: Arc<dyn Cache> = match c.adapters.cache {
                CacheKind::Memory => Arc::new(MemoryCache::new(c.cache.max_entries)),
                _ => Arc::new(NoCache),
            };
            (cache, Arc::new(MemoryLimiter::default()))
        }
    }
}

async fn queue(
    c: &Config,
    sdk: Option<&aws_config::SdkConfig>,
    meter: &Arc<dyn CallMeter>,
    probes: &mut Vec<Probe>,
) -> anyhow::Result<Arc<dyn Queue>> {
    let (QueueKind::Sqs, Some(sdk)) = (c.adapters.queue, sdk) else {
        return Ok(Arc::new(memory_queue(c)));
    };
    let settings = sqs_settings(c);
    let q: Arc<dyn Queue> = Arc::new(
        until_up("sqs (resolve or create the queues)", || {
            SqsQueue::connect_metered(sdk, settings.clone(), meter.clone())
        })
        .await?,
    );
    // Orders are still accepted without the queue (the relay catches up): degraded,
    // not unready.
    probes.push(probe("queue", false, q.clone()));
    Ok(q)
}

async fn mailer(
    c: &Config,
    sdk: Option<&aws_config::SdkConfig>,
    probes: &mut Vec<Probe>,
) -> anyhow::Result<Arc<dyn Mailer>> {
    let mailer: Arc<dyn Mailer> = match (c.adapters.mailer, sdk) {
        (MailerKind::File, _) => {
            Arc::new(FileMailer::new(&c.mail.dir, &c.mail.from).map_err(anyhow::Error::msg)?)
        }
        (MailerKind::Log, _) => return Ok(Arc::new(LogMailer)),
        (MailerKind::Smtp, _) => Arc::new(smtp_mailer(c)?),
        (MailerKind::Ses, Some(sdk)) => Arc::new(ses_mailer(c, sdk).await?),
        (MailerKind::Ses, None) => {
            anyhow::bail!("adapters.mailer = \"ses\" needs the [aws] section")
        }
    };
    // Orders still settle while mail is down (their emails stay owed): degraded, not
    // unready.
    probes.push(probe("mailer", false, mailer.clone()));
    Ok(mailer)
}

async fn ses_mailer(c: &Config, sdk: &aws_config::SdkConfig) -> anyhow::Result<SesMailer> {
    let m = SesMailer::new(
        sdk,
        SesSettings {
            from: c.ses.from.clone(),
            configuration_set: c.ses.configuration_set.clone(),
            timeout: Duration::from_millis(c.mail.send_timeout_ms),
        },
    );
    if c.ses.create_identity {
        m.create_identity()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("ses.create_identity")?;
    }
    Ok(m)
}

/// The store ports. `of` backs them all with one store; a test may swap one.
#[derive(Clone)]
pub struct StorePorts {
    pub users: Arc<dyn UserRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub orders: Arc<dyn Orders>,
    pub outbox: Arc<dyn Outbox>,
    pub ledger: Arc<dyn NotificationLedger>,
    pub inventory: Arc<dyn InventoryRepo>,
    pub settlement: Arc<dyn OrderSettlement>,
    /// Work one process of the fleet does at a time (the sweep) is held here.
    pub leases: Arc<dyn Leases>,
    pub resets: Arc<dyn ResetTokens>,
    pub webhooks: Arc<dyn WebhookEndpoints>,
    pub deliveries: Arc<dyn WebhookDeliveries>,
}

impl StorePorts {
    pub fn of<S>(s: S) -> Self
    where
        S: UserRepo
            + SessionRepo
            + Orders
            + Outbox
            + NotificationLedger
            + InventoryRepo
            + OrderSettlement
            + Leases
            + ResetTokens
            + WebhookEndpoints
            + WebhookDeliveries
            + Clone
            + 'static,
    {
        Self {
            users: Arc::new(s.clone()),
            sessions: Arc::new(s.clone()),
            orders: Arc::new(s.clone()),
            outbox: Arc::new(s.clone()),
            ledger: Arc::new(s.clone()),
            inventory: Arc::new(s.clone()),
            settlement: Arc::new(s.clone()),
            leases: Arc::new(s.clone()),
            resets: Arc::new(s.clone()),
            webhooks: Arc::new(s.clone()),
            deliveries: Arc::new(s),
        }
    }
}

pub fn webhook_sender(c: &Config) -> anyhow::Result<HttpSender> {
    HttpSender::new(&HttpSenderSettings {
        timeout: Duration::from_millis(c.webhooks.timeout_ms),
        allow_private_networks: c.webhooks_may_reach_private_networks(),
    })
    .map_err(anyhow::Error::msg)
}

pub fn mongo_settings(c: &Config) -> MongoSettings {
    MongoSettings {
        uri: c.mongo.uri.expose().to_owned(),
        database: c.mongo.database.clone(),
        server_selection_timeout: Duration::from_millis(c.mongo.server_selection_timeout_ms),
        connect_timeout: Duration::from_millis(c.mongo.connect_timeout_ms),
        operation_timeout: Duration::from_millis(c.mongo.operation_timeout_ms),
        transaction_timeout: Duration::from_millis(c.mongo.transaction_timeout_ms),
    }
}

pub fn sqs_settings(c: &Config) -> SqsSettings {
    SqsSettings {
        queue_name: c.sqs.queue_name.clone(),
        dlq_name: c.sqs.dlq_name.clone(),
        create_queues: c.sqs.create_queues,
        visibility_timeout: Duration::from_millis(c.sqs.visibility_timeout_ms),
        max_receives: c.sqs.max_receives,
        call_timeout: Duration::from_millis(c.sqs.call_timeout_ms),
    }
}

pub fn smtp_mailer(c: &Config) -> anyhow::Result<SmtpMailer> {
    SmtpMailer::new(SmtpSettings {
        host: c.smtp.host.clone(),
        port: c.smtp.port,
        tls: match c.smtp.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::StartTls,
            SmtpTls::Tls => Tls::Tls,
        },
        credentials: c
            .smtp
            .username
            .clone()
            .zip(c.smtp.password.as_ref().map(|p| p.expose().to_owned())),
        from: c.smtp.from.clone(),
        timeout: Duration::from_millis(c.smtp.timeout_ms),
    })
    .map_err(anyhow::Error::msg)
    .context("[smtp]")
}

pub fn memory_queue(c: &Config) -> MemoryQueue {
    MemoryQueue::new(
        Duration::from_millis(c.worker.visibility_timeout_ms),
        c.worker.max_receives,
    )
}

pub fn jwt_issuer(c: &Config) -> anyhow::Result<JwtIssuer> {
    JwtIssuer::new(JwtSettings {
        issuer: c.auth.issuer.clone(),
        audience: c.auth.audience.clone(),
        // Whole seconds (Config::check): JWT times are counted in seconds.
        access_ttl_secs: c.auth.access_ttl_ms / 1000,
        clock_skew_secs: c.auth.clock_skew_ms / 1000,
        signing: JwtKey {
            kid: c.auth.jwt_kid.clone(),
            secret: c.auth.jwt_secret.expose().to_owned(),
        },
        verify_also: c
            .auth
            .verify_keys
            .iter()
            .map(|k| JwtKey {
                kid: k.kid.clone(),
                secret: k.secret.expose().to_owned(),
            })
            .collect(),
    })
    .map_err(anyhow::Error::msg)
    .context("auth: jwt keys")
}

pub fn argon2_hasher(c: &Config) -> anyhow::Result<Argon2Hasher> {
    Argon2Hasher::new(Argon2Settings {
        memory_kib: c.auth.argon2_memory_kib,
        iterations: c.auth.argon2_iterations,
        parallelism: c.auth.argon2_parallelism,
        max_waiting: c.auth.argon2_max_waiting,
    })
    .map_err(anyhow::Error::msg)
    .context("auth.argon2_*")
}
