//! The library's integration tests, one module per subject. Tests that change
//! a process-wide setting run in binaries of their own (the other files in
//! `tests/`).

mod api_contract;
mod bad_answers;
mod bulk;
mod connections;
mod creates;
mod decoding;
mod endpoint;
mod errors;
mod fake_api;
mod fake_control;
mod fake_http_bodies;
mod fake_http_framing;
mod fake_http_rfc;
mod fake_http_routes;
mod fake_setup;
mod pagination;
mod proxy;
mod rate_limit_hints;
mod rate_limits;
mod requests;
mod retries;
mod secrets;
mod send_loop;
mod times;
mod tls;
mod user_tokens;
mod util;
mod validation;
