//! Small builders for domain values used across the suites.

use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    Currency, Email, IdempotencyKey, NewOrderLine, Order, Origin, PasswordHash, Price, Product,
    ProductName, ProductPatch, Quantity, Role, Sku, User, UserId,
};

pub fn sku(s: &str) -> Sku {
    Sku::parse(s).expect("valid sku")
}

pub fn product(s: &str, price_cents: i64, stock: u32) -> Product {
    Product {
        sku: sku(s),
        name: ProductName::parse(&format!("Product {s}")).expect("name"),
        price_cents: Price::parse(price_cents).expect("price"),
        currency: Currency::USD,
        stock,
    }
}

pub fn user(email: &str) -> User {
    User {
        id: UserId::new(),
        email: Email::parse(email).expect("email"),
        password_hash: PasswordHash("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        role: Role::Customer,
        created_at: now(),
    }
}

/// Now, at the millisecond precision every store keeps.
pub fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp_millis(n.timestamp_millis()).expect("valid time")
}

/// A pending order for `user` of the given (product, quantity) lines, at `at`.
pub fn order_at(
    user: UserId,
    lines: &[(&Product, u32)],
    key: Option<&str>,
    at: DateTime<Utc>,
) -> Order {
    let lines: Vec<(NewOrderLine, &Product)> = lines
        .iter()
        .map(|(p, q)| {
            (
                NewOrderLine {
                    sku: p.sku.clone(),
                    quantity: Quantity::new(*q).expect("qty"),
                },
                *p,
            )
        })
        .collect();
    Order::place(
        user,
        &lines,
        key.map(|k| IdempotencyKey::parse(k).expect("key")),
        Origin::default(),
        at,
    )
    .expect("order")
}

pub fn order(user: UserId, lines: &[(&Product, u32)]) -> Order {
    order_at(user, lines, None, now())
}

/// A patch that changes a product's stock by `delta` and nothing else.
pub fn stock_change(delta: i64) -> ProductPatch {
    ProductPatch {
        stock_delta: Some(delta),
        ..Default::default()
    }
}
