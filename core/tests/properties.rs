//! Property tests over the domain constructors: whatever the input, they never panic,
//! and what they accept is valid and stable.

use orderflow_core::domain::{
    Currency, Email, IdempotencyKey, OrderCursor, OrderId, Password, Quantity, Sku,
};
use orderflow_core::usecases::PlaceOrder;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn email_parse_is_total_and_idempotent(raw in "\\PC{0,80}|[ A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9.-]{1,20}") {
        if let Ok(e) = Email::parse(&raw) {
            prop_assert_eq!(e.as_str(), e.as_str().trim().to_lowercase());
            prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e.clone());
            prop_assert!(e.as_str().contains('@'));
        }
    }

    #[test]
    fn sku_accepts_exactly_its_alphabet(raw in "\\PC{0,70}") {
        let valid = !raw.is_empty() && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        prop_assert_eq!(Sku::parse(&raw).is_ok(), valid);
    }

    #[test]
    fn quantity_accepts_exactly_1_to_1000(n in any::<i64>()) {
        prop_assert_eq!(Quantity::from_i64(n).is_ok(), (1..=1000).contains(&n));
    }

    #[test]
    fn password_bounds_count_characters(raw in "\\PC{0,140}") {
        let n = raw.chars().count();
        prop_assert_eq!(Password::parse(raw).is_ok(), (8..=128).contains(&n));
    }

    #[test]
    fn currency_and_keys_never_panic(raw in "\\PC{0,300}") {
        let _ = Currency::parse(&raw);
        if let Ok(k) = IdempotencyKey::parse(&raw) {
            prop_assert!(k.as_str().len() <= 255);
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused(millis in 0i64..4_102_444_800_000, raw in "\\PC{0,60}") {
        let c = OrderCursor { created_at: chrono::DateTime::from_timestamp_millis(millis).unwrap(), id: OrderId::new() };
        prop_assert_eq!(OrderCursor::decode(&c.encode()).unwrap(), c);
        let _ = OrderCursor::decode(&raw);
    }

    #[test]
    fn place_order_parsing_is_total(items in prop::collection::vec(("\\PC{0,10}", any::<i64>()), 0..60), key in proptest::option::of("\\PC{0,20}")) {
        if let Ok(p) = PlaceOrder::parse(items, key.as_deref(), Default::default()) {
            prop_assert!((1..=50).contains(&p.lines.len()));
            let mut skus: Vec<_> = p.lines.iter().map(|l| l.sku.clone()).collect();
            skus.sort();
            skus.dedup();
            prop_assert_eq!(skus.len(), p.lines.len(), "each sku once");
        }
    }
}
