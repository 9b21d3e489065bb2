use orderflow_core::ports::{Allowance, LimiterError, RateLimiter};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Fixed-window counters in this process, bounded in memory and O(1) per hit however
/// many distinct keys arrive: windows are queued in the order they started, each hit
/// drops the ended windows at the front, and at `capacity` keys the oldest window is
/// dropped (its key starts afresh, which a flood of new keys can only do to the oldest
/// counters).
pub struct MemoryLimiter {
    capacity: usize,
    state: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    counts: HashMap<String, Window>,
    /// (start, key) of every window, oldest first; an entry whose key has since
    /// started a newer window is stale and skipped.
    order: VecDeque<(Instant, String)>,
}

struct Window {
    start: Instant,
    length: Duration,
    hits: u32,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::with_capacity(100_000)
    }
}

impl MemoryLimiter {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(Windows::default()),
        }
    }

    /// Keys counted right now, for tests.
    pub fn len(&self) -> usize {
        self.state.lock().counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Windows {
    /// Drops the window at the front of the queue if `drop` says so; false when there
    /// was nothing to look at or it was kept.
    fn pop_front_if(&mut self, drop: impl Fn(&Window) -> bool) -> bool {
        let Some((start, key)) = self.order.front() else {
            return false;
        };
        match self.counts.get(key) {
            Some(w) if w.start == *start => {
                if !drop(w) {
                    return false;
                }
                self.counts.remove(key);
            }
            // Stale: the key started a newer window, queued further back.
            _ => {}
        }
        self.order.pop_front();
        true
    }
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
        let mut s = self.state.lock();
        // Each queued entry is popped once: amortised O(1) per hit.
        while s.pop_front_if(|w| now.duration_since(w.start) >= w.length) {}
        let fresh = match s.counts.get(key) {
            Some(w) => now.duration_since(w.start) >= window,
            None => true,
        };
        if fresh {
            while s.counts.len() >= self.capacity && !s.counts.contains_key(key) {
                s.pop_front_if(|_| true);
            }
            s.counts.insert(
                key.to_owned(),
                Window {
                    start: now,
                    length: window,
                    hits: 0,
                },
            );
            s.order.push_back((now, key.to_owned()));
        }
        let Some(w) = s.counts.get_mut(key) else {
            return Err(LimiterError::Unavailable("the window vanished".into()));
        };
        w.hits = w.hits.saturating_add(1);
        Ok(if w.hits <= limit {
            Allowance::granted()
        } else {
            Allowance::refused(window.saturating_sub(now.duration_since(w.start)))
        })
    }

    async fn peek(&self, key: &str, limit: u32) -> Result<Allowance, LimiterError> {
        Ok(self.peek_now(key, limit))
    }
}

impl MemoryLimiter {
    fn peek_now(&self, key: &str, limit: u32) -> Allowance {
        let now = Instant::now();
        let s = self.state.lock();
        match s.counts.get(key) {
            Some(w) if now.duration_since(w.start) < w.length && w.hits >= limit => {
                Allowance::refused(w.length.saturating_sub(now.duration_since(w.start)))
            }
            _ => Allowance::granted(),
        }
    }
}

/// Nothing outside the process to ask.
#[async_trait::async_trait]
impl orderflow_core::ports::Health for MemoryLimiter {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_stays_bounded_however_many_keys_arrive() {
        let l = MemoryLimiter::with_capacity(1_000);
        let minute = Duration::from_secs(60);
        for i in 0..20_000 {
            l.hit(&format!("login:email:{i}@example.com"), 5, minute)
                .await
                .unwrap();
        }
        assert!(l.len() <= 1_000, "{} keys held", l.len());
        assert!(
            l.state.lock().order.len() <= 1_000,
            "and as many queued windows"
        );
        // The newest keys are still counted.
        let key = "login:email:19999@example.com";
        for _ in 0..4 {
            assert!(l.hit(key, 5, minute).await.unwrap().allowed);
        }
        assert!(!l.hit(key, 5, minute).await.unwrap().allowed);
    }

    #[tokio::test]
    async fn ended_windows_are_dropped_as_hits_arrive() {
        let l = MemoryLimiter::with_capacity(1_000);
        for i in 0..100 {
            l.hit(&format!("k{i}"), 1, Duration::from_millis(1))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            l.hit("again", 1, Duration::from_secs(60))
                .await
                .unwrap()
                .allowed
        );
        assert_eq!(l.len(), 1, "only the live window is left");
        assert!(
            l.hit("k1", 1, Duration::from_secs(60))
                .await
                .unwrap()
                .allowed,
            "a new window"
        );
    }
}
