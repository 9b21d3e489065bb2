use aws_lc_rs::{digest, hmac};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use orderflow_core::domain::{RefreshSecret, RefreshTokenHash, Role, SessionFamilyId, UserId};
use orderflow_core::ports::{AccessClaims, AccessToken, TokenError, TokenIssuer};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The only algorithm accepted. Pinned, so a token that names another (`none`, RS256
/// with our secret as a "public key") is rejected before any signature check.
const ALGORITHM: Algorithm = Algorithm::HS256;
const ALGORITHM_NAME: &str = "HS256";

/// Marks a token as an access token; nothing else this service mints is a JWT, but the
/// claim keeps it that way if that ever changes.
const ACCESS_TYPE: &str = "access";

/// A named HMAC key. Secrets shorter than 32 bytes are refused: HS256 is only as strong
/// as its key.
#[derive(Clone)]
pub struct JwtKey {
    pub kid: String,
    pub secret: String,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwtKey {{ kid: {:?}, secret: <redacted> }}", self.kid)
    }
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: u64,
    /// How far this instance's clock may be behind the one that minted a token: a
    /// token is accepted this long before its `nbf`, so one minted by an instance whose
    /// clock runs ahead works at once here. Expiry stays exact.
    pub clock_skew_secs: u64,
    /// Signs every new token.
    pub signing: JwtKey,
    /// Still accepted for verification (keys being rotated out). The signing key is
    /// always accepted too.
    pub verify_also: Vec<JwtKey>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    /// The login (refresh-token family) the token belongs to.
    sid: String,
    typ: String,
    iss: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// The part of a token's header this service reads; other fields (`typ`) are ignored.
#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
    kid: Option<String>,
}

pub struct JwtIssuer {
    settings: JwtSettings,
    encoding: EncodingKey,
    /// One HMAC key per accepted key id: the key schedule is computed once, not per
    /// request.
    verifiers: HashMap<String, hmac::Key>,
    /// Keyed with the signing secret: derives a refresh token's successor.
    successors: hmac::Key,
}

impl JwtIssuer {
    pub const MIN_SECRET_BYTES: usize = 32;

    pub fn new(settings: JwtSettings) -> Result<Self, String> {
        let mut verifiers = HashMap::new();
        for key in std::iter::once(&settings.signing).chain(settings.verify_also.iter()) {
            if key.secret.len() < Self::MIN_SECRET_BYTES {
                return Err(format!(
                    "jwt key {:?}: secret must be at least {} bytes",
                    key.kid,
                    Self::MIN_SECRET_BYTES
                ));
            }
            if key.kid.is_empty() {
                return Err("jwt key id must not be empty".into());
            }
            let mac = hmac::Key::new(hmac::HMAC_SHA256, key.secret.as_bytes());
            verifiers.insert(key.kid.clone(), mac);
        }
        let successors = hmac::Key::new(hmac::HMAC_SHA256, settings.signing.secret.as_bytes());
        Ok(Self {
            successors,
            encoding: EncodingKey::from_secret(settings.signing.secret.as_bytes()),
            verifiers,
            settings,
        })
    }
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid("malformed token"))?;
    serde_json::from_slice(&bytes).map_err(|e| invalid(format!("malformed token: {e}")))
}

fn invalid(reason: impl Into<String>) -> TokenError {
    TokenError::Invalid(reason.into())
}

