//! Who the client is, and where it reached the server, behind trusted reverse proxies.
//!
//! Every request is resolved once, at the edge (`resolve`, the outermost layer), into a
//! [`ClientAddr`]: the address every per-address limit is keyed on (the login and API-key
//! throttles) and the origin status links are built from.
//!
//! - From a peer that is not a `--trusted-proxy`, the client is the TCP peer, the origin's host
//!   is `Host` and its scheme `http`: `X-Forwarded-For`, `X-Forwarded-Proto` and
//!   `X-Forwarded-Host` are ignored, so a client cannot pick the address it is counted under.
//! - From a trusted peer, `X-Forwarded-For` is read right to left (every line of it, in
//!   order), skipping trusted hops: the first untrusted address is the client; if every hop is
//!   trusted, the leftmost is. Entries to the left of the first untrusted one were written by
//!   the client and are never looked at. An entry that is not an address stops the walk at
//!   the last hop read (the proxy that wrote it is counted, not a made-up address). The
//!   scheme and host come from the first entry of `X-Forwarded-Proto` (`http`/`https`) and
//!   `X-Forwarded-Host`, else `http` and `Host`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";
const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// The networks whose forwarding headers are believed (`--trusted-proxy`; none by default).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `--trusted-proxy` values: `10.0.0.0/8`, `fd00::/8`, or a bare address (/32 or
    /// /128); empty ones (an empty `FILA_TRUSTED_PROXIES`, a trailing comma) are skipped.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<TrustedProxies, String> {
        values
            .iter()
            .map(|value| value.as_ref().trim())
            .filter(|value| !value.is_empty())
            .map(|value| {
                value
                    .parse::<IpNet>()
                    .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| canonical_net(net).trunc())
                    .map_err(|_| {
                        format!(
                            "--trusted-proxy (FILA_TRUSTED_PROXIES) must be an IP address or a CIDR such as 10.0.0.0/8 or fd00::/8 (got '{value}')"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return ClientAddr {
                ip: peer,
                https: false,
                host: valid_host(first_value(headers, header::HOST.as_str())),
            };
        }
        let https = first_value(headers, X_FORWARDED_PROTO)
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        let host = valid_host(first_value(headers, X_FORWARDED_HOST))
            .or_else(|| valid_host(first_value(headers, header::HOST.as_str())));
        ClientAddr {
            ip: self.forwarded_client(peer, headers),
            https,
            host,
        }
    }

    /// The right-to-left walk of `X-Forwarded-For` from a trusted `peer`.
    fn forwarded_client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let lines: Vec<&str> = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let mut client = peer;
        for entry in lines.iter().rev().flat_map(|line| line.rsplit(',')) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let Some(hop) = parse_hop(entry) else {
                return client;
            };
            client = hop;
            if !self.trusts(hop) {
                return hop;
            }
        }
        client
    }
}

/// An IPv4 network written in IPv6 (`::ffff:10.0.0.0/104`) as the IPv4 one, as peers are.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`) or
/// in brackets.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
        .map(|ip: IpAddr| ip.to_canonical())
}

/// The first comma-separated entry of the first line of `name`.
fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .split(',')
        .next()
        .map(str::trim)
}

/// A host (and port) fit to put in a URL, else nothing.
fn valid_host(host: Option<&str>) -> Option<String> {
    host.filter(|h| {
        !h.is_empty()
            && h.len() <= 255
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    })
    .map(str::to_string)
}

/// The client of a request: its address, and the origin it reached the server at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr {
    /// What every per-address limit counts the request under.
    pub ip: IpAddr,
    /// Whether the client reached the server over https (a trusted proxy said so).
    pub https: bool,
    /// The host (and port) the client reached, when it sent a usable one.
    pub host: Option<String>,
}

impl ClientAddr {
    /// `scheme://host[:port]`, where staff and the totem see the server (`localhost` without a
    /// usable host).
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.host.as_deref().unwrap_or("localhost"))
    }
}

