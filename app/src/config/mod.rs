//! Layered configuration: built-in defaults → a profile → `--config FILE` →
//! `ORDERFLOW_SECTION__KEY` environment variables. Unknown keys and bad values fail at
//! start with the key's name.
//!
//! - [`sections`]: one struct per TOML section.
//! - [`renamed`]: keys renamed when durations moved to milliseconds, refused by
//!   name.
//! - [`checks`]: rules no single key can express, the refusal of development secrets
//!   outside an embedded configuration among them.
//! - Profiles are compiled in (`config/<name>.toml`), so `--profile production` works
//!   from any directory; `ORDERFLOW_CONFIG_DIR` adds (or replaces) profiles from files.

mod checks;
mod renamed;
mod sections;
#[cfg(test)]
mod tests;

pub use sections::*;

use figment::providers::{Data, Env, Format, Toml};
use figment::Figment;
use std::path::{Path, PathBuf};

pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");
pub const DEFAULT_PROFILE: &str = "default";

/// The profiles every binary carries, by name.
pub const BUILT_IN_PROFILES: &[(&str, &str)] = &[
    ("local", include_str!("../../../config/local.toml")),
    (
        "production",
        include_str!("../../../config/production.toml"),
    ),
];

const ENV_PREFIX: &str = "ORDERFLOW_";

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
    /// `--profile`; else `ORDERFLOW_PROFILE`; else the built-in defaults alone.
    pub profile: Option<String>,
    /// `--config FILE`, layered over the profile.
    pub file: Option<PathBuf>,
    /// Where `<profile>.toml` files are looked for before the built-in profiles; else
    /// `ORDERFLOW_CONFIG_DIR`; else only the built-in profiles exist.
    pub config_dir: Option<PathBuf>,
}

impl Config {
    /// Loads from the process environment and applies every check.
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        let config = Self::load_unchecked(sources)?;
        config.check()?;
        Ok(config)
    }

    /// Loads without the cross-key checks, for `orderflow config`, which shows a
    /// configuration that would be refused together with the reason.
    pub fn load_unchecked(sources: &Sources) -> Result<Config, ConfigError> {
        let profile = sources
            .profile
            .clone()
            .or_else(|| std::env::var("ORDERFLOW_PROFILE").ok())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        let dir = sources
            .config_dir
            .clone()
            .or_else(|| std::env::var_os("ORDERFLOW_CONFIG_DIR").map(PathBuf::from))
            .filter(|d| !d.as_os_str().is_empty());
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if profile != DEFAULT_PROFILE {
            fig = fig.merge(profile_layer(&profile, dir.as_deref())?);
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
        // Only SECTION__KEY names are settings. Others share the prefix by accident
        // (Kubernetes injects ORDERFLOW_SERVICE_HOST, ORDERFLOW_PORT_8080_TCP… for a
        // Service named orderflow) or choose the layers (PROFILE, CONFIG_DIR), or
        // belong to the test suites (TEST_*).
        let env = Env::prefixed(ENV_PREFIX)
            .filter(|k| is_setting(k.as_str()))
            .split("__");
        fig = fig.merge(env).merge(("profile", profile));
        renamed::refuse_renamed(&fig)?;
        let mut config: Config = fig
            .extract()
            .map_err(|e| ConfigError::Figment(Box::new(e)))?;
        config.ignored_env = ignored_env(std::env::vars_os().map(|(k, _)| k));
        Ok(config)
    }

    /// The built-in defaults alone; what tests start from.
    pub fn defaults() -> Config {
        Figment::from(Toml::string(DEFAULT_TOML))
            .merge(("profile", DEFAULT_PROFILE))
            .extract()
            .unwrap_or_else(|e| panic!("built-in config/default.toml is invalid: {e}"))
    }

    /// The worker's settings for the configured queue: SQS brings its own long-poll
    /// wait, visibility timeout and receive limit.
    pub fn worker_settings(&self) -> WorkerConfig {
        let mut w = self.worker.clone();
        if self.adapters.queue == QueueKind::Sqs {
            w.wait_time_ms = self.sqs.wait_time_ms;
            w.visibility_timeout_ms = self.sqs.visibility_timeout_ms;
            w.max_receives = self.sqs.max_receives;
        }
        w
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not render config: {e}"))
    }
}

/// `<dir>/<profile>.toml` when that file exists, else the built-in profile.
fn profile_layer(profile: &str, dir: Option<&Path>) -> Result<Data<Toml>, ConfigError> {
    if !profile
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ConfigError::Invalid(format!(
            "profile {profile:?}: letters, digits, '-' and '_' only"
        )));
    }
    if let Some(path) = dir.map(|d| d.join(format!("{profile}.toml"))) {
        if path.is_file() {
            return Ok(Toml::file_exact(path));
        }
    }
    if let Some((_, text)) = BUILT_IN_PROFILES.iter().find(|(name, _)| *name == profile) {
        return Ok(Toml::string(text));
    }
    let built_in: Vec<&str> = BUILT_IN_PROFILES.iter().map(|(n, _)| *n).collect();
    let looked = match dir {
        Some(d) => format!("{} not found", d.join(format!("{profile}.toml")).display()),
        None => "ORDERFLOW_CONFIG_DIR is not set".to_owned(),
    };
    Err(ConfigError::Invalid(format!(
        "profile {profile:?}: not built in ({}) and {looked}",
        built_in.join(", ")
    )))
}

/// Whether an environment key (prefix stripped) names a setting: `SECTION__KEY`.
fn is_setting(key: &str) -> bool {
    match key.split_once("__") {
        Some((section, rest)) => !section.is_empty() && !rest.is_empty(),
        None => false,
    }
}

/// `ORDERFLOW_*` variables that are neither settings nor layer choices.
fn ignored_env(keys: impl Iterator<Item = std::ffi::OsString>) -> Vec<String> {
    let mut out: Vec<String> = keys
        .filter_map(|k| k.into_string().ok())
        .filter(|k| {
            let Some(rest) = k.strip_prefix(ENV_PREFIX) else {
                return false;
            };
            let lower = rest.to_ascii_lowercase();
            !is_setting(rest)
                && lower != "profile"
                && lower != "config_dir"
                && !lower.starts_with("test_")
        })
        .collect();
    out.sort();
    out
}
