//! A blocking client for MagicBell's JWT service: list, create and revoke project and user tokens.
//!
//! Build one [`Client`] ([`Client::from_env`], [`Client::new`] or
//! [`Client::builder`]) and call it: [`Client::create_project_jwt`],
//! [`Client::project_tokens`] (every page, as a lazy [`Paginator`]),
//! [`Client::discard_project_jwt`], their user-token twins, and the bulk
//! revokes [`Client::discard_project_jwts`] / [`Client::discard_user_jwts`].
//! The README shows each call once; these docs show the jobs built from them.
//!
//! # Minting user tokens from many threads
//!
//! A backend that hands a signed-in user a token for their inbox builds one
//! client at start-up and shares it: clones are cheap, share one connection
//! pool, and share what the server said about its rate limit.
//!
//! ```no_run
//! use magicbell_jwt::{Client, CreateUserTokenRequest};
//!
//! let client = Client::from_env()?;
//! let handlers: Vec<_> = ["user-1", "user-2"]
//!     .into_iter()
//!     .map(|user| {
//!         let client = client.clone();
//!         std::thread::spawn(move || {
//!             let request = CreateUserTokenRequest::for_external_id(user).expiry(3600);
//!             client.create_user_jwt(&request).map(|created| created.token)
//!         })
//!     })
//!     .collect();
//! for handler in handlers {
//!     // A thread that panicked has no token to hand over.
//!     if let Ok(minted) = handler.join() {
//!         hand_to_the_browser(&minted?);
//!     }
//! }
//! # fn hand_to_the_browser(_: &str) {}
//! # Ok::<(), magicbell_jwt::Error>(())
//! ```
//!
//! # Rotating a token
//!
//! The job behind most uses: mint a new project token, store it, then revoke
//! every other live token of the same name. (The `magicbell-jwt` tool does
//! this as `magicbell-jwt rotate NAME`.)
//!
//! ```no_run
//! use magicbell_jwt::{Client, CreateProjectTokenRequest, FetchProjectTokensParams};
//!
//! let client = Client::from_env()?;
//! let name = "deploy bot";
//! let new = client.create_project_jwt(&CreateProjectTokenRequest::new(name).expiry(30 * 86_400))?;
//! store_in_vault(&new.token); // revoke nothing before the new token is safe
//!
//! // Walk to the end before revoking anything.
//! let mut old = Vec::new();
//! for token in client.project_tokens(FetchProjectTokensParams::default().limit(100)) {
//!     let token = token?;
//!     let other = token.id.as_deref() != Some(new.token_id.as_str());
//!     if token.name.as_deref() == Some(name) && !token.is_discarded() && other {
//!         old.extend(token.id);
//!     }
//! }
//! for id in &old {
//!     client.discard_project_jwt(id)?;
//! }
//! # fn store_in_vault(_: &str) {}
//! # Ok::<(), magicbell_jwt::Error>(())
//! ```
//!
//! # Testing your code
//!
//! With the `fake` feature in your `[dev-dependencies]`, `FakeServer` is
//! MagicBell's JWT service inside your test, on loopback: it keeps state like
//! the real one, so a test sets tokens up, runs your code against
//! `FakeServer::client()` and checks `FakeServer::project_tokens()`
//! afterwards, with nothing to script. It can also fail a chosen call
//! (`FakeServer::inject_on`; its docs say how the client's retries meet a
//! fault), enforce a rate limit, and freeze or run its clock. The README's
//! "Testing your code with `FakeServer`" tests a rotation with it.
// Documented only with `fake` (as on docs.rs), so linked only then.
#![cfg_attr(feature = "fake", doc = "\nSee [`FakeServer`].")]
#![cfg_attr(
    not(feature = "fake"),
    doc = "\nSee [`FakeServer`](https://docs.rs/magicbell-jwt/latest/magicbell_jwt/struct.FakeServer.html)."
)]
//!
//! # Scope of this crate
//!
//! This crate speaks to the `JwtService` of MagicBell's REST API v2 and nothing
//! else: it lists, creates and revokes project-level and user-level JWTs, the
//! six calls of MagicBell's own SDKs. It is blocking on purpose, for sync
//! programs, build scripts and small ops tools: no async runtime, and no
//! dependencies beyond [`ureq`](https://docs.rs/ureq), `serde` and
//! `serde_json`. It does not sign or verify JWTs, and it does not cover the
//! rest of MagicBell's API.
//!
//! # Pagination
//!
//! [`Client::fetch_project_tokens`] returns one page.
//! [`Client::project_tokens`] (and [`Client::user_tokens`]) walks every page
//! lazily as a [`Paginator`], whose docs say where each cursor comes from and
//! how a walk ends; [`Paginator::pages`] gives the same walk a page at a time.
//!
//! # Errors
//!
//! Every call returns [`Error`]. Match on it to tell apart an answer from the
//! server ([`Error::Api`], with the status and MagicBell's own error entries), a
//! request that got no answer ([`Error::Transport`]), an answer that did not
//! match the documented shape ([`Error::Decode`]) and an argument refused
//! before anything was sent ([`Error::InvalidInput`]); [`Error`] lists the
//! rest.
//!
//! # Retries, rate limits and bulk calls
//!
//! A failed call is sent again where that is safe, and a create only where
//! the server surely did not process it, so a lost answer never mints a
//! second token: [`ClientBuilder::max_retries`] says which failures. After a
//! failed create, [`Error::may_have_been_processed`] says whether to list the
//! tokens before trying again. Under a rate limit a call waits rather than
//! fails, and the client paces itself to the server's limit
//! ([`ClientBuilder::max_rate_limit_wait`], [`RateLimitStats`]). A bulk
//! revoke stops sending when the server cannot be reached
//! ([`Client::discard_project_jwts`]). Redirects are not followed, bodies are
//! bounded, and plain `http` is refused for hosts that are not loopback.
//! [`ClientBuilder`] has each setting with its default.
//!
//! # Secrets
//!
//! The bearer token and the value of a newly created token never appear in the
//! `Debug` or `Display` output of [`Client`], [`CreateTokenResponse`] or
//! [`Error`]; they print as `[redacted]`. (ureq's own `TRACE` log level shows
//! wire bytes unredacted: do not enable it where logs are kept.)
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`): mark the fake's items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
compile_error!("magicbell-jwt needs a TLS feature: `rustls` (the default) or `native-tls`");

mod builder;
mod bulk;
mod client;
mod endpoint;
mod error;
mod models;
mod net;
mod paginate;
mod reach;
mod redact;
mod request;
mod settings;
mod throttle;
mod time;
mod transport_error;
mod url;

#[cfg(feature = "fake")]
mod fake;
#[cfg(feature = "fake")]
pub use fake::{FakeFault, FakeRequest, FakeRoute, FakeServer};

pub use builder::ClientBuilder;
pub use bulk::{MAX_PARALLELISM, STOP_AFTER_UNREACHABLE};
pub use client::Client;
pub use error::{ApiError, ApiErrorEntry, Error};
pub use models::{
    AccessToken, AccessTokenCollection, CreateProjectTokenRequest, CreateTokenResponse,
    CreateUserTokenRequest, DiscardTokenResponse, FetchProjectTokensParams, FetchTokensParams,
    Links,
};
pub use paginate::{Pages, Paginator};
pub use settings::DEFAULT_BASE_URL;
pub use throttle::RateLimitStats;
pub use transport_error::TransportError;

// Shared across threads by design; fail the build if that ever changes.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client>();
    assert_send_sync::<Error>();
    assert_send_sync::<Paginator>();
    assert_send_sync::<Pages>();
};

// The README's examples compile as doc tests too; they use `FakeServer`.
#[cfg(all(doctest, feature = "fake"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
