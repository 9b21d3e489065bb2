//! `InventoryRepo` contract: products and their stock.
//! The adapter is a [`Store`]: the ports one backing store implements, since the
//! tests set up state through its other ports.

use super::fixtures::{product, sku, stock_change};
use orderflow_core::domain::{Price, ProductCursor, ProductPatch};
use orderflow_core::ports::InventoryError;

use super::store::Store;

pub async fn products_are_unique_and_listed_in_sku_order(s: Store) {
    for (sk, price) in [("B-2", 2), ("A-1", 1), ("C-3", 3), ("D-4", 4)] {
        s.inventory.insert(&product(sk, price, 5)).await.unwrap();
    }
    assert!(matches!(
        s.inventory.insert(&product("A-1", 9, 9)).await,
        Err(InventoryError::DuplicateSku)
    ));
    let page = s.inventory.list(3, None).await.unwrap();
    let skus: Vec<_> = page.items.iter().map(|p| p.sku.to_string()).collect();
    assert_eq!(skus, ["A-1", "B-2", "C-3"]);
    assert_eq!(page.next, Some(ProductCursor(sku("C-3"))));
    let rest = s.inventory.list(3, page.next.as_ref()).await.unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|p| p.sku.to_string())
            .collect::<Vec<_>>(),
        ["D-4"]
    );
    assert!(rest.next.is_none());
    let many = s
        .inventory
        .get_many(&[sku("D-4"), sku("nope"), sku("A-1")])
        .await
        .unwrap();
    let mut found: Vec<_> = many.iter().map(|p| p.sku.to_string()).collect();
    found.sort();
    assert_eq!(found, ["A-1", "D-4"]);
    assert_eq!(
        s.inventory
            .get(&sku("B-2"))
            .await
            .unwrap()
            .unwrap()
            .price_cents
            .cents(),
        2
    );
}

pub async fn stock_updates_are_relative_and_never_negative(s: Store) {
    s.inventory.insert(&product("ST-1", 100, 5)).await.unwrap();
    let patch = stock_change;
    assert!(matches!(
        s.inventory.update(&sku("ST-1"), &patch(-6)).await,
        Err(InventoryError::InsufficientStock)
    ));
    assert_eq!(
        s.inventory.get(&sku("ST-1")).await.unwrap().unwrap().stock,
        5,
        "unchanged after refusal"
    );
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.inventory
                    .update(&sku("ST-1"), &patch(3))
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    for r in racers {
        r.await.unwrap().unwrap();
    }
    assert_eq!(
        s.inventory.get(&sku("ST-1")).await.unwrap().unwrap().stock,
        65,
        "no lost update"
    );
    let renamed = s
        .inventory
        .update(
            &sku("ST-1"),
            &ProductPatch {
                name: Some(orderflow_core::domain::ProductName::parse("New").unwrap()),
                price_cents: Some(Price::parse(7).unwrap()),
                stock_delta: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.price_cents.cents(),
            renamed.stock
        ),
        ("New", 7, 65)
    );
    assert!(matches!(
        s.inventory.update(&sku("missing"), &patch(1)).await,
        Err(InventoryError::NotFound)
    ));
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(s: Store) {
    s.inventory
        .health()
        .await
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! inventory_contract {
    ($factory:expr) => {
        mod inventory_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(inventory, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            products_are_unique_and_listed_in_sku_order,
            #[tokio::test]
            stock_updates_are_relative_and_never_negative,
            );
        }
    };
}
