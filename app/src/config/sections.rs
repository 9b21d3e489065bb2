//! The configuration's sections, one struct each, as the TOML files spell them.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

use super::DEFAULT_PROFILE;

/// A value that must never be printed: `Debug` and `Serialize` show a placeholder.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_profile")]
    pub profile: String,
    pub http: HttpConfig,
    pub ops: OpsConfig,
    pub adapters: AdaptersConfig,
    pub mongo: MongoConfig,
    pub redis: RedisConfig,
    pub aws: AwsConfig,
    pub sqs: SqsConfig,
    pub ses: SesConfig,
    pub smtp: SmtpConfig,
    pub auth: AuthConfig,
    pub cache: CacheConfig,
    pub worker: WorkerConfig,
    pub relay: RelayConfig,
    pub notify: NotifyConfig,
    pub webhooks: WebhooksConfig,
    pub mail: MailConfig,
    pub bootstrap: BootstrapConfig,
    pub log: LogConfig,
    /// `ORDERFLOW_*` environment variables that are not of the `SECTION__KEY` form and
    /// were left alone (Kubernetes service links, typos of the form): named in a
    /// warning at start, never fatal.
    #[serde(skip)]
    pub ignored_env: Vec<String>,
}

fn default_profile() -> String {
    DEFAULT_PROFILE.to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    pub header_read_timeout_ms: u64,
    pub shutdown_grace_ms: u64,
    /// After SIGTERM, how long the API keeps serving (with `/readyz` answering 503
    /// `draining`) before it stops accepting connections: the time a load balancer
    /// needs to take the instance out of rotation.
    pub drain_delay_ms: u64,
    /// Proxies (CIDRs) whose `X-Forwarded-For` is believed: the client is the
    /// right-most address that is not one of them. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<Cidr>,
    /// Live order-status streams (`GET /api/orders/{id}/events`) one process holds at
    /// most; beyond, 429 `too_many_streams`.
    pub max_streams: usize,
    /// A comment line on every stream this often, so proxies keep it open.
    pub stream_heartbeat_ms: u64,
    /// A stream re-reads its order from the store this often when no change message
    /// came: the order feed may lose messages, the store is the source of truth.
    pub stream_recheck_ms: u64,
}

/// The operations listener every role serves: `/healthz`, `/readyz`, `/metrics`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    pub bind: SocketAddr,
    /// How often each worker reads the fleet-wide gauges (pending orders, dead letters)
    /// from the store and the queue.
    pub gauge_interval_ms: u64,
    /// The background looks (the relay's scan, the due-email scan, the webhook
    /// fan-out and sender) run at their interval while they find work and back off,
    /// doubling, up to this while they find none.
    pub idle_scan_max_ms: u64,
}

/// An IP network, written `10.0.0.0/8` (a bare address is its own /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(pub ipnet::IpNet);

