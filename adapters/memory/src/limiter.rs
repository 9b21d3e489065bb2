use orderflow_core::ports::{Allowance, LimiterError, RateLimiter};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Fixed-window counters in this process. Windows that ended are dropped as the map
/// grows, so memory stays bounded by the keys active in one window.
#[derive(Default)]
pub struct MemoryLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

#[async_trait::async_trait]
impl RateLimiter for MemoryLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Allowance, LimiterError> {
        let now = Instant::now();
        let mut w = self.windows.lock();
        if w.len() > 10_000 {
            w.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = w.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 <= limit {
            Ok(Allowance {
                allowed: true,
                retry_after: Duration::ZERO,
            })
        } else {
            Ok(Allowance {
                allowed: false,
                retry_after: window.saturating_sub(now.duration_since(entry.0)),
            })
        }
    }
}
