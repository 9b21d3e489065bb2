//! Settling a pending order against the stock on hand. The rule lives here; stores
//! only read the stock, call `Order::settlement`, and apply what it decided in one
//! atomic unit.

use super::{Order, OrderStatus, Sku, StatusChange};
use chrono::{DateTime, Utc};

/// What a fulfilment did to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FulfilmentOutcome {
    /// Stock for every line was taken and the order is now completed.
    Completed,
    /// Some lines could not be covered; nothing was taken and the order is now failed.
    Failed { short: Vec<Sku> },
    /// The order had already left `pending` (processed, or cancelled); nothing changed.
    AlreadyFinal,
}

/// How a pending order settles: the status change to record and whether stock is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    outcome: FulfilmentOutcome,
    change: StatusChange,
}

impl Settlement {
    /// `Completed` or `Failed`; never `AlreadyFinal`.
    pub fn outcome(&self) -> &FulfilmentOutcome {
        &self.outcome
    }

    /// The history entry the order gains.
    pub fn change(&self) -> &StatusChange {
        &self.change
    }

    /// Units to take, line by line, from the order this settlement was decided for:
    /// every line when it completes, nothing when it fails (all or nothing). Lines
    /// naming one SKU twice were checked against their sum, so taking them one after
    /// the other never goes below zero.
    pub fn takes<'o>(&self, order: &'o Order) -> impl Iterator<Item = (&'o Sku, u32)> {
        let completes = self.outcome == FulfilmentOutcome::Completed;
        order
            .lines
            .iter()
            .filter(move |_| completes)
            .map(|l| (&l.sku, l.quantity.get()))
    }

    /// From when the outcome email is owed: the moment the order settled. The store
    /// records it with the settlement, in the same atomic unit, so no crash loses it.
    pub fn email_due_at(&self) -> DateTime<Utc> {
        self.change.at
    }

    pub fn into_outcome(self) -> FulfilmentOutcome {
        self.outcome
    }
}

impl Order {
    /// Decides how this order settles given each product's stock on hand (`None` for a
    /// product that no longer exists): completed when every SKU covers what the order
    /// asks of it, otherwise failed with a reason naming the short SKUs. `Err` holds
    /// the status of an order that is no longer pending. Allocates nothing on the
    /// completed path: it runs once per order, inside the store's atomic unit.
    pub fn settlement(
        &self,
        stock: impl Fn(&Sku) -> Option<u32>,
        at: DateTime<Utc>,
    ) -> Result<Settlement, OrderStatus> {
        if self.status != OrderStatus::Pending {
            return Err(self.status);
        }
        let lines = &self.lines;
        let wanted = |sku: &Sku| {
            lines
                .iter()
                .filter(|l| l.sku == *sku)
                .fold(0u32, |n, l| n.saturating_add(l.quantity.get()))
        };
        let short: Vec<Sku> = lines
            .iter()
            .enumerate()
            // Each SKU once, at its first line.
            .filter(|(i, l)| !lines[..*i].iter().any(|p| p.sku == l.sku))
            .filter(|(_, l)| stock(&l.sku).is_none_or(|on_hand| on_hand < wanted(&l.sku)))
            .map(|(_, l)| l.sku.clone())
            .collect();
        if short.is_empty() {
            return Ok(Settlement {
                outcome: FulfilmentOutcome::Completed,
                change: StatusChange {
                    status: OrderStatus::Completed,
                    at,
                    reason: None,
                },
            });
        }
        let reason = format!(
            "insufficient stock for {}",
            short.iter().map(Sku::as_str).collect::<Vec<_>>().join(", ")
        );
        Ok(Settlement {
            outcome: FulfilmentOutcome::Failed { short },
            change: StatusChange {
                status: OrderStatus::Failed,
                at,
                reason: Some(reason),
            },
        })
    }

