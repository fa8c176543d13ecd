//! Checks of what a connection is made from: the base URL, a proxy URL, and the TLS roots.

use ureq::http;

use crate::redact::without_userinfo;
use crate::settings::PemBundle;
use crate::Error;

/// The TLS settings: the feature's provider, with the caller's roots if given.
pub(crate) fn tls_config(roots: Option<PemBundle>) -> Result<ureq::tls::TlsConfig, Error> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider};
    let provider = if cfg!(feature = "native-tls") {
        TlsProvider::NativeTls
    } else {
        TlsProvider::Rustls
    };
    let root_certs = match roots {
        Some(PemBundle(pem)) => {
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(PemItem::Certificate(cert)) => certs.push(cert),
                    // A key or other section in a bundle is no root; skip it.
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::invalid(format!(
                            "the root certificate bundle does not parse: {e}"
                        )))
                    }
                }
            }
            if certs.is_empty() {
                return Err(Error::invalid(
                    "the root certificate bundle holds no certificate (no -----BEGIN CERTIFICATE----- section)",
                ));
            }
            RootCerts::from(certs)
        }
        // The system's trust store: the platform verifier, or what native-tls loads.
        #[cfg(any(feature = "platform-verifier", feature = "native-tls"))]
        None => RootCerts::PlatformVerifier,
        // Mozilla's roots, bundled.
        #[cfg(not(any(feature = "platform-verifier", feature = "native-tls")))]
        None => RootCerts::WebPki,
    };
    Ok(TlsConfig::builder()
        .provider(provider)
        .root_certs(root_certs)
        .build())
}

/// A proxy URL as ureq takes it, with a port that is a number if given.
pub(crate) fn parse_proxy(url: &str) -> Result<ureq::Proxy, Error> {
    let bad = || {
        Error::invalid(format!(
            "proxy URL {:?} does not parse; expected such as http://proxy.example:3128",
            without_userinfo(url)
        ))
    };
    let proxy = ureq::Proxy::new(url).map_err(|_| bad())?;
    let authority = proxy.uri().authority().ok_or_else(bad)?;
    // The port, if any, is after the last ':' that follows any
    // `user:password@` (whose ':' is no port's).
    let host_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, host_port)| host_port);
    let port_ok = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') && !host.ends_with(':') => {
            port.parse::<u16>().is_ok()
        }
        _ => true,
    };
    if proxy.host().is_empty() || !port_ok {
        return Err(bad());
    }
    Ok(proxy)
}

/// Checks a base URL and returns it without a trailing slash, and parsed.
pub(crate) fn check_base_url(
    url: &str,
    allow_insecure_http: bool,
) -> Result<(String, http::Uri), Error> {
    let bad = |why: &str| Error::invalid(format!("base URL {url:?} {why}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("is not an absolute http or https URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("holds credentials; the token is sent as a header"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("has a query or fragment"));
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("holds white space"));
    }
    let uri = http::Uri::try_from(url).map_err(|e| bad(&format!("does not parse: {e}")))?;
    if url.starts_with("http://") && !allow_insecure_http && !is_loopback(uri.host()) {
        return Err(bad(
            "would send the token in clear text to a host that is not loopback; use https, or a loopback host such as 127.0.0.1",
        ));
    }
    Ok((url.trim_end_matches('/').to_owned(), uri))
}

fn is_loopback(host: Option<&str>) -> bool {
    let host = host.unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_with_a_host_and_a_numeric_port() {
        for url in [
            "http://proxy.example:3128",
            "http://proxy.example",
            "https://user:pw@proxy.example:8443",
            "http://[::1]:3128",
            "http://127.0.0.1:3128",
        ] {
            assert!(parse_proxy(url).is_ok(), "{url}");
        }
        for url in [
            "http://proxy.example:port",
            "http://proxy.example:99999",
            "ftp://proxy.example",
            "http://",
            "http://:3128",
            "http://user:secret@proxy.example:port",
        ] {
            let err = parse_proxy(url).err().map(|e| e.to_string());
            let err = err.unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(err.starts_with("invalid input: proxy URL"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn a_proxy_url_may_name_an_ipv6_host_with_or_without_a_port() {
        for (url, host, port) in [
            ("http://[::1]", "[::1]", 80),
            (
                "http://[2001:db8:0:0:0:0:0:1]",
                "[2001:db8:0:0:0:0:0:1]",
                80,
            ),
            ("https://[2001:db8::1]", "[2001:db8::1]", 443),
            ("http://[2001:db8::1]:3128", "[2001:db8::1]", 3128),
        ] {
            let proxy = parse_proxy(url).map_err(|e| e.to_string());
            let proxy = proxy.unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((proxy.host(), proxy.port()), (host, port), "{url}");
        }
    }

    #[test]
    fn a_proxy_url_with_credentials_may_leave_the_port_out() {
        for (url, host, port) in [
            ("http://ops:hunter2@proxy.example", "proxy.example", 80),
            ("http://ops:@proxy.example", "proxy.example", 80),
            (
                "http://ops:hunter2@proxy.example:3128",
                "proxy.example",
                3128,
            ),
            ("http://ops:hunter2@[::1]", "[::1]", 80),
        ] {
            let proxy = parse_proxy(url).map_err(|e| e.to_string());
            let proxy = proxy.unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((proxy.host(), proxy.port()), (host, port), "{url}");
        }
        // A port that is no number is still refused, credentials or not.
        assert_eq!(
            parse_proxy("http://ops:hunter2@proxy.example:port")
                .err()
                .map(|e| e.to_string()),
            Some(
                "invalid input: proxy URL \"http://proxy.example:port\" does not parse; expected such as http://proxy.example:3128"
                    .to_owned()
            )
        );
    }
}