impl Cidr {
    pub fn contains(&self, ip: &std::net::IpAddr) -> bool {
        // An IPv4 client seen over an IPv6 socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, std::net::IpAddr::V4),
            v4 => *v4,
        };
        self.0.contains(&ip)
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(net) = s.parse::<ipnet::IpNet>() {
            return Ok(Cidr(net.trunc()));
        }
        s.parse::<std::net::IpAddr>()
            .map(|ip| Cidr(ipnet::IpNet::from(ip)))
            .map_err(|_| format!("{s:?} is not an IP network such as 10.0.0.0/8"))
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Memory,
    Mongo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheKind {
    None,
    Memory,
    Redis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    Memory,
    Sqs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailerKind {
    File,
    Log,
    Smtp,
    Ses,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptersConfig {
    pub store: StoreKind,
    pub cache: CacheKind,
    pub queue: QueueKind,
    pub mailer: MailerKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MongoConfig {
    pub uri: Secret,
    pub database: String,
    pub server_selection_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub operation_timeout_ms: u64,
    pub transaction_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: Secret,
    pub key_prefix: String,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    pub region: String,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    pub queue_name: String,
    pub dlq_name: String,
    pub create_queues: bool,
    pub wait_time_ms: u64,
    pub visibility_timeout_ms: u64,
    pub max_receives: u32,
    pub call_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SesConfig {
    pub from: String,
    #[serde(default)]
    pub configuration_set: Option<String>,
    pub create_identity: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    pub from: String,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyKey {
    pub kid: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_ms: u64,
    /// How long before its `nbf` a token is accepted (instances' clocks differ).
    pub clock_skew_ms: u64,
    pub refresh_ttl_ms: u64,
    /// Presenting a just-rotated refresh token again within this long gets
    /// the same successor (a lost answer, two tabs) instead of revoking the login.
    pub refresh_reuse_grace_ms: u64,
    /// How often each process reads the logins other processes ended; an ended login's
    /// access tokens stop working everywhere within this.
    pub revocation_check_ms: u64,
    pub jwt_kid: String,
    pub jwt_secret: Secret,
    pub verify_keys: Vec<VerifyKey>,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub throttle_window_ms: u64,
    /// Failed logins per email and client address per window.
    pub login_per_email: u32,
    /// Failed logins per email from every client together per window.
    pub login_failures_per_email: u32,
    /// Registrations per client address per window.
    pub register_per_client: u32,
    /// Password hashes waiting for a core beyond which requests get 503 at once.
    pub argon2_max_waiting: usize,
    pub login_per_client: u32,
    pub refresh_per_client: u32,
    /// The page a reset link opens; the token goes in its `token` query parameter.
    pub reset_url: String,
    pub reset_ttl_ms: u64,
    pub reset_per_client: u32,
    pub reset_per_email: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    pub order_ttl_ms: u64,
    pub pending_order_ttl_ms: u64,
    /// How long placements may use a cached copy of a product (0: always read the store).
    pub product_ttl_ms: u64,
    pub max_entries: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    pub batch_size: usize,
    pub concurrency: usize,
    pub wait_time_ms: u64,
    pub visibility_timeout_ms: u64,
    pub max_receives: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub notify_lease_ms: u64,
    /// The longest the worker works on one delivery; past it the delivery is retried.
    pub delivery_deadline_ms: u64,
    /// After a receive that brought less than a full batch, the worker waits this long
    /// before the next, so that one finds a fuller batch (a queue that bills per call).
    pub receive_pause_ms: u64,
    /// An ack waits up to this long for others to share its call.
    pub ack_linger_ms: u64,
}

/// Outcome emails that could not be sent when their order settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub retry_first_ms: u64,
    pub retry_max_ms: u64,
    pub give_up_after_ms: u64,
    /// How often each worker looks for due emails.
    pub scan_interval_ms: u64,
    /// Emails sent per look, at most.
    pub scan_batch: usize,
}

/// Webhook deliveries, sent by the worker processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// One delivery's whole exchange (connect, send, answer).
    pub timeout_ms: u64,
    /// How long an event is retried before it is given up.
    pub give_up_after_ms: u64,
    /// The pauses between tries of one event: doubling from the first, capped.
    pub retry_first_ms: u64,
    pub retry_max_ms: u64,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub rotation_overlap_ms: u64,
    /// Whether endpoints may be or resolve to addresses that are not globally
    /// reachable (`domain::is_globally_reachable`). Always allowed in the embedded
    /// configuration.
    pub allow_private_networks: bool,
    /// Deliveries in flight per worker process, and at most this many to one endpoint
    /// (so a slow endpoint leaves the rest to the others).
    pub concurrency: usize,
    pub per_endpoint: usize,
    /// How often a worker looks for new status changes and due deliveries when idle.
    pub scan_interval_ms: u64,
    /// Orders handed to the endpoints per look.
    pub scan_batch: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub interval_ms: u64,
    pub min_age_ms: u64,
    pub batch_size: usize,
    /// How long a hand-off call waits after its first order for its batch to fill.
    pub batch_linger_ms: u64,
    /// Publish calls of the hand-off in flight at once.
    pub concurrency: usize,
    /// Orders waiting for the hand-off; beyond it they wait for the timed scan.
    pub handoff_buffer: usize,
    pub sweep_age_ms: u64,
    pub sweep_interval_ms: u64,
    /// One process in the fleet sweeps at a time, under a lease in the store held this
    /// long and renewed every `sweep_interval_ms`; a dead holder's lease lapses after it.
    pub sweep_lease_ms: u64,
    pub refusal_limit: u32,
    pub refusal_first_wait_ms: u64,
    pub refusal_max_wait_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub dir: PathBuf,
    pub from: String,
    /// The longest one send may take, whatever the mailer (a hung server included).
    pub send_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub demo_catalog: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}
