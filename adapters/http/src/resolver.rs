use orderflow_core::domain::is_globally_reachable;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A bound on one name lookup (the system resolver's own can be far longer).
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Where a name's addresses come from: the system resolver in the product; a table in
/// tests, which need names that answer with any address.
#[async_trait::async_trait]
pub trait NameLookup: Send + Sync + std::fmt::Debug {
    async fn addresses(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo`, on a blocking thread).
#[derive(Debug, Clone, Copy)]
pub struct SystemLookup;

#[async_trait::async_trait]
impl NameLookup for SystemLookup {
    async fn addresses(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// Resolves names, keeping only addresses a webhook may reach.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allow_private: bool,
    pub names: Arc<dyn NameLookup>,
}

impl GuardedResolver {
    /// Whether a webhook may reach `ip` under these settings.
    pub fn may_reach(&self, ip: IpAddr) -> bool {
        self.allow_private || is_globally_reachable(ip)
    }

    /// The usable addresses of `host`, or why there are none.
    pub async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, String> {
        let found = match tokio::time::timeout(LOOKUP_TIMEOUT, self.names.addresses(host)).await {
            Ok(Ok(addrs)) => addrs,
            Ok(Err(_)) => return Err(format!("{host} does not resolve")),
            Err(_) => return Err(format!("{host}: no DNS answer within {LOOKUP_TIMEOUT:?}")),
        };
        let usable: Vec<SocketAddr> = found
            .iter()
            .filter(|ip| self.may_reach(**ip))
            .map(|ip| SocketAddr::new(*ip, 0))
            .collect();
        if usable.is_empty() {
            return Err(match found.first() {
                None => format!("{host} does not resolve"),
                Some(ip) => format!(
                    "{host} resolves only to addresses that are not globally reachable ({ip}), which webhooks.allow_private_networks refuses"
                ),
            });
        }
        Ok(usable)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.lookup(name.as_str()).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
