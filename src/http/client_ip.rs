//! Who the client is, behind proxies: the TCP peer, unless the peer is a trusted proxy, in which
//! case `X-Forwarded-For` is read from the right (each proxy appends the address it saw), skipping
//! trusted proxies, and the first address that is not one is the client. Everything left of it was
//! written by the client itself and is never believed.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

pub fn client_ip(trusted: &[IpNet], headers: &HeaderMap, peer: IpAddr) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        // A hop that is not an address ends the chain: the last address before it is the best
        // anyone vouched for.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(&trusted, &forwarded("1.2.3.4"), ip("203.0.113.9")),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(&[], &forwarded("1.2.3.4"), ip("127.0.0.1")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        let peer = ip("10.0.0.2");
        let chain = forwarded("6.6.6.6, 198.51.100.4, 10.0.0.7");
        assert_eq!(client_ip(&trusted, &chain, peer), ip("198.51.100.4"));
        // Several headers count as one list, in order.
        let mut split = forwarded("6.6.6.6");
        split.append("x-forwarded-for", "198.51.100.4".parse().unwrap());
        assert_eq!(client_ip(&trusted, &split, peer), ip("198.51.100.4"));
        assert_eq!(
            client_ip(&trusted, &forwarded("2001:db8::1"), peer),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn junk_and_all_trusted_chains_fall_back_to_the_last_vouched_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        assert_eq!(
            client_ip(&trusted, &forwarded("1.2.3.4, not-an-ip, 10.0.0.9"), peer),
            ip("10.0.0.9")
        );
        assert_eq!(
            client_ip(&trusted, &forwarded("10.0.0.5"), peer),
            ip("10.0.0.5")
        );
        assert_eq!(client_ip(&trusted, &HeaderMap::new(), peer), peer);
    }
}