    /// Applies a settlement through the transition table. `Err` holds the status that
    /// refused it.
    pub fn apply(&mut self, settlement: &Settlement) -> Result<(), OrderStatus> {
        let change = settlement.change();
        self.transition(change.status, change.at, change.reason.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, NewOrderLine, Origin, Product, ProductName, Quantity, UserId};
    use std::collections::HashMap;

    fn order(lines: &[(&str, u32)]) -> Order {
        let products: Vec<Product> = lines
            .iter()
            .map(|(sku, _)| Product {
                sku: Sku::parse(sku).unwrap(),
                name: ProductName::parse("Thing").unwrap(),
                price_cents: crate::domain::Price::parse(100).unwrap(),
                currency: Currency::USD,
                stock: 0,
            })
            .collect();
        let asked: Vec<(NewOrderLine, &Product)> = lines
            .iter()
            .zip(&products)
            .map(|((sku, q), p)| {
                (
                    NewOrderLine {
                        sku: Sku::parse(sku).unwrap(),
                        quantity: Quantity::new(*q).unwrap(),
                    },
                    p,
                )
            })
            .collect();
        Order::place(UserId::new(), &asked, None, Origin::default(), Utc::now()).unwrap()
    }

    fn stock(on_hand: &[(&str, u32)]) -> impl Fn(&Sku) -> Option<u32> {
        let m: HashMap<String, u32> = on_hand.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        move |sku: &Sku| m.get(sku.as_str()).copied()
    }

    #[test]
    fn completes_when_every_line_is_covered_and_takes_each_line() {
        let o = order(&[("A", 2), ("B", 3)]);
        let at = Utc::now();
        let s = o.settlement(stock(&[("A", 2), ("B", 10)]), at).unwrap();
        assert_eq!(s.outcome(), &FulfilmentOutcome::Completed);
        assert_eq!(s.change().status, OrderStatus::Completed);
        assert_eq!(s.change().reason, None);
        let takes: Vec<(&str, u32)> = s.takes(&o).map(|(k, n)| (k.as_str(), n)).collect();
        assert_eq!(takes, [("A", 2), ("B", 3)]);
    }

    #[test]
    fn fails_naming_every_short_or_missing_sku_and_takes_nothing() {
        let o = order(&[("A", 2), ("B", 3), ("C", 1)]);
        let s = o
            .settlement(stock(&[("A", 1), ("C", 5)]), Utc::now())
            .unwrap();
        assert_eq!(
            s.outcome(),
            &FulfilmentOutcome::Failed {
                short: vec![Sku::parse("A").unwrap(), Sku::parse("B").unwrap()]
            }
        );
        assert_eq!(s.change().status, OrderStatus::Failed);
        assert_eq!(
            s.change().reason.as_deref(),
            Some("insufficient stock for A, B")
        );
        assert_eq!(s.takes(&o).count(), 0);
    }

    #[test]
    fn a_sku_on_two_lines_is_checked_against_their_sum() {
        let mut o = order(&[("A", 2)]);
        o.lines.push(o.lines[0].clone());
        let s = o.settlement(stock(&[("A", 3)]), Utc::now()).unwrap();
        assert!(matches!(s.outcome(), FulfilmentOutcome::Failed { .. }));
        let s = o.settlement(stock(&[("A", 4)]), Utc::now()).unwrap();
        assert_eq!(s.takes(&o).map(|(_, n)| n).sum::<u32>(), 4);
    }

    #[test]
    fn only_a_pending_order_settles_and_applying_goes_through_the_transition_table() {
        let mut o = order(&[("A", 1)]);
        let at = Utc::now();
        let s = o.settlement(stock(&[("A", 1)]), at).unwrap();
        o.apply(&s).unwrap();
        assert_eq!(o.status, OrderStatus::Completed);
        assert_eq!(s.email_due_at(), at);
        assert_eq!(o.history.last(), Some(s.change()));
        assert_eq!(o.apply(&s), Err(OrderStatus::Completed));
        assert_eq!(o.history.len(), 2);
        assert_eq!(
            o.settlement(stock(&[("A", 1)]), at),
            Err(OrderStatus::Completed)
        );
    }
}
