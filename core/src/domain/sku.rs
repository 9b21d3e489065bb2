use super::ParseError;
use serde::{Deserialize, Serialize};

/// A stock-keeping unit: 1..=64 characters of `[A-Za-z0-9._-]`. Case-sensitive, as
/// warehouses print them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() || raw.len() > 64 {
            return Err(ParseError::new("sku", "must be 1 to 64 characters"));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(ParseError::new(
                "sku",
                "may only contain A-Z, a-z, 0-9, '.', '_' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(s: Sku) -> Self {
        s.0
    }
}

impl std::fmt::Display for Sku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(Sku::parse("A-z_0.9").is_ok());
        assert!(Sku::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_everything_else() {
        for raw in ["", " ", "a b", "ä", "a/b", "a;b"] {
            assert!(Sku::parse(raw).is_err(), "{raw:?}");
        }
        assert!(Sku::parse(&"x".repeat(65)).is_err());
    }
}
