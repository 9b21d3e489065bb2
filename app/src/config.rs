//! Layered configuration: built-in defaults → `config/<profile>.toml` → `--config FILE`
//! → `ORDERFLOW_SECTION__KEY` environment variables. Unknown keys and bad values fail
//! at start with the key's name.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
pub const DEFAULT_PROFILE: &str = "default";
const DEV_JWT_SECRET: &str = "dev-only-jwt-secret-do-not-use-in-production";
const DEV_ADMIN_PASSWORD: &str = "orderflow-admin-dev";

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
    pub mail: MailConfig,
    pub bootstrap: BootstrapConfig,
    pub log: LogConfig,
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
    pub trust_forwarded_for: bool,
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
    pub wait_time_seconds: u64,
    pub visibility_timeout_seconds: u64,
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
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub jwt_kid: String,
    pub jwt_secret: Secret,
    pub verify_keys: Vec<VerifyKey>,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub throttle_window_secs: u64,
    pub login_per_email: u32,
    pub login_per_client: u32,
    pub refresh_per_client: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    pub order_ttl_secs: u64,
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
    pub wait_time_seconds: u64,
    pub visibility_timeout_seconds: u64,
    pub max_receives: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub notify_lease_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub interval_ms: u64,
    pub min_age_ms: u64,
    pub batch_size: usize,
    /// Publish calls of the hand-off in flight at once.
    pub concurrency: usize,
    /// Orders waiting for the hand-off; beyond it they wait for the timed scan.
    pub handoff_buffer: usize,
    pub sweep_age_secs: u64,
    pub sweep_interval_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub dir: PathBuf,
    pub from: String,
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

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
}

/// Where the layers come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub profile: Option<String>,
    pub file: Option<PathBuf>,
    pub config_dir: Option<PathBuf>,
}

