//! The signer against vectors made by the Standard Webhooks reference library
//! (`scripts/webhook-vectors.py`), so receivers verifying with it accept our deliveries.

use orderflow_adapter_auth::HmacSigner;
use orderflow_core::domain::{signed_content, WebhookSecret};
use orderflow_core::ports::WebhookSigner;

#[test]
fn signatures_match_the_reference_library() {
    let text = include_str!("standard_webhooks_vectors.json");
    let doc: serde_json::Value = serde_json::from_str(text).expect("vectors parse");
    let vectors = doc["vectors"].as_array().expect("a list of vectors");
    assert!(vectors.len() >= 4);
    for v in vectors {
        let secret = WebhookSecret::parse(v["secret"].as_str().unwrap()).unwrap();
        let content = signed_content(
            v["id"].as_str().unwrap(),
            v["timestamp"].as_i64().unwrap(),
            v["body"].as_str().unwrap().as_bytes(),
        );
        let ours = format!("v1,{}", HmacSigner.sign(&secret, &content));
        assert_eq!(ours, v["signature"].as_str().unwrap(), "vector {}", v["id"]);
    }
}

#[test]
fn new_secrets_are_random_32_byte_keys() {
    let (a, b) = (HmacSigner.new_secret(), HmacSigner.new_secret());
    assert_eq!(a.key().len(), 32);
    assert_ne!(a, b);
    assert!(a.expose().starts_with("whsec_"));
}
