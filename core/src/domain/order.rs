use super::{
    Currency, IdempotencyKey, Money, OrderId, OrderStatus, ParseError, Price, Product, Quantity,
    Sku, UserId,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many lines per order: a bound on the work one request can cause.
pub const MAX_ORDER_LINES: usize = 50;

/// Where a placement came from: the request's id and, when tracing is on, its W3C
/// `traceparent`. Both travel with the order into the worker's logs and spans, also
/// when the relay's scan publishes it long after the request ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
}

/// One line as a customer asks for it, before prices are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// One line of a placed order. Name and price are copied from the product at
/// placement, so later catalog edits never change what the customer agreed to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: Sku,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price_cents: Price,
}

impl OrderLine {
    pub fn line_total_cents(&self) -> i64 {
        // Bounded at placement: `Order::place` refuses totals that overflow.
        self.unit_price_cents
            .cents()
            .saturating_mul(i64::from(self.quantity.get()))
    }
}

/// One entry of an order's history: every status change is appended, never rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An order: what was asked for, at what price, and what became of it. What the relay
/// and the notification ledger record about it (publication, refusals, the owed email)
/// is theirs, behind `ports::Outbox` and `ports::NotificationLedger`; a store may keep
/// it beside the order in one record, so neither hand-off is lost between two writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub total_cents: i64,
    pub currency: Currency,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<StatusChange>,
    /// The client's key, unique per user when present.
    pub idempotency_key: Option<IdempotencyKey>,
    /// A digest of what was asked for, to tell a replay from a conflicting reuse of a key.
    pub request_fingerprint: String,
    /// The request that placed it, carried into the worker's logs.
    pub request_id: Option<String>,
    /// The placing request's W3C trace context, so the worker's spans join its trace.
    #[serde(default)]
    pub traceparent: Option<String>,
}

