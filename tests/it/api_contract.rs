//! The public API as callers write it: if a signature drifts, this stops
//! compiling. Nothing here talks to a server.

use std::time::Duration;

use magicbell_jwt::{
    AccessToken, AccessTokenCollection, Client, ClientBuilder, CreateProjectTokenRequest,
    CreateTokenResponse, CreateUserTokenRequest, DiscardTokenResponse, Error,
    FetchProjectTokensParams, FetchTokensParams, Links, Pages, Paginator, DEFAULT_BASE_URL,
};

#[allow(dead_code)]
fn signatures(client: &Client, params: FetchProjectTokensParams) -> Result<(), Error> {
    let builder: ClientBuilder = Client::builder(String::from("token"))
        .base_url("https://api.magicbell.com/v2")
        .timeout(Duration::from_secs(5))
        .max_retries(0);
    let _: Result<Client, Error> = builder.build();
    let _: Result<Client, Error> = Client::new("token");
    let _: Result<Client, Error> = Client::from_env();
    let _: AccessTokenCollection = client.fetch_project_tokens(&params)?;
    let _: CreateTokenResponse = client.create_project_jwt(&CreateProjectTokenRequest::new("n"))?;
    let _: DiscardTokenResponse = client.discard_project_jwt("id")?;
    let walk: Paginator = client.project_tokens(params.clone());
    let _: Pages = walk.pages();
    let _: CreateTokenResponse = client.create_user_jwt(&CreateUserTokenRequest::for_email("e"))?;
    let _: DiscardTokenResponse = client.discard_user_jwt("id")?;
    let _: AccessTokenCollection = client.fetch_user_tokens("u", &FetchTokensParams::default())?;
    let mut walk: Paginator = client.user_tokens("u", params);
    let item: Option<Result<AccessToken, Error>> = walk.next();
    let _: Option<u16> = item.and_then(Result::err).and_then(|e| e.status());
    Ok(())
}

#[test]
fn models_are_built_and_read_as_written() {
    // The request types are #[non_exhaustive]: builders make them, fields read them.
    let params = FetchProjectTokensParams::default()
        .limit(10)
        .starting_after("a");
    assert_eq!(params.limit, Some(10));
    assert_eq!(params.starting_after.as_deref(), Some("a"));
    assert_eq!(params.ending_before, None);
    let request = CreateProjectTokenRequest::new("ci").expiry(60);
    assert_eq!((request.name.as_str(), request.expiry), ("ci", Some(60)));

    let page: AccessTokenCollection = serde_json::from_str(
        r#"{"data":[{"created_at":"2026-01-01T00:00:00Z","id":"t"}],"links":{"next":null}}"#,
    )
    .unwrap();
    let tokens: &Vec<AccessToken> = &page.data;
    let links: &Option<Links> = &page.links;
    assert_eq!(tokens[0].id.as_deref(), Some("t"));
    assert_eq!(links.as_ref().unwrap().next, None);
    assert_eq!(DEFAULT_BASE_URL, "https://api.magicbell.com/v2");
}

#[test]
fn the_client_is_clone_send_and_sync() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug>() {}
    assert_traits::<Client>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}
