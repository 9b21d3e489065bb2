//! Rules no single key can express.

use super::{CacheKind, Config, ConfigError, MailerKind, QueueKind, StoreKind};
use orderflow_core::domain::{Email, Password};
use std::collections::HashSet;

/// A setting as the TOML file spells it: `"mongo"`, not `Mongo`.
fn spelled(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Public in the repository, so anyone could sign tokens with it.
pub(super) const DEV_JWT_SECRET: &str = "dev-only-jwt-secret-do-not-use-in-production";
/// Public in the repository and the README.
pub(super) const DEV_ADMIN_PASSWORD: &str = "orderflow-admin-dev";

impl Config {
    /// Why this configuration is not the embedded one (everything in this process and
    /// reachable only from this machine), or `None` when it is. Only the embedded
    /// configuration may run with the development secrets: the profile's name decides
    /// nothing, since a deployment configured by environment variables alone has none.
    pub fn not_embedded_because(&self) -> Option<String> {
        let a = &self.adapters;
        if a.store != StoreKind::Memory {
            return Some(format!("adapters.store = {}", spelled(&a.store)));
        }
        if a.cache == CacheKind::Redis {
            return Some("adapters.cache = \"redis\"".into());
        }
        if a.queue != QueueKind::Memory {
            return Some(format!("adapters.queue = {}", spelled(&a.queue)));
        }
        if !matches!(a.mailer, MailerKind::File | MailerKind::Log) {
            return Some(format!("adapters.mailer = {}", spelled(&a.mailer)));
        }
        if !self.http.bind.ip().is_loopback() {
            return Some(format!("http.bind = {}", self.http.bind));
        }
        if !self.ops.bind.ip().is_loopback() {
            return Some(format!("ops.bind = {}", self.ops.bind));
        }
        None
    }

    /// Rules no single key can express. The first broken one is reported, naming the
    /// key (and, for secrets, the environment variable that sets it).
    pub fn check(&self) -> Result<(), ConfigError> {
        self.check_no_public_secrets()?;
        self.check_auth_keys()?;
        self.check_bootstrap()?;
        self.check_bounds()?;
        self.check_timings()?;
        Ok(())
    }

    /// Outside the embedded setup, the development secrets are refused by name.
    fn check_no_public_secrets(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if let Some(why) = self.not_embedded_because() {
            let refuse = |key: &str, env: &str| {
                bad(format!(
                    "{key}: the development value is public and allowed only when everything \
                     runs in memory on loopback, but {why}; set {env}"
                ))
            };
            if self.auth.jwt_secret.expose() == DEV_JWT_SECRET {
                return refuse("auth.jwt_secret", "ORDERFLOW_AUTH__JWT_SECRET");
            }
            if let Some(k) = self
                .auth
                .verify_keys
                .iter()
                .find(|k| k.secret.expose() == DEV_JWT_SECRET)
            {
                return refuse(
                    &format!("auth.verify_keys (kid {:?})", k.kid),
                    "ORDERFLOW_AUTH__VERIFY_KEYS without it",
                );
            }
            if self
                .bootstrap
                .admin_password
                .as_ref()
                .is_some_and(|p| p.expose() == DEV_ADMIN_PASSWORD)
            {
                return refuse(
                    "bootstrap.admin_password",
                    "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
                );
            }
        }
        Ok(())
    }

    /// Signing keys: long enough, each kid once.
    fn check_auth_keys(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.auth.jwt_secret.expose().len() < 32 {
            return bad("auth.jwt_secret: must be at least 32 bytes".into());
        }
        let mut kids = HashSet::new();
        for kid in
            std::iter::once(&self.auth.jwt_kid).chain(self.auth.verify_keys.iter().map(|k| &k.kid))
        {
            if !kids.insert(kid.as_str()) {
                return bad(format!(
                    "auth.jwt_kid and auth.verify_keys: kid {kid:?} appears twice; every key needs its own"
                ));
            }
        }
        Ok(())
    }

    /// The bootstrap admin.
    fn check_bootstrap(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.bootstrap.admin_email.is_some() != self.bootstrap.admin_password.is_some() {
            return bad(
                "bootstrap.admin_email and bootstrap.admin_password: set both or neither".into(),
            );
        }
        // Checked here, not at bootstrap: bootstrap waits out a store outage by
        // retrying, and a value that can never be valid must not look like one.
        if let Some(email) = &self.bootstrap.admin_email {
            if let Err(e) = Email::parse(email) {
                return bad(format!("bootstrap.admin_email: {e}"));
            }
        }
        if let Some(password) = &self.bootstrap.admin_password {
            if let Err(e) = Password::parse(password.expose().to_owned()) {
                return bad(format!("bootstrap.admin_password: {e}"));
            }
        }
        Ok(())
    }

    /// Listeners, batch sizes and counts within what the services accept.
    fn check_bounds(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.http.bind.port() != 0 && self.http.bind == self.ops.bind {
            return bad(format!(
                "http.bind and ops.bind: both are {}; the operations listener needs its own port",
                self.http.bind
            ));
        }
        if self.worker.batch_size == 0 || self.worker.batch_size > 10 {
            return bad("worker.batch_size: must be 1 to 10".into());
        }
        if self.worker.concurrency == 0 {
            return bad("worker.concurrency: must be at least 1".into());
        }
        if self.worker.wait_time_ms > 20_000 {
            return bad("worker.wait_time_ms: must be at most 20000".into());
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
        if self.sqs.wait_time_ms > 20_000 {
            return bad("sqs.wait_time_ms: must be at most 20000".into());
        }
        if self.sqs.max_receives == 0 {
            return bad("sqs.max_receives: must be at least 1".into());
        }
        if self.aws.access_key_id.is_some() != self.aws.secret_access_key.is_some() {
            return bad("aws.access_key_id and aws.secret_access_key: set both or neither".into());
        }
        if self.smtp.username.is_some() != self.smtp.password.is_some() {
            return bad("smtp.username and smtp.password: set both or neither".into());
        }
        let url = &self.auth.reset_url;
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.contains(char::is_whitespace) || url.contains('#') {
            return bad(format!(
                "auth.reset_url: must be an http(s) URL without spaces or a fragment, not {url:?}"
            ));
        }
        // A token in a plain-http link to another machine crosses the network readable.
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(""))
            .unwrap_or("");
        let local = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|h| host == *h || host.starts_with(&format!("{h}:")));
        if url.starts_with("http://") && !local {
            return bad(format!(
                "auth.reset_url: the emailed link carries the reset token, so it must be https unless it points at this machine, not {url:?}"
            ));
        }
        if self.auth.reset_ttl_ms < 60_000 {
            return bad("auth.reset_ttl_ms: must be at least 60000 (a minute)".into());
        }
        self.check_webhooks()
    }

    fn check_webhooks(&self) -> Result<(), ConfigError> {
        let w = &self.webhooks;
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if w.timeout_ms == 0 || w.retry_first_ms == 0 || w.scan_interval_ms == 0 {
            return bad(
                "webhooks.timeout_ms, retry_first_ms and scan_interval_ms: must be at least 1",
            );
        }
        if w.retry_max_ms < w.retry_first_ms {
            return bad("webhooks.retry_max_ms: must be at least webhooks.retry_first_ms");
        }
        if w.concurrency == 0 || w.per_endpoint == 0 || w.scan_batch == 0 {
            return bad("webhooks.concurrency, per_endpoint and scan_batch: must be at least 1");
        }
        Ok(())
    }

    /// Endpoints may be on private networks in the embedded configuration (everything
    /// on this machine) or when configured so.
    pub fn webhooks_may_reach_private_networks(&self) -> bool {
        self.webhooks.allow_private_networks || self.not_embedded_because().is_none()
    }

    /// Timeouts, leases and intervals that must fit inside one another.
    fn check_timings(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        // A claim that lapses while its holder is still sending would let a second
        // worker send the same email.
        if self.worker.notify_lease_ms < self.mail.send_timeout_ms.saturating_add(2000) {
            return bad(format!(
                "worker.notify_lease_ms: {} ms does not outlast mail.send_timeout_ms ({} ms) by 2 s; a second worker could send an email the first is still sending",
                self.worker.notify_lease_ms, self.mail.send_timeout_ms
            ));
        }
        if self.mail.send_timeout_ms == 0 {
            return bad("mail.send_timeout_ms: must be at least 1".into());
        }
        // An ack held past its delivery's visibility would let the settled message be
        // delivered again.
        let visibility = self.worker_settings().visibility_timeout_ms;
        if self.worker.ack_linger_ms.saturating_mul(4) > visibility {
            return bad(format!(
                "worker.ack_linger_ms: {} ms is over a quarter of the visibility timeout ({visibility} ms); a settled delivery could come back before its ack is sent",
                self.worker.ack_linger_ms
            ));
        }
        if self.worker.delivery_deadline_ms <= self.mail.send_timeout_ms {
            return bad(format!(
                "worker.delivery_deadline_ms: {} ms leaves no room for a send of up to mail.send_timeout_ms ({} ms)",
                self.worker.delivery_deadline_ms, self.mail.send_timeout_ms
            ));
        }
        // The holder renews once per interval: a lease shorter than two intervals would
        // lapse between renewals and let a second process sweep alongside it.
        if self.relay.sweep_lease_ms < self.relay.sweep_interval_ms.saturating_mul(2) {
            return bad(format!(
                "relay.sweep_lease_ms: {} ms must be at least twice relay.sweep_interval_ms ({} ms), or the lease lapses between renewals",
                self.relay.sweep_lease_ms, self.relay.sweep_interval_ms
            ));
        }
        if self.auth.revocation_check_ms < 1000 {
            return bad("auth.revocation_check_ms: must be at least 1000".into());
        }
        // These end up in JWT claims and SQS calls, which count whole seconds.
        for (key, ms) in [
            ("auth.access_ttl_ms", self.auth.access_ttl_ms),
            ("auth.clock_skew_ms", self.auth.clock_skew_ms),
            ("sqs.wait_time_ms", self.sqs.wait_time_ms),
            ("sqs.visibility_timeout_ms", self.sqs.visibility_timeout_ms),
        ] {
            if ms % 1000 != 0 {
                return bad(format!(
                    "{key}: {ms} is not a whole number of seconds (it is counted in seconds downstream)"
                ));
            }
        }
        if self.auth.access_ttl_ms == 0 {
            return bad("auth.access_ttl_ms: must be at least 1000".into());
        }
        if self.http.body_limit_bytes < 1024 {
            return bad("http.body_limit_bytes: must be at least 1024".into());
        }
        Ok(())
    }
}