impl TokenIssuer for JwtIssuer {
    fn issue_access(
        &self,
        user: UserId,
        role: Role,
        session: SessionFamilyId,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, TokenError> {
        let iat = now.timestamp();
        let ttl = i64::try_from(self.settings.access_ttl_secs).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.to_string(),
            role: role.as_str().to_owned(),
            sid: session.0.to_string(),
            typ: ACCESS_TYPE.to_owned(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            iat,
            nbf: iat,
            exp: iat.saturating_add(ttl),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.settings.signing.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(AccessToken {
            token,
            expires_in_secs: self.settings.access_ttl_secs,
        })
    }

    fn verify_access(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        if token.len() > 4096 {
            return Err(invalid("token too long"));
        }
        // Checked by hand rather than with `jsonwebtoken::decode`, which parses the
        // header twice, keys a new HMAC and deserialises the claims twice per call, on
        // every authenticated request (its cost is in BENCHMARKS.md). The checks are the same:
        // pinned algorithm, known key id, constant-time signature comparison, then the
        // claims (all required by `Claims`), issuer and audience.
        let (signed, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| invalid("malformed token"))?;
        let (header, claims) = signed
            .split_once('.')
            .filter(|(_, claims)| !claims.contains('.'))
            .ok_or_else(|| invalid("malformed token"))?;
        let header: TokenHeader = decode_part(header)?;
        if header.alg != ALGORITHM_NAME {
            return Err(invalid("algorithm not allowed"));
        }
        let kid = header.kid.ok_or_else(|| invalid("missing key id"))?;
        let key = self
            .verifiers
            .get(&kid)
            .ok_or_else(|| invalid("unknown key id"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| invalid("malformed signature"))?;
        // Constant-time comparison.
        hmac::verify(key, signed.as_bytes(), &signature).map_err(|_| invalid("bad signature"))?;
        let c: Claims = decode_part(claims)?;
        if c.iss != self.settings.issuer {
            return Err(invalid("wrong issuer"));
        }
        if c.aud != self.settings.audience {
            return Err(invalid("wrong audience"));
        }
        let now = now.timestamp();
        if c.exp <= now {
            return Err(invalid("expired"));
        }
        let skew = i64::try_from(self.settings.clock_skew_secs).unwrap_or(i64::MAX);
        if c.nbf > now.saturating_add(skew) {
            return Err(invalid("not yet valid"));
        }
        if c.typ != ACCESS_TYPE {
            return Err(invalid("not an access token"));
        }
        let user_id = UserId::parse(&c.sub).ok_or_else(|| invalid("bad subject"))?;
        let role = Role::parse(&c.role).ok_or_else(|| invalid("bad role"))?;
        let session = uuid::Uuid::parse_str(&c.sid)
            .map(SessionFamilyId)
            .map_err(|_| invalid("bad session id"))?;
        Ok(AccessClaims {
            user_id,
            role,
            session,
        })
    }

    fn new_refresh(&self) -> (RefreshSecret, RefreshTokenHash) {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = RefreshSecret(URL_SAFE_NO_PAD.encode(bytes));
        let hash = self.hash_refresh(&secret);
        (secret, hash)
    }

    fn successor_refresh(&self, secret: &RefreshSecret) -> (RefreshSecret, RefreshTokenHash) {
        // Keyed with the signing secret, under a label of its own.
        let mut mac = hmac::Context::with_key(&self.successors);
        mac.update(b"orderflow refresh successor\0");
        mac.update(secret.0.as_bytes());
        let next = RefreshSecret(URL_SAFE_NO_PAD.encode(mac.sign()));
        let hash = self.hash_refresh(&next);
        (next, hash)
    }

    fn hash_refresh(&self, secret: &RefreshSecret) -> RefreshTokenHash {
        // A plain hash is enough: the input is 256 random bits, not a guessable password.
        RefreshTokenHash(hex_encode(
            digest::digest(&digest::SHA256, secret.0.as_bytes()).as_ref(),
        ))
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, c: char) -> JwtKey {
        JwtKey {
            kid: kid.into(),
            secret: c.to_string().repeat(40),
        }
    }

    fn issuer(signing: JwtKey, verify_also: Vec<JwtKey>) -> JwtIssuer {
        JwtIssuer::new(JwtSettings {
            issuer: "orderflow".into(),
            audience: "orderflow-api".into(),
            access_ttl_secs: 900,
            clock_skew_secs: 30,
            signing,
            verify_also,
        })
        .unwrap()
    }

    #[test]
    fn a_refresh_secrets_successor_is_fixed_by_the_secret_and_the_key() {
        let a = issuer(key("k1", 'a'), vec![]);
        let (secret, _) = a.new_refresh();
        let (s1, h1) = a.successor_refresh(&secret);
        let (s2, h2) = a.successor_refresh(&secret);
        assert_eq!(
            (&s1, &h1),
            (&s2, &h2),
            "the same secret, the same successor"
        );
        assert_eq!(h1, a.hash_refresh(&s1));
        assert!(s1.0.len() >= 43, "256 bits");
        assert_ne!(s1, secret);
        let (other, _) = a.new_refresh();
        assert_ne!(
            a.successor_refresh(&other).0,
            s1,
            "another secret, another successor"
        );
        let b = issuer(key("k1", 'b'), vec![]);
        assert_ne!(
            b.successor_refresh(&secret).0,
            s1,
            "without the key it cannot be computed"
        );
    }

    /// Vectors computed with Python's `hmac` and `hashlib`, not with this crate's backend:
    /// stored refresh hashes, successors derived by processes of an older build during a
    /// rolling deploy, and tokens minted by one build and checked by another all depend
    /// on these exact bytes.
    #[test]
    fn tokens_successors_and_hashes_match_an_independent_implementation() {
        let j = issuer(key("k1", 'a'), vec![]);
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJzdWIiOiIwMTkwZDRhMS03YzAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJyb2xlIjoiY3VzdG9tZXIiLCJzaWQiOiIwMTkwZDRhMS03YzAwLTcwMDAtODAwMC0wMDAwMDAwMDAwYWEiLCJ0eXAiOiJhY2Nlc3MiLCJpc3MiOiJvcmRlcmZsb3ciLCJhdWQiOiJvcmRlcmZsb3ctYXBpIiwiaWF0IjoxODkzNDU2MDAwLCJuYmYiOjE4OTM0NTYwMDAsImV4cCI6MTg5MzQ1NjkwMH0.wJSbNH2IMcb0W7Rm6fiu1TTd9MqI3HxO6a-IpOd1dbM";
        let at = DateTime::from_timestamp(1_893_456_100, 0).unwrap();
        let claims = j.verify_access(token, at).unwrap();
        assert_eq!(
            claims.user_id.to_string(),
            "0190d4a1-7c00-7000-8000-000000000001"
        );
        assert_eq!(claims.role, Role::Customer);
        let mut flipped = token.to_owned();
        flipped.pop();
        flipped.push('c');
        assert!(j.verify_access(&flipped, at).is_err());

        let secret = RefreshSecret("the-refresh-secret-of-a-fixed-test".into());
        let (next, hash) = j.successor_refresh(&secret);
        assert_eq!(next.0, "oU3TNq5i7TYYIrcC4BimEgWqLJDD2aFYZXInMBHqHYE");
        assert_eq!(
            hash.0,
            "e04c8a2881edc520b62936630c158484b7fd56d6a039b667834410846073d95c"
        );
    }

    fn forge(claims: serde_json::Value, header: Header, secret: &str) -> String {
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn good_claims(now: i64) -> serde_json::Value {
        serde_json::json!({"sub": UserId::new().to_string(), "role": "admin", "sid": uuid::Uuid::new_v4().to_string(), "typ": "access",
            "iss": "orderflow", "aud": "orderflow-api", "iat": now, "nbf": now, "exp": now + 60})
    }

    fn header(kid: &str) -> Header {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(kid.into());
        h
    }

    #[test]
    fn round_trip_and_expiry() {
        let j = issuer(key("k1", 'a'), vec![]);
        let now = Utc::now();
        let user = UserId::new();
        let session = SessionFamilyId::new();
        let t = j.issue_access(user, Role::Customer, session, now).unwrap();
        let c = j.verify_access(&t.token, now).unwrap();
        assert_eq!(
            c,
            AccessClaims {
                user_id: user,
                role: Role::Customer,
                session,
            }
        );
        assert!(j
            .verify_access(&t.token, now + chrono::Duration::seconds(900))
            .is_err());
        assert!(
            j.verify_access(&t.token, now - chrono::Duration::seconds(31))
                .is_err(),
            "nbf, beyond the clock-skew leeway"
        );
    }

    /// Instances' clocks differ: a token minted by one whose clock runs 20 s ahead
    /// must work at once on this one (within the 30 s leeway), not 20 s later.
    #[test]
    fn a_token_minted_on_a_clock_that_runs_ahead_works_at_once() {
        let j = issuer(key("k1", 'a'), vec![]);
        let here = Utc::now();
        let ahead = here + chrono::Duration::seconds(20);
        let t = j
            .issue_access(UserId::new(), Role::Customer, SessionFamilyId::new(), ahead)
            .unwrap();
        assert!(j.verify_access(&t.token, here).is_ok());
        let far_ahead = here + chrono::Duration::seconds(45);
        let t = j
            .issue_access(
                UserId::new(),
                Role::Customer,
                SessionFamilyId::new(),
                far_ahead,
            )
            .unwrap();
        assert!(
            j.verify_access(&t.token, here).is_err(),
            "beyond the leeway"
        );
    }

    #[test]
    fn tampered_and_foreign_tokens_are_rejected() {
        let j = issuer(key("k1", 'a'), vec![]);
        let now = Utc::now();
        let t = j
            .issue_access(UserId::new(), Role::Customer, SessionFamilyId::new(), now)
            .unwrap()
            .token;
        // Flip the role in the payload, keep the signature.
        let parts: Vec<&str> = t.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["role"] = "admin".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        );
        assert!(j.verify_access(&forged, now).is_err());

        let ts = now.timestamp();
        assert!(
            j.verify_access(&forge(good_claims(ts), header("k1"), &"b".repeat(40)), now)
                .is_err(),
            "other secret"
        );
        let mut wrong_iss = good_claims(ts);
        wrong_iss["iss"] = "evil".into();
        assert!(j
            .verify_access(&forge(wrong_iss, header("k1"), &"a".repeat(40)), now)
            .is_err());
        let mut wrong_aud = good_claims(ts);
        wrong_aud["aud"] = "other".into();
        assert!(j
            .verify_access(&forge(wrong_aud, header("k1"), &"a".repeat(40)), now)
            .is_err());
        let mut refresh_typ = good_claims(ts);
        refresh_typ["typ"] = "refresh".into();
        assert!(j
            .verify_access(&forge(refresh_typ, header("k1"), &"a".repeat(40)), now)
            .is_err());
        for sid in [serde_json::Value::Null, "not-a-uuid".into()] {
            let mut no_session = good_claims(ts);
            no_session["sid"] = sid;
            assert!(
                j.verify_access(&forge(no_session, header("k1"), &"a".repeat(40)), now)
                    .is_err(),
                "a token that names no login cannot be revoked, so it is refused"
            );
        }
        assert!(
            j.verify_access(&forge(good_claims(ts), header("k1"), &"a".repeat(40)), now)
                .is_ok(),
            "control"
        );
    }

    /// Any one-character change, truncation or extra segment makes a valid token
    /// invalid: the hand-written checks leave no part of the token unsigned.
    #[test]
    fn every_mutation_of_a_token_is_rejected() {
        let j = issuer(key("k1", 'a'), vec![]);
        let now = Utc::now();
        let t = j
            .issue_access(UserId::new(), Role::Customer, SessionFamilyId::new(), now)
            .unwrap()
            .token;
        assert!(j.verify_access(&t, now).is_ok());
        let alphabet = ['A', 'b', '0', '-', '_', '.', '='];
        let mut tried = 0;
        for i in 0..t.len() {
            for c in alphabet {
                let mut m: Vec<char> = t.chars().collect();
                if m[i] == c {
                    continue;
                }
                m[i] = c;
                let m: String = m.into_iter().collect();
                // Non-canonical base64 (changed trailing bits) is refused as well.
                if let Ok(c) = j.verify_access(&m, now) {
                    panic!("mutation at {i} accepted: {m} -> {c:?}");
                }
                tried += 1;
            }
        }
        assert!(tried > 1000);
        for bad in [
            &t[..t.len() - 1],
            &t[..t.rfind('.').unwrap()],
            &format!("{t}.x"),
            &format!("x.{t}"),
            "",
            "..",
            "a.b.c",
        ] {
            assert!(j.verify_access(bad, now).is_err(), "{bad:?} accepted");
        }
        let (h, rest) = t.split_once('.').unwrap();
        let no_kid = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        assert!(j.verify_access(&format!("{no_kid}.{rest}"), now).is_err());
        assert!(
            j.verify_access(&format!("{h}.{rest}"), now).is_ok(),
            "control"
        );
    }

    #[test]
    fn none_and_other_algorithms_are_rejected() {
        let j = issuer(key("k1", 'a'), vec![]);
        let now = Utc::now();
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let p = URL_SAFE_NO_PAD.encode(good_claims(now.timestamp()).to_string());
        assert!(j.verify_access(&format!("{h}.{p}."), now).is_err());
        let mut hs512 = Header::new(Algorithm::HS512);
        hs512.kid = Some("k1".into());
        assert!(j
            .verify_access(
                &forge(good_claims(now.timestamp()), hs512, &"a".repeat(40)),
                now
            )
            .is_err());
    }

    #[test]
    fn rotation_accepts_old_keys_and_signs_with_the_new_one() {
        let old = issuer(key("k1", 'a'), vec![]);
        let new = issuer(key("k2", 'b'), vec![key("k1", 'a')]);
        let now = Utc::now();
        let old_token = old
            .issue_access(UserId::new(), Role::Customer, SessionFamilyId::new(), now)
            .unwrap()
            .token;
        assert!(new.verify_access(&old_token, now).is_ok());
        let new_token = new
            .issue_access(UserId::new(), Role::Customer, SessionFamilyId::new(), now)
            .unwrap()
            .token;
        assert!(
            old.verify_access(&new_token, now).is_err(),
            "k2 unknown to the old issuer"
        );
        let retired = issuer(key("k2", 'b'), vec![]);
        assert!(
            retired.verify_access(&old_token, now).is_err(),
            "k1 retired"
        );
    }

    #[test]
    fn refresh_secrets_are_random_and_hash_consistently() {
        let j = issuer(key("k1", 'a'), vec![]);
        let (s1, h1) = j.new_refresh();
        let (s2, _) = j.new_refresh();
        assert_ne!(s1, s2);
        assert_eq!(j.hash_refresh(&s1), h1);
        assert!(s1.0.len() >= 43);
        assert!(
            j.verify_access(&s1.0, Utc::now()).is_err(),
            "a refresh token is not an access token"
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtIssuer::new(JwtSettings {
            issuer: "i".into(),
            audience: "a".into(),
            access_ttl_secs: 1,
            clock_skew_secs: 0,
            signing: JwtKey {
                kid: "k".into(),
                secret: "short".into()
            },
            verify_also: vec![],
        })
        .is_err());
    }
}
