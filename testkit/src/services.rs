//! Where the service-backed tests find their services: environment variables set by
//! `scripts/services env`. Without them a test is skipped with one line on a laptop,
//! and fails under `CI=true`, where a missing service is a broken build.

/// The value of `var`, or `None` (test skipped) when unset outside CI.
///
/// # Panics
/// When `var` is unset and `CI=true`.
pub fn require(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set and CI=true: start the services (scripts/services start) and export scripts/services env")
        }
        _ => {
            eprintln!("skipped: {var} is not set (run `scripts/services start` and `eval \"$(scripts/services env)\"`)");
            None
        }
    }
}

/// A name no other test uses: databases, queues and key prefixes per test, so tests
/// run in parallel against one server.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}