/// The TCP peer of a request (unspecified when the server loop did not say).
fn peer(parts_extensions: &axum::http::Extensions) -> IpAddr {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The edge layer: resolves the request's client once and keeps it in its extensions.
pub async fn resolve(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut client = proxies.resolve(peer(request.extensions()), request.headers());
    // Over Fila's own TLS the client reached https, whatever a header says.
    client.https |= request
        .extensions()
        .get::<crate::serve::OverTls>()
        .is_some();
    super::access::note_client(request.extensions(), client.ip);
    request.extensions_mut().insert(client);
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    /// The client `resolve` found; without that layer, the TCP peer and `Host`.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<ClientAddr>() {
            Some(client) => client.clone(),
            None => TrustedProxies::default().resolve(peer(&parts.extensions), &parts.headers),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header's name and value.
    type Header<'a> = (&'static str, &'a str);

    fn headers(pairs: &[Header]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn proxies_are_cidrs_or_bare_addresses_and_anything_else_is_refused() {
        let proxies =
            TrustedProxies::parse(&["10.0.0.0/8", " 192.168.1.7 ", "fd00::/8", "::1"]).unwrap();
        assert!(proxies.trusts(ip("10.200.3.4")));
        assert!(proxies.trusts(ip("192.168.1.7")));
        assert!(!proxies.trusts(ip("192.168.1.8")), "a bare address is /32");
        assert!(proxies.trusts(ip("fd12::1")));
        assert!(proxies.trusts(ip("::1")));
        assert!(!proxies.trusts(ip("::2")), "a bare address is /128");
        assert!(proxies.trusts(ip("::ffff:10.1.1.1")), "IPv4-mapped peer");
        let mapped = TrustedProxies::parse(&["::ffff:127.0.0.0/104"]).unwrap();
        assert!(mapped.trusts(ip("127.0.0.1")));
        assert!(
            TrustedProxies::parse(&["", " "]).unwrap().is_empty(),
            "an empty variable"
        );
        for bad in [
            "10.0.0.0/33",
            "10.0.0",
            "example.org",
            "fd00::/129",
            "10.0.0.0/8/8",
        ] {
            let err = TrustedProxies::parse(&[bad]).unwrap_err();
            assert!(
                err.contains("--trusted-proxy") && !err.contains('\n'),
                "{err}"
            );
        }
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let proxies = TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8", "fd00::/8"]).unwrap();
        let cases: &[(&str, &[Header], &str)] = &[
            ("127.0.0.1", &[], "127.0.0.1"),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "203.0.113.9")],
                "203.0.113.9",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.0.0.2")],
                "203.0.113.9",
            ),
            (
                "127.0.0.1",
                &[
                    ("x-forwarded-for", "198.51.100.1"),
                    ("x-forwarded-for", "10.1.1.1"),
                ],
                "198.51.100.1",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "10.0.0.3, 10.0.0.2")],
                "10.0.0.3",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "2001:db8::5, fd00::1")],
                "2001:db8::5",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "[2001:db8::5]:443")],
                "2001:db8::5",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "203.0.113.9:5000")],
                "203.0.113.9",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "::ffff:203.0.113.9")],
                "203.0.113.9",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.2")],
                "10.0.0.2",
            ),
            ("127.0.0.1", &[("x-forwarded-for", "garbage")], "127.0.0.1"),
            ("127.0.0.1", &[("x-forwarded-for", " , ")], "127.0.0.1"),
            (
                "::ffff:127.0.0.1",
                &[("x-forwarded-for", "203.0.113.9")],
                "203.0.113.9",
            ),
            (
                "127.0.0.2",
                &[("x-forwarded-for", "203.0.113.9")],
                "127.0.0.2",
            ),
        ];
        for (peer, pairs, expected) in cases {
            let client = proxies.resolve(ip(peer), &headers(pairs));
            assert_eq!(client.ip, ip(expected), "from {peer} with {pairs:?}");
        }
        let nobody = TrustedProxies::default();
        let client = nobody.resolve(ip("127.0.0.1"), &headers(&[("x-forwarded-for", "1.2.3.4")]));
        assert_eq!(client.ip, ip("127.0.0.1"), "no proxy trusted by default");
    }

    #[test]
    fn the_origin_comes_from_forwarded_headers_only_through_a_trusted_proxy() {
        let proxies = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
        let sent = headers(&[
            ("host", "10.0.0.5:3000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "clinica.example, inner.example"),
        ]);
        assert_eq!(
            proxies.resolve(ip("127.0.0.1"), &sent).origin(),
            "https://clinica.example"
        );
        assert_eq!(
            proxies.resolve(ip("127.0.0.2"), &sent).origin(),
            "http://10.0.0.5:3000"
        );
        let plain = headers(&[("host", "fila.local:8080"), ("x-forwarded-proto", "gopher")]);
        assert_eq!(
            proxies.resolve(ip("127.0.0.1"), &plain).origin(),
            "http://fila.local:8080"
        );
        let odd = headers(&[("host", "evil.example/path?"), ("x-forwarded-host", "a b")]);
        assert_eq!(
            proxies.resolve(ip("127.0.0.1"), &odd).origin(),
            "http://localhost"
        );
    }
}
