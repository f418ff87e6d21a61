//! The client's address as the sign-in limits see it. Behind an ingress the TCP peer is
//! the ingress controller, so keying on it would let a few failed sign-ins lock everyone
//! out. The forwarding headers name the client, but anyone can write them: they are
//! believed only from peers in `TRUSTED_PROXIES`.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv6Net};

/// Who the limits count a request against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAddress {
    Known(IpAddr),
    /// Forwarding headers from a peer that is not a trusted proxy: an ingress nobody
    /// declared, or a client writing them itself. The peer may stand for many clients,
    /// so only looser per-peer limits apply to it (see `crate::limits::rules`).
    Forwarded {
        peer: IpAddr,
    },
    /// A trusted proxy that did not say who the client is: no address limit applies
    /// (the account limit still does).
    Unknown,
}

impl ClientAddress {
    /// The limit key: the address itself, or its /64 for IPv6 (one subscriber's
    /// allocation, which otherwise hands out endless fresh addresses).
    pub fn key(&self) -> Option<String> {
        match self {
            Self::Known(IpAddr::V4(v4)) => Some(v4.to_string()),
            Self::Known(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Some(v4.to_string()),
                None => Some(
                    Ipv6Net::new(*v6, 64)
                        .map(|net| net.trunc().to_string())
                        .unwrap_or_else(|_| v6.to_string()),
                ),
            },
            Self::Forwarded { .. } | Self::Unknown => None,
        }
    }

    /// The key of the peer that forwarded the request, for [`ClientAddress::Forwarded`].
    pub fn forwarding_peer_key(&self) -> Option<String> {
        match self {
            Self::Forwarded { peer } => Self::Known(*peer).key(),
            _ => None,
        }
    }
}

/// `peer`: the TCP peer; `forwarded_for`: the `X-Forwarded-For` header (comma-separated,
/// the nearest hop last); `real_ip`: `X-Real-IP`.
pub fn client_address(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    real_ip: Option<&str>,
    trusted: &[IpNet],
) -> ClientAddress {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return if forwarded_for.is_some() || real_ip.is_some() {
            ClientAddress::Forwarded { peer }
        } else {
            ClientAddress::Known(peer)
        };
    }
    // From the nearest hop outwards, skip our own proxies: the first other address is the
    // client as the outermost trusted proxy saw it. Anything further out is the client's
    // own claim.
    if let Some(chain) = forwarded_for {
        for hop in chain.rsplit(',').map(str::trim) {
            match hop.parse::<IpAddr>() {
                Ok(ip) if is_trusted(&ip) => continue,
                Ok(ip) => return ClientAddress::Known(ip),
                Err(_) => return ClientAddress::Unknown,
            }
        }
    }
    match real_ip.map(|value| value.trim().parse::<IpAddr>()) {
        Some(Ok(ip)) if !is_trusted(&ip) => ClientAddress::Known(ip),
        _ => ClientAddress::Unknown,
    }
}

/// The client of `req`: its TCP peer, or whom a trusted proxy's headers name.
pub fn of_request(req: &salvo::Request, trusted: &[IpNet]) -> ClientAddress {
    let header = |name: &str| {
        let values: Vec<&str> = req
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let peer = match (req.remote_addr().as_ipv4(), req.remote_addr().as_ipv6()) {
        (Some(v4), _) => IpAddr::V4(*v4.ip()),
        (None, Some(v6)) => IpAddr::V6(*v6.ip()),
        _ => return ClientAddress::Unknown,
    };
    client_address(
        peer,
        header("x-forwarded-for").as_deref(),
        header("x-real-ip").as_deref(),
        trusted,
    )
}

/// `TRUSTED_PROXIES`: CIDR ranges or single addresses, comma-separated.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "expected CIDR ranges or addresses separated by commas, such as 10.0.0.0/8,fd00::/8; {item:?} is neither"
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted() -> Vec<IpNet> {
        parse_trusted_proxies("10.0.0.0/8, fd00::/8").unwrap()
    }

    #[test]
    fn a_direct_client_is_its_peer_and_its_headers_are_not_believed() {
        let peer = ip("203.0.113.7");
        assert_eq!(
            client_address(peer, None, None, &trusted()),
            ClientAddress::Known(peer)
        );
        assert_eq!(
            client_address(peer, Some("198.51.100.1"), None, &trusted()),
            ClientAddress::Forwarded { peer },
            "a forged header does not move the request onto someone else's counters"
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), Some("198.51.100.1"), None, &[]),
            ClientAddress::Forwarded {
                peer: ip("10.1.2.3")
            },
            "an ingress nobody declared trusted: the client is unknown, the peer forwards"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_first_untrusted_hop_from_the_right() {
        let ingress = ip("10.1.2.3");
        let seen = |xff: &str| client_address(ingress, Some(xff), None, &trusted());
        assert_eq!(
            seen("198.51.100.1"),
            ClientAddress::Known(ip("198.51.100.1"))
        );
        assert_eq!(
            seen("6.6.6.6, 198.51.100.1, 10.9.9.9"),
            ClientAddress::Known(ip("198.51.100.1")),
            "the client's own claim (6.6.6.6) and our second proxy are skipped"
        );
        assert_eq!(seen("10.0.0.1, 10.0.0.2"), ClientAddress::Unknown);
        assert_eq!(seen("not-an-address"), ClientAddress::Unknown);
        assert_eq!(
            client_address(ingress, None, Some(" 198.51.100.9 "), &trusted()),
            ClientAddress::Known(ip("198.51.100.9"))
        );
        assert_eq!(
            client_address(ingress, None, None, &trusted()),
            ClientAddress::Unknown
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientAddress::Known(ip("2001:db8:1:2:aaaa::1")).key();
        let b = ClientAddress::Known(ip("2001:db8:1:2:bbbb::2")).key();
        assert_eq!(a.as_deref(), Some("2001:db8:1:2::/64"));
        assert_eq!(a, b);
        assert_eq!(
            ClientAddress::Known(ip("::ffff:198.51.100.1"))
                .key()
                .as_deref(),
            Some("198.51.100.1")
        );
        assert_eq!(ClientAddress::Unknown.key(), None);
    }

    #[test]
    fn trusted_proxies_accept_ranges_and_addresses_and_name_what_is_wrong() {
        assert_eq!(parse_trusted_proxies("").unwrap(), vec![]);
        assert_eq!(
            parse_trusted_proxies("10.0.0.0/8,192.0.2.1").unwrap().len(),
            2
        );
        let err = parse_trusted_proxies("10.0.0.0/8, ingress").unwrap_err();
        assert!(err.contains("\"ingress\""), "{err}");
    }
}
