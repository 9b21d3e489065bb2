//! Credentials adapters.
//!
//! - [`JwtIssuer`]: access tokens as HS256 JWTs with a pinned algorithm, issuer,
//!   audience, expiry and key id; several verification keys for rotation, one signing
//!   key. Refresh tokens are 256-bit random strings stored as SHA-256 hashes.
//! - [`Argon2Hasher`]: argon2id on tokio's blocking pool.
//! - [`HmacSigner`]: webhook signatures (HMAC-SHA256) and their secrets.

mod argon;
mod jwt;
mod webhook_signer;

pub use argon::{Argon2Hasher, Argon2Settings};
pub use jwt::{JwtIssuer, JwtKey, JwtSettings};
pub use webhook_signer::HmacSigner;
