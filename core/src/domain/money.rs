use super::ParseError;
use serde::{Deserialize, Serialize};

/// An ISO 4217 alphabetic code: three upper-case ASCII letters. Stored inline so
/// copying money never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let b = raw.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_uppercase()) {
            return Err(ParseError::new(
                "currency",
                "must be a three-letter ISO 4217 code such as USD",
            ));
        }
        Ok(Self([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters get in through `parse`.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl std::fmt::Debug for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = ParseError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

/// An amount in minor units (cents) of one currency. Never a float: sums are exact and
/// overflow is an error, not a wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub cents: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(cents: i64, currency: Currency) -> Self {
        Self { cents, currency }
    }

    /// `self × n`, or `None` on overflow.
    pub fn times(self, n: u32) -> Option<Money> {
        self.cents
            .checked_mul(i64::from(n))
            .map(|cents| Money { cents, ..self })
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// `self + other`, or `None` on overflow or mixed currencies.
    pub fn plus(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        self.cents
            .checked_add(other.cents)
            .map(|cents| Money { cents, ..self })
    }
}

/// A unit price in minor units, parsed once: from 0 to `Price::MAX` (a billion units
/// of a two-decimal currency), so a line of up to `Product::MAX_STOCK` units and an
/// order of `MAX_ORDER_LINES` lines stay far inside i64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Price(i64);

impl Price {
    pub const MAX: i64 = 100_000_000_000;

    pub fn parse(cents: i64) -> Result<Self, ParseError> {
        if !(0..=Self::MAX).contains(&cents) {
            return Err(ParseError::new(
                "price_cents",
                format!("must be from 0 to {}", Self::MAX),
            ));
        }
        Ok(Self(cents))
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn of(self, currency: Currency) -> Money {
        Money::new(self.0, currency)
    }
}

impl TryFrom<i64> for Price {
    type Error = ParseError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::parse(v)
    }
}

impl From<Price> for i64 {
    fn from(p: Price) -> Self {
        p.0
    }
}

/// `12.50 USD`: exact, from integer minor units (two decimals, as for every currency
/// the catalog takes today).
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let c = self.cents.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", c / 100, c % 100, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_exactly() {
        assert_eq!(Money::new(1250, Currency::USD).to_string(), "12.50 USD");
        assert_eq!(Money::new(5, Currency::USD).to_string(), "0.05 USD");
        assert_eq!(Money::new(-101, Currency::USD).to_string(), "-1.01 USD");
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        for raw in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn prices_are_bounded_when_parsed() {
        assert_eq!(Price::parse(0).unwrap().cents(), 0);
        assert_eq!(Price::parse(Price::MAX).unwrap().cents(), Price::MAX);
        assert!(Price::parse(-1).is_err());
        assert!(Price::parse(Price::MAX + 1).is_err());
        assert!(serde_json::from_str::<Price>("-5").is_err());
        assert_eq!(
            Price::parse(250).unwrap().of(Currency::USD),
            Money::new(250, Currency::USD)
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        let usd = Money::new(250, Currency::USD);
        assert_eq!(usd.times(3).unwrap().cents, 750);
        assert!(Money::new(i64::MAX, Currency::USD).times(2).is_none());
        let eur = Money::new(1, Currency::parse("EUR").unwrap());
        assert!(usd.plus(eur).is_none());
        assert_eq!(usd.plus(usd).unwrap().cents, 500);
    }
}
