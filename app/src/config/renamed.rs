//! Keys that were renamed when every duration moved to milliseconds. A configuration
//! that still sets one (in a file or as `ORDERFLOW_SECTION__KEY`) is refused with the
//! new name and unit, rather than with serde's generic "unknown field".

use super::ConfigError;
use figment::Figment;

/// (old key, new key): every old value was in seconds, every new one is in
/// milliseconds.
pub const RENAMED_TO_MS: &[(&str, &str)] = &[
    ("auth.access_ttl_secs", "auth.access_ttl_ms"),
    ("auth.clock_skew_secs", "auth.clock_skew_ms"),
    ("auth.refresh_ttl_secs", "auth.refresh_ttl_ms"),
    (
        "auth.refresh_reuse_grace_secs",
        "auth.refresh_reuse_grace_ms",
    ),
    ("auth.revocation_check_secs", "auth.revocation_check_ms"),
    ("auth.throttle_window_secs", "auth.throttle_window_ms"),
    ("cache.order_ttl_secs", "cache.order_ttl_ms"),
    ("sqs.wait_time_seconds", "sqs.wait_time_ms"),
    (
        "sqs.visibility_timeout_seconds",
        "sqs.visibility_timeout_ms",
    ),
    ("worker.wait_time_seconds", "worker.wait_time_ms"),
    (
        "worker.visibility_timeout_seconds",
        "worker.visibility_timeout_ms",
    ),
    ("worker.notify_lease_seconds", "worker.notify_lease_ms"),
    ("notify.give_up_after_secs", "notify.give_up_after_ms"),
    ("relay.sweep_age_secs", "relay.sweep_age_ms"),
    ("relay.sweep_lease_secs", "relay.sweep_lease_ms"),
    ("webhooks.give_up_after_secs", "webhooks.give_up_after_ms"),
    (
        "webhooks.rotation_overlap_secs",
        "webhooks.rotation_overlap_ms",
    ),
];

/// Refuses the first renamed key the layers still set.
pub fn refuse_renamed(fig: &Figment) -> Result<(), ConfigError> {
    for (old, new) in RENAMED_TO_MS {
        if let Ok(value) = fig.find_value(old) {
            let env = format!("ORDERFLOW_{}", old.replace('.', "__").to_uppercase());
            let secs = value
                .to_i128()
                .or_else(|| value.to_u128().and_then(|u| i128::try_from(u).ok()));
            let hint = match secs {
                Some(secs) => format!(" = {}", secs.saturating_mul(1000)),
                None => String::new(),
            };
            return Err(ConfigError::Invalid(format!(
                "{old} (or {env}) is no longer read: durations are in milliseconds now; set {new}{hint} instead (README, Configuration)"
            )));
        }
    }
    Ok(())
}
