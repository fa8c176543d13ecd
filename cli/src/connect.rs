//! The client the environment asks for, and where its requests go.

use magicbell_jwt::{Client, ClientBuilder};

use crate::failure::Stop;

/// Where requests go, and where that came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `HOST:PORT` of the base URL.
    pub(crate) address: String,
    /// `MAGICBELL_BASE_URL` or `default`.
    pub(crate) origin: &'static str,
    /// Whether a proxy variable is set, so a connection goes to the proxy
    /// and the library's message, which names it, is the right one.
    pub(crate) proxied: bool,
}

/// The variables the tool reads; a function so tests can pass their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The client the environment asks for, `tune` applied to its builder.
pub(crate) fn connect(
    env: Env,
    tune: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<(Client, Target), Stop> {
    let set = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let token = set("MAGICBELL_TOKEN").ok_or(Stop::NoToken)?;
    let (base_url, origin) = match set("MAGICBELL_BASE_URL") {
        Some(url) => (url, "MAGICBELL_BASE_URL"),
        None => (magicbell_jwt::DEFAULT_BASE_URL.to_owned(), "default"),
    };
    let client = tune(Client::builder(token).base_url(base_url)).build()?;
    let proxied = ["ALL_PROXY", "HTTPS_PROXY", "HTTP_PROXY"]
        .iter()
        .any(|name| set(name).or_else(|| set(&name.to_lowercase())).is_some());
    let target = Target {
        address: host_port(client.base_url()),
        origin,
        proxied,
    };
    Ok((client, target))
}

/// `HOST:PORT` of a URL, with the scheme's port when none is written.
fn host_port(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority.rsplit('@').next().unwrap_or_default();
    // An IPv6 literal keeps its brackets: a port is a ':' after the last ']'.
    let has_port = match host_and_port.rfind(']') {
        Some(end) => host_and_port[end..].contains(':'),
        None => host_and_port.contains(':'),
    };
    if has_port {
        return host_and_port.to_owned();
    }
    let port = if scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        443
    };
    format!("{host_and_port}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_the_default_base_url_and_its_port() {
        let env = |name: &str| (name == "MAGICBELL_TOKEN").then(|| "sk-test".to_owned());

        let (_, target) = connect(&env, |b| b).unwrap();

        assert_eq!(
            target,
            Target {
                address: "api.magicbell.com:443".into(),
                origin: "default",
                proxied: false
            }
        );
    }

    #[test]
    fn host_port_adds_the_scheme_port_when_none_is_written() {
        assert_eq!(
            host_port("https://api.magicbell.com/v2"),
            "api.magicbell.com:443"
        );
        assert_eq!(host_port("http://localhost/v2"), "localhost:80");
        assert_eq!(host_port("http://127.0.0.1:9/v2"), "127.0.0.1:9");
        assert_eq!(host_port("http://[::1]:8080/v2"), "[::1]:8080");
        assert_eq!(host_port("https://[::1]/v2"), "[::1]:443");
        assert_eq!(
            host_port("https://user:pw@example.com/v2"),
            "example.com:443"
        );
    }
}
