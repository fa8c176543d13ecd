//! The library's integration tests, one module per subject. Tests that change
//! a process-wide setting run in binaries of their own (the other files in
//! `tests/`).

mod api_contract;
mod bulk;
mod decoding;
mod errors;
mod fake_api;
mod fake_http;
mod fake_setup;
mod faults;
mod pagination;
mod proxy;
mod rate_limits;
mod requests;
mod robustness;
mod secrets;
mod times;
mod tls;
mod user_tokens;
mod util;
mod validation;
