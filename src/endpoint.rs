//! `Endpoint`: the host, address and proxy a client's requests go to, as errors name them.

use ureq::http;

use crate::redact::without_userinfo;

/// Where requests go, as errors name it.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The API's host name.
    pub(crate) host: String,
    /// The host and port connected to, such as `api.magicbell.com:443`.
    pub(crate) address: String,
    /// The proxy requests go through, without credentials, if any.
    pub(crate) proxy: Option<String>,
}

impl Endpoint {
    /// What errors name for requests to `target` through `proxy`: the API
    /// host, and the proxy when one is in the way.
    pub(crate) fn new(target: &http::Uri, proxy: Option<&ureq::Proxy>) -> Endpoint {
        let url_is_https = target.scheme_str() == Some("https");
        Endpoint {
            host: target.host().unwrap_or_default().to_owned(),
            address: format!(
                "{}:{}",
                target.host().unwrap_or_default(),
                target
                    .port_u16()
                    .unwrap_or(if url_is_https { 443 } else { 80 })
            ),
            proxy: proxy
                .filter(|p| !p.is_no_proxy(target))
                .map(|p| without_userinfo(p.uri().to_string().trim_end_matches('/'))),
        }
    }
}
