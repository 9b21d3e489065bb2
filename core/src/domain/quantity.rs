use super::ParseError;
use serde::{Deserialize, Serialize};

/// How many units of one SKU a line asks for: a whole number in 1..=1000. The cap
/// keeps a single order from draining a warehouse by typo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 1000;

    pub fn new(n: u32) -> Result<Self, ParseError> {
        if n == 0 || n > Self::MAX {
            return Err(ParseError::new(
                "quantity",
                format!("must be a whole number from 1 to {}", Self::MAX),
            ));
        }
        Ok(Self(n))
    }

    /// Parses any JSON-ish integer, so negative and oversized values get the same
    /// clear message instead of an overflow.
    pub fn from_i64(n: i64) -> Result<Self, ParseError> {
        u32::try_from(n)
            .map_err(|_| {
                ParseError::new(
                    "quantity",
                    format!("must be a whole number from 1 to {}", Self::MAX),
                )
            })
            .and_then(Self::new)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = ParseError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> Self {
        q.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(Quantity::new(0).is_err());
        assert_eq!(Quantity::new(1).unwrap().get(), 1);
        assert_eq!(Quantity::new(1000).unwrap().get(), 1000);
        assert!(Quantity::new(1001).is_err());
        assert!(Quantity::from_i64(-1).is_err());
        assert!(Quantity::from_i64(i64::MAX).is_err());
    }
}
