//! The running process's admin API as the command line reaches it: for state that
//! lives inside that process (the in-memory queue and store), logging in as the
//! configured bootstrap admin at `http.bind`.

use crate::config::Config;
use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::Value;

pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl AdminClient {
    /// Logs in; `what` names what lives in that process, for the error.
    pub async fn login(c: &Config, what: &str) -> anyhow::Result<Self> {
        let (Some(email), Some(password)) = (&c.bootstrap.admin_email, &c.bootstrap.admin_password)
        else {
            bail!("{what} is only reachable through the running process's admin API, and no bootstrap admin is configured");
        };
        let addr = crate::healthcheck::local_address(c.http.bind);
        let base = format!("http://{addr}");
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let login = http
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password.expose()}))
            .send()
            .await
            .with_context(|| {
                format!("no orderflow process answers at {base} ({what} lives there)")
            })?;
        if !login.status().is_success() {
            bail!("logging in as {email} at {base} failed: {}", login.status());
        }
        let token = login.json::<Value>().await?["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(Self { http, base, token })
    }

    /// Calls `path` as the admin; an error status becomes an error naming the problem.
    pub async fn call(&self, method: Method, path: &str) -> anyhow::Result<Value> {
        let res = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "{status}: {}",
                body["detail"].as_str().unwrap_or("no detail given")
            );
        }
        Ok(body)
    }
}

/// `text` percent-encoded for a URL path segment or query value: every byte but ASCII
/// letters, digits, `-` and `_` as `%XX`, so the server reads the text as it was given.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
