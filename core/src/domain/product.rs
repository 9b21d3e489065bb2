use super::{Currency, Money, ParseError, Price, Sku};
use serde::{Deserialize, Serialize};

/// A product's display name: 1..=200 characters, not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductName(String);

impl ProductName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > 200 {
            return Err(ParseError::new("name", "must be 1 to 200 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProductName {
    type Error = ParseError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<ProductName> for String {
    fn from(n: ProductName) -> Self {
        n.0
    }
}

/// A sellable item and how many units are on hand. `stock` is unsigned: the type
/// itself rules out negative stock, and every decrement is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: Sku,
    pub name: ProductName,
    /// Price of one unit.
    pub price_cents: Price,
    pub currency: Currency,
    pub stock: u32,
}

impl Product {
    pub fn price(&self) -> Money {
        self.price_cents.of(self.currency)
    }

    pub fn validate_stock(n: i64) -> Result<u32, ParseError> {
        u32::try_from(n)
            .ok()
            .filter(|n| *n <= Self::MAX_STOCK)
            .ok_or_else(|| {
                ParseError::new("stock", format!("must be from 0 to {}", Self::MAX_STOCK))
            })
    }

    pub const MAX_STOCK: u32 = 1_000_000_000;
}

/// A change to a product requested by an admin. `stock_delta` is relative so two
/// admins restocking at once both count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub name: Option<ProductName>,
    pub price_cents: Option<Price>,
    pub stock_delta: Option<i64>,
}

/// Products are listed in SKU order; the cursor is the last SKU of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductCursor(pub Sku);

#[derive(Debug, Clone)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next: Option<ProductCursor>,
}

impl ProductPage {
    /// A page from up to `limit + 1` products in SKU order (see `OrderPage::from_overfetch`).
    pub fn from_overfetch(mut items: Vec<Product>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|p| ProductCursor(p.sku.clone()))
        } else {
            None
        };
        Self { items, next }
    }
}
