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
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

pub struct Argon2Hasher {
    argon: Arc<Argon2<'static>>,
    /// At most one hash per core at a time. Each takes `memory_kib` of RAM and a core
    /// for tens of milliseconds; unbounded, a login flood would fill the blocking pool
    /// (512 threads × 19 MiB) and the memory with it. Excess logins wait their turn.
    permits: Arc<tokio::sync::Semaphore>,
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
            dummy: PasswordHash(dummy),
        })
    }
}

#[async_trait::async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
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
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
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

    async fn verify_dummy(&self, password: &Password) {
        let _ = self.verify(password, &self.dummy).await;
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
        })
        .unwrap()
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
