use orderflow_core::domain::is_private_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;

/// A bound on one name lookup (the system resolver's own can be far longer).
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The system resolver, keeping only addresses a webhook may reach.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl GuardedResolver {
    /// The usable addresses of `host`, or why there are none.
    pub async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, String> {
        let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0)));
        let found: Vec<SocketAddr> = match lookup.await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(_)) => return Err(format!("{host} does not resolve")),
            Err(_) => return Err(format!("{host}: no DNS answer within {LOOKUP_TIMEOUT:?}")),
        };
        let usable: Vec<SocketAddr> = found
            .iter()
            .copied()
            .filter(|a| self.allow_private || !is_private_address(a.ip()))
            .collect();
        if usable.is_empty() {
            return Err(if found.is_empty() {
                format!("{host} does not resolve")
            } else {
                format!("{host} resolves only to private addresses, which webhooks.allow_private_networks refuses")
            });
        }
        Ok(usable)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = *self;
        Box::pin(async move {
            let addrs = this.lookup(name.as_str()).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
