use crate::{GuardedResolver, NameLookup, SystemLookup};
use orderflow_core::domain::WebhookUrl;
use orderflow_core::ports::{SendOutcome, WebhookSender};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The most of an answer's body read: receivers' bodies are not used, and a huge one
/// must not hold a sender.
pub const MAX_ANSWER_BYTES: usize = 4096;

#[derive(Debug, Clone)]
pub struct HttpSenderSettings {
    /// For the whole exchange: connect, send, answer.
    pub timeout: Duration,
    pub allow_private_networks: bool,
}

pub struct HttpSender {
    client: reqwest::Client,
    resolver: GuardedResolver,
}

impl HttpSender {
    pub fn new(s: &HttpSenderSettings) -> Result<Self, String> {
        Self::with_lookup(s, Arc::new(SystemLookup))
    }

    /// Like `new`, resolving names with `names` (tests give names any address).
    pub fn with_lookup(s: &HttpSenderSettings, names: Arc<dyn NameLookup>) -> Result<Self, String> {
        let resolver = GuardedResolver {
            allow_private: s.allow_private_networks,
            names,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(s.timeout)
            .connect_timeout(s.timeout)
            .dns_resolver(Arc::new(resolver.clone()))
            .no_proxy()
            .user_agent(concat!("Orderflow-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook HTTP client: {e}"))?;
        Ok(Self { client, resolver })
    }

    /// A literal address in the URL skips the resolver: it is checked here.
    fn literal_refused(&self, url: &WebhookUrl) -> Option<String> {
        let ip: IpAddr = url.host().parse().ok()?;
        (!self.resolver.may_reach(ip)).then(|| {
            format!("{ip} is not a globally reachable address, which webhooks.allow_private_networks refuses")
        })
    }
}

/// A short reason for a failed exchange, without the URL (the log shows it apart).
fn reason(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "no answer within webhooks.timeout_ms".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the exchange failed".to_owned()
    };
    // The innermost cause says most (a refused address, a TLS failure).
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text.chars().take(300).collect()
}

#[async_trait::async_trait]
impl WebhookSender for HttpSender {
    async fn check(&self, url: &WebhookUrl) -> Result<(), String> {
        if let Some(why) = self.literal_refused(url) {
            return Err(why);
        }
        if url.host().parse::<IpAddr>().is_ok() {
            return Ok(());
        }
        self.resolver.lookup(&url.host()).await.map(|_| ())
    }

    async fn post(
        &self,
        url: &WebhookUrl,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> SendOutcome {
        if let Some(why) = self.literal_refused(url) {
            return SendOutcome::NoAnswer(why);
        }
        let mut request = self.client.post(url.as_str()).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return SendOutcome::NoAnswer(reason(&e)),
        };
        let status = response.status().as_u16();
        // Read a little so a small answer leaves the connection reusable; stop there.
        let mut read = 0usize;
        while read < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        SendOutcome::Answered(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;

    async fn serve(app: axum::Router) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn sender(allow: bool, timeout_ms: u64) -> HttpSender {
        HttpSender::new(&HttpSenderSettings {
            timeout: Duration::from_millis(timeout_ms),
            allow_private_networks: allow,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn private_addresses_are_refused_unless_allowed() {
        let addr = serve(axum::Router::new().route("/", post(|| async { "ok" }))).await;
        let by_ip = WebhookUrl::parse(&format!("http://{addr}/")).unwrap();
        let by_name = WebhookUrl::parse(&format!("http://localhost:{}/", addr.port())).unwrap();
        let guarded = sender(false, 2000);
        for url in [&by_ip, &by_name] {
            assert!(guarded.check(url).await.is_err(), "{url:?}");
            match guarded.post(url, &[], b"{}".to_vec()).await {
                SendOutcome::NoAnswer(why) => assert!(why.contains("private"), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        let open = sender(true, 2000);
        assert_eq!(open.check(&by_name).await, Ok(()));
        assert_eq!(
            open.post(&by_ip, &[], b"{}".to_vec()).await,
            SendOutcome::Answered(200)
        );
    }

    #[tokio::test]
    async fn redirects_are_answers_and_slow_endpoints_time_out() {
        let app = axum::Router::new()
            .route(
                "/moved",
                post(|| async { axum::response::Redirect::temporary("/elsewhere") }),
            )
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/huge", post(|| async { vec![b'x'; 10 * 1024 * 1024] }));
        let addr = serve(app).await;
        let s = sender(true, 300);
        let url = |p: &str| WebhookUrl::parse(&format!("http://{addr}{p}")).unwrap();
        assert_eq!(
            s.post(&url("/moved"), &[], vec![]).await,
            SendOutcome::Answered(307)
        );
        match s.post(&url("/slow"), &[], vec![]).await {
            SendOutcome::NoAnswer(why) => assert!(why.contains("timeout_ms"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            s.post(&url("/huge"), &[], vec![]).await,
            SendOutcome::Answered(200)
        );
    }
}
