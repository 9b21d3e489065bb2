use super::ParseError;
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased so that one mailbox has one spelling.
///
/// Validation is deliberately structural (one `@`, a dotted domain, no whitespace or
/// control characters, RFC length limits): the only real proof of an address is mail
/// reaching it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_lowercase();
        let bad = |m: &str| Err(ParseError::new("email", m));
        if s.is_empty() {
            return bad("must not be empty");
        }
        if s.len() > 254 {
            return bad("must be at most 254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("must not contain whitespace");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("must contain '@'");
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return bad("is not a valid address");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return bad("has an invalid domain");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for raw in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@-x.com",
            "ada@x..com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn rejects_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long).is_err());
        let long_domain = format!("a@{}.com", "b".repeat(250));
        assert!(Email::parse(&long_domain).is_err());
    }
}
