use super::ParseError;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// An email address in one spelling per mailbox: trimmed, Unicode NFC, lower-cased,
/// and the domain in its IDNA ASCII form (`bücher.de` → `xn--bcher-kva.de`), so the
/// composed and decomposed forms of one name, or a domain written in capitals or
/// full-width letters, are one account. Invisible characters (control, zero-width,
/// bidirectional overrides) are refused: they let two addresses that look the same
/// be two accounts.
///
/// Validation is otherwise structural (one `@`, a dotted domain, RFC length limits):
/// the only real proof of an address is mail reaching it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = |m: &str| Err(ParseError::new("email", m));
        let trimmed = raw.trim();
        if trimmed.chars().any(invisible) {
            return bad("must not contain control, zero-width or bidirectional characters");
        }
        let s: String = trimmed.nfc().collect::<String>().to_lowercase();
        if s.is_empty() {
            return bad("must not be empty");
        }
        if s.chars().any(char::is_whitespace) {
            return bad("must not contain whitespace");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("must contain '@'");
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return bad("is not a valid address");
        }
        let Ok(domain) = idna::domain_to_ascii(domain) else {
            return bad("has an invalid domain");
        };
        let s = format!("{local}@{domain}");
        if s.len() > 254 {
            return bad("must be at most 254 characters");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
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

/// Characters that change how an address looks or reads without being seen: control
/// characters, zero-width characters and joiners, and bidirectional marks, embeddings,
/// overrides and isolates.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
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
    fn one_mailbox_has_one_spelling_whatever_its_unicode_form() {
        let composed = Email::parse("jos\u{e9}@b\u{fc}cher.de").unwrap();
        let decomposed = Email::parse("jose\u{301}@bu\u{308}cher.DE").unwrap();
        assert_eq!(
            composed, decomposed,
            "NFC: é and e + combining accent are one"
        );
        assert_eq!(
            composed.as_str(),
            "jos\u{e9}@xn--bcher-kva.de",
            "the domain in IDNA ASCII"
        );
        assert_eq!(
            Email::parse("ada@ｅｘａｍｐｌｅ.com").unwrap().as_str(),
            "ada@example.com",
            "full-width domain letters map to ASCII"
        );
        assert_eq!(
            Email::parse("ada@xn--bcher-kva.de").unwrap(),
            Email::parse("ada@bücher.de").unwrap(),
            "the punycode spelling is the same account"
        );
    }

    #[test]
    fn rejects_invisible_characters() {
        for raw in [
            "ad\u{200B}a@example.com",
            "ada\u{200D}@example.com",
            "\u{202E}ada@example.com",
            "ada@exa\u{2066}mple.com",
            "ada\u{FEFF}@example.com",
            "ad\u{00AD}a@example.com",
            "ada\u{0007}@example.com",
            "ada@\u{200F}example.com",
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
