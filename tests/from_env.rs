//! `Client::from_env`. The variables are process-wide, so this file holds one
//! test, and its own process.

use magicbell_jwt::{Client, DEFAULT_BASE_URL};

#[test]
fn from_env_reads_the_token_and_the_base_url_and_ignores_white_space_around_them() {
    std::env::remove_var("MAGICBELL_TOKEN");
    std::env::remove_var("MAGICBELL_BASE_URL");
    let refused = |why: &str| {
        let err = Client::from_env().unwrap_err();
        assert_eq!(err.to_string(), format!("invalid input: {why}"));
    };
    let base_url = || Client::from_env().unwrap().base_url().to_owned();

    refused("MAGICBELL_TOKEN is not set");
    std::env::set_var("MAGICBELL_TOKEN", " \t ");
    refused("MAGICBELL_TOKEN is not set");

    std::env::set_var("MAGICBELL_TOKEN", "  sk-test-from-env\n");
    assert_eq!(base_url(), DEFAULT_BASE_URL, "MAGICBELL_BASE_URL unset");

    std::env::set_var("MAGICBELL_BASE_URL", " http://127.0.0.1:9/v2/ \n");
    assert_eq!(base_url(), "http://127.0.0.1:9/v2");

    std::env::set_var("MAGICBELL_BASE_URL", "  ");
    assert_eq!(base_url(), DEFAULT_BASE_URL, "MAGICBELL_BASE_URL blank");

    // Set, the URL is checked as by `build`.
    std::env::set_var("MAGICBELL_BASE_URL", "ftp://example.com");
    refused(r#"base URL "ftp://example.com" is not an absolute http or https URL"#);
}
