use aws_lc_rs::hmac;
use base64::{engine::general_purpose::STANDARD, Engine};
use orderflow_core::domain::WebhookSecret;
use orderflow_core::ports::WebhookSigner;
use rand::RngCore;

/// HMAC-SHA256 from aws-lc-rs; new secrets are 256-bit keys from the thread's CSPRNG
/// (seeded by the OS).
#[derive(Debug, Default, Clone, Copy)]
pub struct HmacSigner;

impl WebhookSigner for HmacSigner {
    fn new_secret(&self) -> WebhookSecret {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        WebhookSecret::from_key_256(key)
    }

    fn sign(&self, secret: &WebhookSecret, content: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.key());
        STANDARD.encode(hmac::sign(&key, content).as_ref())
    }
}
