use argon2::password_hash::{phc::PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use orderflow_core::domain::{Password, PasswordHash};
use orderflow_core::ports::{HashError, PasswordHasher};
use std::sync::Arc;

/// argon2id cost settings. The defaults are OWASP's minimum for argon2id.
#[derive(Debug, Clone, Copy)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes waiting for a core beyond which the next one is refused (`Busy`) at once.
    pub max_waiting: usize,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_waiting: 64,
        }
    }
}

pub struct Argon2Hasher {
    argon: Arc<Argon2<'static>>,
    /// At most one hash per core at a time. Each takes `memory_kib` of RAM and a core
    /// for tens of milliseconds; unbounded, a login flood would fill the blocking pool
    /// (512 threads × 19 MiB) and the memory with it. Excess logins wait their turn.
    permits: Arc<tokio::sync::Semaphore>,
    /// New hashes (registrations) take one of these first: half the cores at most, so
    /// however many registrations wait, logins' verifications still find a core.
    hash_share: Arc<tokio::sync::Semaphore>,
    /// Calls waiting for a core now, and how many may.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    max_waiting: usize,
    /// A real hash of a random password, verified against when the email is unknown so
    /// that both failures cost the same time.
    dummy: PasswordHash,
}

impl Argon2Hasher {
    pub fn new(s: Argon2Settings) -> Result<Self, String> {
        let params = Params::new(s.memory_kib, s.iterations, s.parallelism, None)
            .map_err(|e| e.to_string())?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes())
            .map_err(|e| e.to_string())?
            .to_string();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            argon: Arc::new(argon),
            permits: Arc::new(tokio::sync::Semaphore::new(cores)),
            hash_share: Arc::new(tokio::sync::Semaphore::new((cores / 2).max(1))),
            waiting: Arc::default(),
            max_waiting: s.max_waiting.max(1),
            dummy: PasswordHash(dummy),
        })
    }

    /// A core to hash on (and for a new hash, a place in its share), or `Busy` at once
    /// when `max_waiting` calls already wait.
    async fn slot(&self, new_hash: bool) -> Result<Slot, HashError> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let waiting = self.waiting.clone();
        let _leave = Leave(waiting);
        let failed = |e: tokio::sync::AcquireError| HashError::Failed(e.to_string());
        let share = if new_hash {
            Some(
                self.hash_share
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(failed)?,
            )
        } else {
            None
        };
        let core = self.permits.clone().acquire_owned().await.map_err(failed)?;
        Ok(Slot {
            _core: core,
            _share: share,
        })
    }
}

/// A core held for one hash; released on drop.
struct Slot {
    _core: tokio::sync::OwnedSemaphorePermit,
    _share: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Leaves the waiting count on drop, however the wait ended.
struct Leave(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let _slot = self.slot(true).await?;
        let argon = self.argon.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            argon
                .hash_password(password.expose().as_bytes())
                .map(|h| PasswordHash(h.to_string()))
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        let _slot = self.slot(false).await?;
        let argon = self.argon.clone();
        let password = password.clone();
        let hash = hash.0.clone();
        tokio::task::spawn_blocking(move || match Phc::new(&hash) {
            Ok(parsed) => argon
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        self.verify(password, &self.dummy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Settings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_waiting: 64,
        })
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_bound_a_hash_is_refused_at_once() {
        let h = Arc::new(
            Argon2Hasher::new(Argon2Settings {
                max_waiting: 2,
                ..Argon2Settings::default()
            })
            .unwrap(),
        );
        // Every core taken, as by hashes in progress: calls queue, up to the bound.
        let held = h
            .permits
            .clone()
            .acquire_many_owned(h.permits.available_permits() as u32)
            .await
            .unwrap();
        let pw = Password::parse("correct horse".into()).unwrap();
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let (h, pw) = (h.clone(), pw.clone());
                tokio::spawn(async move { h.verify(&pw, &h.dummy).await })
            })
            .collect();
        while h.waiting.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(
            matches!(h.hash(&pw).await, Err(HashError::Busy)),
            "the third waits for nothing"
        );
        assert!(
            matches!(h.verify_dummy(&pw).await, Err(HashError::Busy)),
            "nor does a dummy check"
        );
        drop(held);
        for q in queued {
            assert!(q.await.unwrap().is_ok(), "the queued ones finish");
        }
        assert_eq!(h.waiting.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert!(h.hash(&pw).await.is_ok(), "and there is room again");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registrations_never_take_every_core() {
        let h = Arc::new(fast());
        let cores = h.permits.available_permits();
        let share = h.hash_share.available_permits();
        assert!(
            share < cores || cores == 1,
            "new hashes get at most half the cores"
        );
        // Registrations hold their whole share and more wait behind it...
        let held = h
            .hash_share
            .clone()
            .acquire_many_owned(share as u32)
            .await
            .unwrap();
        let pw = Password::parse("correct horse".into()).unwrap();
        let (h2, pw2) = (h.clone(), pw.clone());
        let registration = tokio::spawn(async move { h2.hash(&pw2).await });
        while h.waiting.load(std::sync::atomic::Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        // ...yet a login's check runs (on a machine with more than one core).
        if cores > 1 {
            let stored = PasswordHash(h.dummy.0.clone());
            assert!(!h.verify(&pw, &stored).await.unwrap());
            assert!(
                !registration.is_finished(),
                "the registration still waits for its share"
            );
        }
        drop(held);
        assert!(registration.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let h = fast();
        let pw = Password::parse("correct horse".into()).unwrap();
        let a = h.hash(&pw).await.unwrap();
        let b = h.hash(&pw).await.unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.0.starts_with("$argon2id$"));
        assert!(h.verify(&pw, &a).await.unwrap());
        assert!(!h
            .verify(&Password::parse("wrong horse".into()).unwrap(), &a)
            .await
            .unwrap());
        assert!(!h
            .verify(&pw, &PasswordHash("garbage".into()))
            .await
            .unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_waits_for_a_free_core() {
        let h = Arc::new(fast());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Occupy every slot, as `cores` hashes in progress would.
        let held = h
            .permits
            .clone()
            .acquire_many_owned(cores as u32)
            .await
            .unwrap();
        let pw = Password::parse("correct horse".into()).unwrap();
        let (h2, pw2) = (h.clone(), pw.clone());
        let mut waiting = tokio::spawn(async move { h2.hash(&pw2).await.unwrap() });
        let early = tokio::time::timeout(std::time::Duration::from_millis(300), &mut waiting).await;
        assert!(early.is_err(), "a hash ran although every slot was taken");
        drop(held);
        let hash = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .unwrap()
            .unwrap();
        assert!(h.verify(&pw, &hash).await.unwrap());
        assert_eq!(h.permits.available_permits(), cores, "every slot returned");
    }

    #[tokio::test]
    async fn default_settings_are_owasp_strength() {
        let h = Argon2Hasher::new(Argon2Settings::default()).unwrap();
        let hash = h
            .hash(&Password::parse("correct horse".into()).unwrap())
            .await
            .unwrap();
        assert!(hash.0.contains("m=19456,t=2,p=1"), "{}", hash.0);
    }
}
