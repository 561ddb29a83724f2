//! `porthole healthcheck`: the binary as its own Docker health probe, so an
//! image needs no curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Where `serve` listens by default.
const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8774);

/// `/healthz` of a server listening on `listen` (default 127.0.0.1:8774);
/// an unspecified address (`0.0.0.0`, `::`) is probed on loopback.
pub fn default_url(listen: Option<&str>) -> Result<String, String> {
    let address = match listen.map(str::trim).filter(|l| !l.is_empty()) {
        Some(text) => text
            .parse::<SocketAddr>()
            .map_err(|e| format!("bad listen address {text:?}: {e}"))?,
        None => DEFAULT_LISTEN,
    };
    let ip = match address.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(format!(
        "http://{}/healthz",
        SocketAddr::new(ip, address.port())
    ))
}

/// `Ok` when `GET url` answers 200 within `timeout`.
pub async fn check(url: &str, timeout: Duration) -> Result<(), String> {
    let client = reqwest::Client::builder()
        // The probe targets this host: never through a proxy from the environment.
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    match response.status() {
        reqwest::StatusCode::OK => Ok(()),
        status => Err(format!("{url}: HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_url_follows_the_listen_address() {
        let url = |listen| default_url(listen).unwrap();
        assert_eq!(url(None), "http://127.0.0.1:8774/healthz");
        assert_eq!(url(Some("")), "http://127.0.0.1:8774/healthz");
        assert_eq!(url(Some("0.0.0.0:9000")), "http://127.0.0.1:9000/healthz");
        assert_eq!(url(Some("[::]:9000")), "http://[::1]:9000/healthz");
        assert_eq!(url(Some("10.1.2.3:80")), "http://10.1.2.3:80/healthz");
        assert!(default_url(Some("nonsense")).is_err());
    }
}
