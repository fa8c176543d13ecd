//! The client the environment asks for, and where its requests go.

use magicbell_jwt::{Client, ClientBuilder};

use crate::stop::Stop;

/// Where requests go, and where that came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `HOST:PORT` of the base URL.
    pub(crate) address: String,
    /// `MAGICBELL_BASE_URL` or `default`.
    pub(crate) origin: &'static str,
    /// Whether the client goes through a proxy, so a connection goes to the
    /// proxy and the library's message, which names it, is the right one.
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
    let target = Target {
        address: client.address().to_owned(),
        origin,
        proxied: client.proxy().is_some(),
    };
    Ok((client, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_the_default_base_url_and_its_port() {
        let env = |name: &str| (name == "MAGICBELL_TOKEN").then(|| "sk-test".to_owned());

        let (_, target) = connect(&env, |b| b.no_proxy()).unwrap();

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
    fn the_target_is_where_the_client_sends_and_whether_through_a_proxy() {
        let env = |name: &str| match name {
            "MAGICBELL_TOKEN" => Some("sk-test".to_owned()),
            "MAGICBELL_BASE_URL" => Some("http://localhost/v2".to_owned()),
            _ => None,
        };

        let (_, straight) = connect(&env, |b| b.no_proxy()).unwrap();
        let (_, proxied) = connect(&env, |b| b.proxy("http://127.0.0.1:3128")).unwrap();

        assert_eq!(
            straight,
            Target {
                address: "localhost:80".into(),
                origin: "MAGICBELL_BASE_URL",
                proxied: false
            }
        );
        assert!(proxied.proxied);
    }
}