impl Order {
    /// Builds a pending order from requested lines and the products they name, in the
    /// same order. Refuses mixed currencies and totals that do not fit in i64.
    pub fn place(
        user_id: UserId,
        lines: &[(NewOrderLine, &Product)],
        idempotency_key: Option<IdempotencyKey>,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Order, ParseError> {
        let Some((_, first)) = lines.first() else {
            return Err(ParseError::new("items", "must contain at least one item"));
        };
        let currency = first.currency;
        let too_large = || ParseError::new("items", "order total is too large");
        let mut total = Money::zero(currency);
        let mut out = Vec::with_capacity(lines.len());
        for (line, product) in lines {
            if product.currency != currency {
                return Err(ParseError::new(
                    "items",
                    "all items of one order must share a currency",
                ));
            }
            let line_total = product
                .price()
                .times(line.quantity.get())
                .ok_or_else(too_large)?;
            total = total.plus(line_total).ok_or_else(too_large)?;
            out.push(OrderLine {
                sku: line.sku.clone(),
                name: product.name.as_str().to_owned(),
                quantity: line.quantity,
                unit_price_cents: product.price_cents,
            });
        }
        let requested: Vec<NewOrderLine> = lines.iter().map(|(l, _)| l.clone()).collect();
        Ok(Order {
            id: OrderId::new(),
            user_id,
            status: OrderStatus::Pending,
            lines: out,
            total_cents: total.cents,
            currency,
            created_at: now,
            updated_at: now,
            history: vec![StatusChange {
                status: OrderStatus::Pending,
                at: now,
                reason: None,
            }],
            idempotency_key,
            request_fingerprint: Self::fingerprint(&requested),
            request_id: origin.request_id,
            traceparent: origin.traceparent,
        })
    }

    /// A canonical digest of the requested lines. Line order does not matter: the
    /// same basket in another order is the same request.
    pub fn fingerprint(lines: &[NewOrderLine]) -> String {
        let mut parts: Vec<String> = lines
            .iter()
            .map(|l| format!("{}\u{1f}{}", l.sku, l.quantity.get()))
            .collect();
        parts.sort();
        parts.join("\u{1e}")
    }

    /// Applies a status change if the transition table allows it.
    pub fn transition(
        &mut self,
        to: OrderStatus,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<(), OrderStatus> {
        if !self.status.can_become(to) {
            return Err(self.status);
        }
        self.status = to;
        self.updated_at = at;
        self.history.push(StatusChange {
            status: to,
            at,
            reason,
        });
        Ok(())
    }

    pub fn total(&self) -> Money {
        Money::new(self.total_cents, self.currency)
    }

    pub fn cursor(&self) -> OrderCursor {
        OrderCursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

/// A position in a user's order list, newest first: the (created_at, id) of the last
/// order of the previous page. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCursor {
    pub created_at: DateTime<Utc>,
    pub id: OrderId,
}

impl OrderCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("cursor", "is not a cursor this API returned");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (micros, id) = text.split_once('|').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = OrderId::parse(id).ok_or_else(bad)?;
        Ok(Self { created_at, id })
    }

    /// True if `order` comes after this cursor in newest-first order.
    pub fn is_before(&self, order: &Order) -> bool {
        (order.created_at, order.id) < (self.created_at, self.id)
    }
}

#[derive(Debug, Clone)]
pub struct OrderPage {
    pub items: Vec<Order>,
    pub next: Option<OrderCursor>,
}

impl OrderPage {
    /// A page from up to `limit + 1` items in list order: the extra one only says that
    /// another page exists, so stores answer with one query.
    pub fn from_overfetch(mut items: Vec<Order>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(Order::cursor)
        } else {
            None
        };
        Self { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProductName;

    fn product(sku: &str, cents: i64, currency: &str) -> Product {
        Product {
            sku: Sku::parse(sku).unwrap(),
            name: ProductName::parse("Thing").unwrap(),
            price_cents: Price::parse(cents).unwrap(),
            currency: Currency::parse(currency).unwrap(),
            stock: 10,
        }
    }

    fn line(sku: &str, q: u32) -> NewOrderLine {
        NewOrderLine {
            sku: Sku::parse(sku).unwrap(),
            quantity: Quantity::new(q).unwrap(),
        }
    }

    #[test]
    fn place_snapshots_prices_and_totals() {
        let a = product("A", 250, "USD");
        let b = product("B", 100, "USD");
        let o = Order::place(
            UserId::new(),
            &[(line("A", 2), &a), (line("B", 3), &b)],
            None,
            Origin::default(),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(o.total_cents, 800);
        assert_eq!(o.lines[0].unit_price_cents.cents(), 250);
        assert_eq!(o.total(), Money::new(800, Currency::USD));
        assert_eq!(o.lines[1].line_total_cents(), 300);
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(o.history.len(), 1);
    }

    #[test]
    fn place_refuses_mixed_currency_and_totals_the_largest_order_exactly() {
        let a = product("A", 250, "USD");
        let b = product("B", 100, "EUR");
        assert!(Order::place(
            UserId::new(),
            &[(line("A", 1), &a), (line("B", 1), &b)],
            None,
            Origin::default(),
            Utc::now()
        )
        .is_err());
        // The largest order that can be asked for still has an exact total.
        let dear: Vec<Product> = (0..MAX_ORDER_LINES)
            .map(|i| product(&format!("D{i}"), Price::MAX, "USD"))
            .collect();
        let lines: Vec<(NewOrderLine, &Product)> = dear
            .iter()
            .map(|p| (line(p.sku.as_str(), Quantity::MAX), p))
            .collect();
        let o = Order::place(UserId::new(), &lines, None, Origin::default(), Utc::now()).unwrap();
        assert_eq!(
            o.total_cents,
            Price::MAX * i64::from(Quantity::MAX) * MAX_ORDER_LINES as i64
        );
    }

    #[test]
    fn terminal_orders_never_change_and_history_grows() {
        let a = product("A", 1, "USD");
        let mut o = Order::place(
            UserId::new(),
            &[(line("A", 1), &a)],
            None,
            Origin::default(),
            Utc::now(),
        )
        .unwrap();
        o.transition(OrderStatus::Completed, Utc::now(), None)
            .unwrap();
        assert_eq!(
            o.transition(OrderStatus::Cancelled, Utc::now(), None),
            Err(OrderStatus::Completed)
        );
        assert_eq!(o.history.len(), 2);
    }

    #[test]
    fn fingerprint_ignores_line_order() {
        assert_eq!(
            Order::fingerprint(&[line("A", 1), line("B", 2)]),
            Order::fingerprint(&[line("B", 2), line("A", 1)])
        );
        assert_ne!(
            Order::fingerprint(&[line("A", 1)]),
            Order::fingerprint(&[line("A", 2)])
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = OrderCursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: OrderId::new(),
        };
        assert_eq!(OrderCursor::decode(&c.encode()).unwrap(), c);
        for raw in [
            "",
            "!!",
            "bm90IGEgY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("12|nope"),
        ] {
            assert!(OrderCursor::decode(raw).is_err(), "{raw}");
        }
    }
}
