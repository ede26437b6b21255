//! Who a client is: the address a request counts against, for the API, the web pages and the
//! inbox alike. Behind reverse proxies the socket peer is the proxy, so the proxies named in
//! `trusted_proxies` may say who the client is, in `X-Forwarded-For`, and nobody else may.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// How the client's address is found: the proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct ClientAddresses {
    /// Networks of reverse proxies in front of Cairn.
    pub trusted_proxies: Vec<IpNet>,
}

impl ClientAddresses {
    fn trusted(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.trusted_proxies.iter().any(|n| n.contains(&addr))
    }

    /// The client's address: the socket peer, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. `forwarded` holds
    /// the header's values in order. Entries left of that one were written by the client and
    /// prove nothing, so they are never used.
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl IntoIterator<Item = &'a str>) -> IpAddr {
        if !self.trusted(peer) {
            return peer;
        }
        let entries = forwarded
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for entry in entries.iter().rev() {
            let Some(addr) = parse_forwarded(entry) else {
                // An entry that is not an address cannot be attributed; stop at the proxy.
                return peer;
            };
            if !self.trusted(addr) {
                return addr;
            }
        }
        peer
    }
}

/// An IPv4 address mapped into IPv6 (as a dual-stack socket reports it) as plain IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let c = ClientAddresses {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        };
        let h = ["6.6.6.6, 203.0.113.5", "10.1.1.1"];
        // From the proxy: the right-most entry that is not a proxy, not what the client wrote.
        assert_eq!(c.client(ip("10.0.0.2"), h), ip("203.0.113.5"));
        assert_eq!(c.client(ip("::ffff:10.0.0.2"), h), ip("203.0.113.5"));
        // From anyone else: the header is ignored.
        assert_eq!(c.client(ip("198.51.100.7"), h), ip("198.51.100.7"));
        // A proxy without the header, or with garbage, is the client itself.
        assert_eq!(c.client(ip("::1"), []), ip("::1"));
        assert_eq!(c.client(ip("::1"), ["unknown"]), ip("::1"));
        assert_eq!(
            c.client(ip("::1"), ["[2001:db8::7]:443"]),
            ip("2001:db8::7")
        );
    }
}
