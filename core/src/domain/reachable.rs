//! Which addresses a webhook may reach on a deployment that keeps it off private
//! networks: the globally reachable ones, after the IANA IPv4 and IPv6 Special-Purpose
//! Address Registries (RFC 6890 and its updates), plus multicast and the reserved
//! spaces. An address that carries an IPv4 address (IPv4-mapped, the NAT64 well-known
//! prefix, 6to4) is judged by the IPv4 address it leads to: that is where a packet to
//! it ends up on a network that translates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 blocks that are not globally reachable: (network, prefix length).
const IPV4_NOT_GLOBAL: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network" (RFC 791)
    ([10, 0, 0, 0], 8),      // private use (RFC 1918)
    ([100, 64, 0, 0], 10),   // shared address space, carrier-grade NAT (RFC 6598)
    ([127, 0, 0, 0], 8),     // loopback (RFC 1122)
    ([169, 254, 0, 0], 16),  // link-local, where cloud metadata services answer (RFC 3927)
    ([172, 16, 0, 0], 12),   // private use (RFC 1918)
    ([192, 0, 0, 0], 24),    // IETF protocol assignments (RFC 6890), with its anycast /32s
    ([192, 0, 2, 0], 24),    // documentation, TEST-NET-1 (RFC 5737)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast, deprecated (RFC 7526)
    ([192, 168, 0, 0], 16),  // private use (RFC 1918)
    ([198, 18, 0, 0], 15),   // benchmarking (RFC 2544)
    ([198, 51, 100, 0], 24), // documentation, TEST-NET-2 (RFC 5737)
    ([203, 0, 113, 0], 24),  // documentation, TEST-NET-3 (RFC 5737)
    ([224, 0, 0, 0], 4),     // multicast (RFC 5771)
    ([240, 0, 0, 0], 4),     // reserved (RFC 1112), with the limited broadcast address
];

/// IPv6 blocks inside global unicast (2000::/3) that are not globally reachable.
/// Everything outside 2000::/3 is refused apart from the prefixes that carry an IPv4
/// address: loopback, unspecified, IPv4-compatible, the local-use NAT64 prefix
/// (64:ff9b:1::/48, RFC 8215, whatever it embeds), discard-only (100::/64), the dummy
/// prefix, segment-routing SIDs (5f00::/16), unique-local, link-local, site-local and
/// multicast all lie outside it.
const IPV6_NOT_GLOBAL: &[([u16; 8], u8)] = &[
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments (RFC 2928), Teredo included
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation (RFC 3849)
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation (RFC 9637)
];

/// The globally reachable exceptions inside 2001::/23 (the registry's "True" rows).
const IPV6_GLOBAL_IN_IETF: &[([u16; 8], u8)] = &[
    ([0x2001, 1, 0, 0, 0, 0, 0, 1], 128), // PCP anycast (RFC 7723)
    ([0x2001, 1, 0, 0, 0, 0, 0, 2], 128), // TURN anycast (RFC 8155)
    ([0x2001, 1, 0, 0, 0, 0, 0, 3], 128), // DNS-SD service registration (RFC 9665)
    ([0x2001, 3, 0, 0, 0, 0, 0, 0], 32),  // AMT (RFC 7450)
    ([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48), // AS112-v6 (RFC 7535)
    ([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28), // ORCHIDv2 (RFC 7343)
    ([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28), // drone remote ID DETs (RFC 9374)
];

/// The NAT64 well-known prefix (RFC 6052): 64:ff9b::/96, the IPv4 address in the last
/// 32 bits.
const NAT64_WELL_KNOWN: [u16; 6] = [0x64, 0xff9b, 0, 0, 0, 0];

/// 6to4 (RFC 3056): 2002::/16, the relay's IPv4 address in bits 16 to 47.
const SIX_TO_FOUR: u16 = 0x2002;

/// True when a webhook may reach `ip` on a deployment that refuses private networks.
pub fn is_globally_reachable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_global(v4),
        IpAddr::V6(v6) => v6_is_global(v6),
    }
}

fn v4_is_global(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !IPV4_NOT_GLOBAL.iter().any(|&(net, len)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        bits & mask == u32::from_be_bytes(net) & mask
    })
}

fn v6_is_global(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_is_global(v4);
    }
    if s[..6] == NAT64_WELL_KNOWN {
        return v4_is_global(Ipv4Addr::from(u128::from(ip) as u32));
    }
    if s[0] == SIX_TO_FOUR {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return v4_is_global(Ipv4Addr::new(a, b, c, d));
    }
    let in_global_unicast = s[0] & 0xe000 == 0x2000;
    let within = |&(net, len): &([u16; 8], u8)| in_v6(ip, net, len);
    in_global_unicast
        && (!IPV6_NOT_GLOBAL.iter().any(within) || IPV6_GLOBAL_IN_IETF.iter().any(within))
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(ip: &str) -> bool {
        is_globally_reachable(ip.parse().expect("test address"))
    }

    #[test]
    fn block_edges_are_exact() {
        // The first and last address of a block are in it, their neighbours are not.
        for (inside, outside) in [
            ("198.18.0.0", "198.17.255.255"),
            ("198.19.255.255", "198.20.0.0"),
            ("100.127.255.255", "100.128.0.0"),
            ("172.31.255.255", "172.32.0.0"),
            ("192.0.0.255", "192.0.1.0"),
            ("2001:1ff:ffff::1", "2001:200::1"),
            ("2001:db8:ffff::1", "2001:db9::1"),
            ("3fff:fff::1", "3fff:1000::1"),
        ] {
            assert!(!global(inside), "{inside}");
            assert!(global(outside), "{outside}");
        }
    }

    #[test]
    fn embedded_ipv4_addresses_are_judged_by_where_they_lead() {
        for ip in [
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b::10.0.0.1",
            "::ffff:192.168.0.1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
        ] {
            assert!(!global(ip), "{ip}");
        }
        for ip in ["64:ff9b::8.8.8.8", "::ffff:8.8.8.8", "2002:808:808::1"] {
            assert!(global(ip), "{ip}");
        }
        assert!(
            !global("64:ff9b:1::8.8.8.8"),
            "the local-use prefix, whatever it carries"
        );
    }

    #[test]
    fn the_registries_global_exceptions_stay_reachable() {
        for ip in [
            "2001:1::1",
            "2001:1::2",
            "2001:1::3",
            "2001:3::1",
            "2001:4:112::1",
            "2001:20::1",
            "2001:30::1",
            "2620:4f:8000::1",
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
        ] {
            assert!(global(ip), "{ip}");
        }
        assert!(!global("2001:1::4"), "the rest of the IETF block");
    }
}
