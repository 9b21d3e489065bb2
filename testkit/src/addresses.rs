//! Addresses a webhook must not reach unless private networks are allowed (one per
//! block of the IANA IPv4 and IPv6 Special-Purpose Address Registries, plus multicast,
//! reserved space and IPv4 reached through an IPv6 prefix that carries it), addresses
//! it may reach, and a name table that gives test names any of them.

use orderflow_adapter_http::NameLookup;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// (block, an address in it) for every block that is not globally reachable.
pub const NOT_GLOBAL: &[(&str, &str)] = &[
    ("0.0.0.0/8 this network", "0.1.2.3"),
    ("0.0.0.0/32", "0.0.0.0"),
    ("10.0.0.0/8 private", "10.1.2.3"),
    ("100.64.0.0/10 shared (CGNAT)", "100.127.255.254"),
    ("127.0.0.0/8 loopback", "127.0.0.1"),
    ("169.254.0.0/16 link-local (metadata)", "169.254.169.254"),
    ("172.16.0.0/12 private", "172.31.0.1"),
    ("192.0.0.0/24 IETF protocol assignments", "192.0.0.1"),
    ("192.0.0.8/32 dummy", "192.0.0.8"),
    (
        "192.0.0.9/32 PCP anycast (refused with its /24)",
        "192.0.0.9",
    ),
    ("192.0.0.170/32 NAT64 discovery", "192.0.0.170"),
    ("192.0.2.0/24 TEST-NET-1", "192.0.2.1"),
    ("192.88.99.0/24 6to4 relay anycast", "192.88.99.1"),
    ("192.168.0.0/16 private", "192.168.1.1"),
    ("198.18.0.0/15 benchmarking", "198.18.0.1"),
    ("198.18.0.0/15 benchmarking, its top", "198.19.255.254"),
    ("198.51.100.0/24 TEST-NET-2", "198.51.100.1"),
    ("203.0.113.0/24 TEST-NET-3", "203.0.113.1"),
    ("224.0.0.0/4 multicast", "239.255.255.250"),
    ("240.0.0.0/4 reserved", "240.0.0.1"),
    ("255.255.255.255/32 broadcast", "255.255.255.255"),
    ("::1/128 loopback", "::1"),
    ("::/128 unspecified", "::"),
    ("::/96 IPv4-compatible (deprecated)", "::7f00:1"),
    ("::ffff:0:0/96 IPv4-mapped loopback", "::ffff:127.0.0.1"),
    (
        "::ffff:0:0/96 IPv4-mapped metadata",
        "::ffff:169.254.169.254",
    ),
    ("64:ff9b::/96 NAT64 to metadata", "64:ff9b::a9fe:a9fe"),
    ("64:ff9b::/96 NAT64 to loopback", "64:ff9b::7f00:1"),
    ("64:ff9b::/96 NAT64 to private", "64:ff9b::10.0.0.1"),
    ("64:ff9b::/96 NAT64 to benchmarking", "64:ff9b::198.18.0.1"),
    ("64:ff9b:1::/48 local-use NAT64", "64:ff9b:1::808:808"),
    ("100::/64 discard-only", "100::1"),
    ("100:0:0:1::/64 dummy prefix", "100:0:0:1::1"),
    ("2001::/23 IETF protocol assignments", "2001:1::4"),
    ("2001::/32 Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
    ("2001:2::/48 benchmarking", "2001:2::1"),
    ("2001:10::/28 ORCHID (deprecated)", "2001:10::1"),
    ("2001:db8::/32 documentation", "2001:db8::1"),
    ("2002::/16 6to4 to loopback", "2002:7f00:1::1"),
    ("2002::/16 6to4 to metadata", "2002:a9fe:a9fe::1"),
    ("3fff::/20 documentation", "3fff::1"),
    ("5f00::/16 segment routing SIDs", "5f00::1"),
    ("fc00::/7 unique-local", "fd00::1"),
    ("fe80::/10 link-local", "fe80::1"),
    ("fec0::/10 site-local (deprecated)", "fec0::1"),
    ("ff00::/8 multicast", "ff02::1"),
];

/// Addresses a webhook may reach: public ones, the registries' globally reachable
/// special-purpose blocks, and public IPv4 through NAT64 and 6to4.
pub const GLOBAL: &[&str] = &[
    "8.8.8.8",
    "93.184.216.34",
    "198.20.0.1",
    "192.31.196.1",
    "192.52.193.1",
    "192.175.48.1",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "2001:4:112::1",
    "2001:20::1",
    "2620:4f:8000::1",
    "64:ff9b::808:808",
    "::ffff:8.8.8.8",
    "2002:808:808::1",
];

/// `http://` and the address as a URL host (IPv6 in brackets).
pub fn url_of(ip: &str) -> String {
    if ip.contains(':') {
        format!("http://[{ip}]/hook")
    } else {
        format!("http://{ip}/hook")
    }
}

/// Names resolved from a table the test fills and changes; unknown names do not
/// resolve.
#[derive(Debug, Clone, Default)]
pub struct NameTable(Arc<Mutex<HashMap<String, Vec<IpAddr>>>>);

impl NameTable {
    /// From now on `name` resolves to `ip`.
    pub fn set(&self, name: &str, ip: &str) {
        let ip: IpAddr = ip.parse().expect("a test address");
        self.0.lock().insert(name.to_owned(), vec![ip]);
    }
}

#[async_trait::async_trait]
impl NameLookup for NameTable {
    async fn addresses(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        self.0.lock().get(host).cloned().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host}: no such name"),
            )
        })
    }
}