impl Config {
    /// Loads from the process environment.
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        let profile = sources
            .profile
            .clone()
            .or_else(|| std::env::var("ORDERFLOW_PROFILE").ok())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(default_profile);
        let dir = sources
            .config_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("config"));
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if profile != DEFAULT_PROFILE {
            if !profile
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ConfigError::Invalid(format!(
                    "profile {profile:?}: letters, digits, '-' and '_' only"
                )));
            }
            let path = dir.join(format!("{profile}.toml"));
            if !path.is_file() {
                return Err(ConfigError::Invalid(format!(
                    "profile {profile:?}: {} not found",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        if let Some(file) = &sources.file {
            if !Path::new(file).is_file() {
                return Err(ConfigError::Invalid(format!(
                    "--config {}: file not found",
                    file.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(file));
        }
        // PROFILE and CONFIG_DIR choose the layers; TEST_* belong to the test suites.
        let env = Env::prefixed("ORDERFLOW_")
            .filter(|k| {
                let k = k.as_str().to_ascii_lowercase();
                k != "profile" && k != "config_dir" && !k.starts_with("test_")
            })
            .split("__");
        fig = fig.merge(env).merge(("profile", profile));
        let config: Config = fig
            .extract()
            .map_err(|e| ConfigError::Figment(Box::new(e)))?;
        config.check()?;
        Ok(config)
    }

    /// The built-in defaults alone; what tests start from.
    pub fn defaults() -> Config {
        Figment::from(Toml::string(DEFAULT_TOML))
            .merge(("profile", DEFAULT_PROFILE))
            .extract()
            .unwrap_or_else(|e| panic!("built-in config/default.toml is invalid: {e}"))
    }

    /// Rules no single key can express.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.profile != DEFAULT_PROFILE {
            if self.auth.jwt_secret.expose() == DEV_JWT_SECRET {
                return bad(format!("auth.jwt_secret: profile {:?} refuses the development secret; set ORDERFLOW_AUTH__JWT_SECRET", self.profile));
            }
            if self
                .bootstrap
                .admin_password
                .as_ref()
                .is_some_and(|p| p.expose() == DEV_ADMIN_PASSWORD)
            {
                return bad(format!("bootstrap.admin_password: profile {:?} refuses the development password; set ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD", self.profile));
            }
        }
        if self.auth.jwt_secret.expose().len() < 32 {
            return bad("auth.jwt_secret: must be at least 32 bytes".into());
        }
        if self.bootstrap.admin_email.is_some() != self.bootstrap.admin_password.is_some() {
            return bad(
                "bootstrap.admin_email and bootstrap.admin_password: set both or neither".into(),
            );
        }
        if self.worker.batch_size == 0 || self.worker.batch_size > 10 {
            return bad("worker.batch_size: must be 1 to 10".into());
        }
        if self.worker.concurrency == 0 {
            return bad("worker.concurrency: must be at least 1".into());
        }
        if self.worker.wait_time_seconds > 20 {
            return bad("worker.wait_time_seconds: must be at most 20".into());
        }
        if self.worker.max_receives == 0 {
            return bad("worker.max_receives: must be at least 1".into());
        }
        if self.relay.batch_size == 0 || self.relay.batch_size > 10 {
            return bad("relay.batch_size: must be 1 to 10".into());
        }
        if self.relay.concurrency == 0 || self.relay.handoff_buffer == 0 {
            return bad("relay.concurrency and relay.handoff_buffer: must be at least 1".into());
        }
        if self.sqs.wait_time_seconds > 20 {
            return bad("sqs.wait_time_seconds: must be at most 20".into());
        }
        if self.sqs.max_receives == 0 {
            return bad("sqs.max_receives: must be at least 1".into());
        }
        if self.access_key_half_set() {
            return bad("aws.access_key_id and aws.secret_access_key: set both or neither".into());
        }
        if self.smtp.username.is_some() != self.smtp.password.is_some() {
            return bad("smtp.username and smtp.password: set both or neither".into());
        }
        if self.http.body_limit_bytes < 1024 {
            return bad("http.body_limit_bytes: must be at least 1024".into());
        }
        Ok(())
    }

    /// The worker's settings for the configured queue: SQS brings its own long-poll
    /// wait, visibility timeout and receive limit.
    pub fn worker_settings(&self) -> WorkerConfig {
        let mut w = self.worker.clone();
        if self.adapters.queue == QueueKind::Sqs {
            w.wait_time_seconds = self.sqs.wait_time_seconds;
            w.visibility_timeout_seconds = self.sqs.visibility_timeout_seconds;
            w.max_receives = self.sqs.max_receives;
        }
        w
    }

    fn access_key_half_set(&self) -> bool {
        self.aws.access_key_id.is_some() != self.aws.secret_access_key.is_some()
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not render config: {e}"))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's own error type
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_pass_checks() {
        let c = Config::defaults();
        c.check().unwrap();
        assert_eq!(c.http.bind.port(), 8080);
        assert_eq!(c.auth.argon2_memory_kib, 19456);
    }

    #[test]
    fn operators_env_keys_keep_working() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORDERFLOW_ADAPTERS__STORE", "mongo");
            jail.set_env("ORDERFLOW_ADAPTERS__CACHE", "redis");
            jail.set_env("ORDERFLOW_ADAPTERS__QUEUE", "sqs");
            jail.set_env("ORDERFLOW_ADAPTERS__MAILER", "ses");
            jail.set_env("ORDERFLOW_MONGO__URI", "mongodb://db:27017/?replicaSet=rs0");
            jail.set_env("ORDERFLOW_MONGO__DATABASE", "shop");
            jail.set_env("ORDERFLOW_REDIS__URL", "redis://cache:6379");
            jail.set_env("ORDERFLOW_AWS__REGION", "eu-west-1");
            jail.set_env("ORDERFLOW_AWS__ENDPOINT_URL", "http://localstack:4566");
            jail.set_env("ORDERFLOW_SQS__QUEUE_NAME", "orders");
            jail.set_env("ORDERFLOW_SQS__DLQ_NAME", "orders-dlq");
            jail.set_env("ORDERFLOW_SQS__MAX_RECEIVES", "7");
            jail.set_env("ORDERFLOW_SES__FROM", "shop@example.com");
            jail.set_env("ORDERFLOW_SMTP__TLS", "starttls");
            let c = Config::load(&Sources::default()).unwrap();
            assert_eq!(
                (
                    c.adapters.store,
                    c.adapters.cache,
                    c.adapters.queue,
                    c.adapters.mailer
                ),
                (
                    StoreKind::Mongo,
                    CacheKind::Redis,
                    QueueKind::Sqs,
                    MailerKind::Ses
                )
            );
            assert_eq!(c.mongo.uri.expose(), "mongodb://db:27017/?replicaSet=rs0");
            assert_eq!(c.mongo.database, "shop");
            assert_eq!(c.redis.url.expose(), "redis://cache:6379");
            assert_eq!(
                c.aws.endpoint_url.as_deref(),
                Some("http://localstack:4566")
            );
            assert_eq!(
                (
                    c.sqs.queue_name.as_str(),
                    c.sqs.dlq_name.as_str(),
                    c.sqs.max_receives
                ),
                ("orders", "orders-dlq", 7)
            );
            assert_eq!(c.ses.from, "shop@example.com");
            assert_eq!(c.smtp.tls, SmtpTls::Starttls);
            assert!(
                !c.redacted_toml().contains("db:27017"),
                "connection strings may hold passwords"
            );
            jail.set_env("ORDERFLOW_AWS__ACCESS_KEY_ID", "AKIA");
            assert!(Config::load(&Sources::default())
                .unwrap_err()
                .to_string()
                .contains("secret_access_key"));
            Ok(())
        });
    }

    #[test]
    fn env_overrides_and_unknown_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORDERFLOW_HTTP__BIND", "127.0.0.1:9000");
            jail.set_env("ORDERFLOW_TEST_MONGO_URL", "ignored");
            let c = Config::load(&Sources::default()).unwrap();
            assert_eq!(c.http.bind.port(), 9000);
            jail.set_env("ORDERFLOW_HTTP__BINDD", "x");
            let err = Config::load(&Sources::default()).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("bindd"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn bad_adapter_value_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORDERFLOW_ADAPTERS__QUEUE", "carrier-pigeon");
            let err = Config::load(&Sources::default()).unwrap_err().to_string();
            assert!(
                err.to_lowercase().contains("adapters.queue") && err.contains("carrier-pigeon"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn non_default_profiles_refuse_development_secrets() {
        figment::Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file("config/prod.toml", "[log]\nformat = \"json\"\n")?;
            let p = Sources {
                profile: Some("prod".into()),
                ..Default::default()
            };
            let err = Config::load(&p).unwrap_err().to_string();
            assert!(err.contains("jwt_secret"), "{err}");
            jail.set_env(
                "ORDERFLOW_AUTH__JWT_SECRET",
                "a-real-secret-of-at-least-32-bytes!!",
            );
            let err = Config::load(&p).unwrap_err().to_string();
            assert!(err.contains("admin_password"), "{err}");
            jail.set_env(
                "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
                "another-real-password",
            );
            let c = Config::load(&p).unwrap();
            assert_eq!(c.profile, "prod");
            assert_eq!(c.log.format, LogFormat::Json);
            assert!(!c.redacted_toml().contains("a-real-secret"));
            let missing = Sources {
                profile: Some("nope".into()),
                ..Default::default()
            };
            assert!(Config::load(&missing)
                .unwrap_err()
                .to_string()
                .contains("nope.toml"));
            Ok(())
        });
    }
}
