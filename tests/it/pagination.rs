//! The Paginator's walk: laziness, cursors, stop rules and its guards.

use crate::util::{catch_all, client, page, query_is, token};
use httpmock::Method::GET;
use httpmock::{Mock, MockServer};
use magicbell_jwt::{Error, FetchProjectTokensParams};
use serde_json::{json, Value};

fn serve<'a>(server: &'a MockServer, query: Option<&'static str>, body: Value) -> Mock<'a> {
    server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .is_true(query_is(query));
        then.status(200).json_body(body);
    })
}

#[track_caller]
fn ids(walk: impl Iterator<Item = Result<magicbell_jwt::AccessToken, Error>>) -> Vec<String> {
    walk.map(|t| t.unwrap().id.unwrap()).collect()
}

#[test]
fn walks_every_page_and_stops_when_next_is_null() {
    let server = MockServer::start();
    let p1 = serve(&server, Some("limit=2"), page(&["a", "b"], Some("b")));
    let p2 = serve(
        &server,
        Some("limit=2&starting_after=b"),
        page(&["c", "d"], Some("d")),
    );
    let p3 = serve(
        &server,
        Some("limit=2&starting_after=d"),
        page(&["e"], None),
    );
    let beyond = serve(&server, Some("limit=2&starting_after=e"), page(&[], None));

    let all = ids(client(&server).project_tokens(FetchProjectTokensParams::default().limit(2)));

    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    p1.assert_calls(1);
    p2.assert_calls(1);
    p3.assert_calls(1);
    beyond.assert_calls(0);
}

#[test]
fn sends_nothing_until_used_and_fetches_a_page_only_when_needed() {
    let server = MockServer::start();
    let p1 = serve(&server, None, page(&["a", "b"], Some("b")));
    let p2 = serve(&server, Some("starting_after=b"), page(&["c"], None));
    let client = client(&server);

    let mut walk = client.project_tokens(FetchProjectTokensParams::default());
    assert_eq!((p1.calls(), p2.calls()), (0, 0));

    assert_eq!(walk.next().unwrap().unwrap().id.as_deref(), Some("a"));
    assert_eq!((p1.calls(), p2.calls()), (1, 0));
    assert_eq!(walk.next().unwrap().unwrap().id.as_deref(), Some("b"));
    assert_eq!((p1.calls(), p2.calls()), (1, 0));
    assert_eq!(walk.next().unwrap().unwrap().id.as_deref(), Some("c"));
    assert_eq!((p1.calls(), p2.calls()), (1, 1));
    assert!(walk.next().is_none());
}

#[test]
fn without_links_the_last_id_is_the_cursor_and_an_empty_page_ends_the_walk() {
    let server = MockServer::start();
    let p1 = serve(&server, None, json!({"data": [token("a"), token("b")]}));
    let p2 = serve(
        &server,
        Some("starting_after=b"),
        json!({"data": [token("c")]}),
    );
    let p3 = serve(&server, Some("starting_after=c"), json!({"data": []}));

    let all = ids(client(&server).project_tokens(FetchProjectTokensParams::default()));

    assert_eq!(all, ["a", "b", "c"]);
    p1.assert_calls(1);
    p2.assert_calls(1);
    p3.assert_calls(1);
}

#[test]
fn links_without_next_end_the_walk() {
    let server = MockServer::start();
    let p1 = serve(
        &server,
        None,
        json!({"data": [token("a")], "links": {"first": "https://x"}}),
    );
    let beyond = serve(&server, Some("starting_after=a"), page(&["b"], None));

    let all = ids(client(&server).project_tokens(FetchProjectTokensParams::default()));

    assert_eq!(all, ["a"]);
    p1.assert_calls(1);
    beyond.assert_calls(0);
}

#[test]
fn a_next_link_without_a_cursor_falls_back_to_the_last_id() {
    let server = MockServer::start();
    serve(
        &server,
        None,
        json!({"data": [token("a"), token("b")], "links": {"next": "https://x/jwt/project?page=2"}}),
    );
    let p2 = serve(&server, Some("starting_after=b"), page(&["c"], None));

    let all = ids(client(&server).project_tokens(FetchProjectTokensParams::default()));

    assert_eq!(all, ["a", "b", "c"]);
    p2.assert_calls(1);
}

#[test]
fn the_cursor_inside_links_next_wins_over_the_last_id_and_is_decoded() {
    let server = MockServer::start();
    serve(
        &server,
        None,
        json!({
            "data": [token("a"), token("b")],
            "links": {"next": "https://x/v2/jwt/project?limit=2&starting_after=opaque%2Fcursor%3D1"}
        }),
    );
    let p2 = serve(
        &server,
        Some("starting_after=opaque%2Fcursor%3D1"),
        page(&["c"], None),
    );

    let all = ids(client(&server).project_tokens(FetchProjectTokensParams::default()));

    assert_eq!(all, ["a", "b", "c"]);
    p2.assert_calls(1);
}

#[test]
fn a_plus_in_a_links_next_cursor_is_sent_back_as_a_plus() {
    let server = MockServer::start();
    serve(
        &server,
        None,
        json!({
            "data": [token("a")],
            "links": {"next": "https://x/v2/jwt/project?starting_after=a+b"}
        }),
    );
    let p2 = serve(&server, Some("starting_after=a%2Bb"), page(&["c"], None));

    let all = ids(client(&server).project_tokens(FetchProjectTokensParams::default()));

    assert_eq!(all, ["a", "c"]);
    p2.assert_calls(1);
}

#[test]
fn more_pages_without_any_cursor_is_an_error_not_a_silent_end() {
    let server = MockServer::start();
    serve(
        &server,
        None,
        json!({
            "data": [{"name": "no id", "created_at": "2026-01-01T00:00:00Z"}],
            "links": {"next": "https://x/v2/jwt/project?page=2"}
        }),
    );

    let got: Vec<_> = client(&server)
        .project_tokens(FetchProjectTokensParams::default())
        .collect();

    assert_eq!(got.len(), 2);
    assert!(got[0].is_ok());
    let err = got[1].as_ref().unwrap_err();
    assert!(matches!(err, Error::MissingCursor), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the server's page says more tokens follow but gives no cursor to fetch them; the walk stopped"
    );
}

#[test]
fn an_empty_first_page_yields_nothing() {
    let server = MockServer::start();
    let p1 = serve(&server, None, page(&[], Some("zzz")));

    let all = ids(client(&server).project_tokens(FetchProjectTokensParams::default()));

    assert!(all.is_empty());
    p1.assert_calls(1);
}

#[test]
fn a_repeated_cursor_is_an_error_not_an_endless_loop() {
    let server = MockServer::start();
    serve(&server, None, page(&["a", "b"], Some("b")));
    let p2 = serve(&server, Some("starting_after=b"), page(&["c"], Some("b")));

    let client = client(&server);
    let mut walk = client.project_tokens(FetchProjectTokensParams::default());
    let got: Vec<_> = walk.by_ref().take(10).collect();

    // The page after "b" points back at "b": it is not yielded.
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].as_ref().unwrap().id.as_deref(), Some("b"));
    let err = got[2].as_ref().unwrap_err();
    assert!(
        matches!(err, Error::RepeatedCursor { cursor, .. } if cursor == "b"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the server repeated the page cursor \"b\"; the walk stopped instead of looping"
    );
    assert!(walk.next().is_none());
    p2.assert_calls(1);
}

#[test]
fn a_cursor_cycle_through_several_pages_is_caught() {
    let server = MockServer::start();
    serve(&server, None, page(&["a"], Some("a")));
    serve(&server, Some("starting_after=a"), page(&["b"], Some("b")));
    let p3 = serve(&server, Some("starting_after=b"), page(&["a"], Some("a")));

    let got: Vec<_> = client(&server)
        .project_tokens(FetchProjectTokensParams::default())
        .take(10)
        .collect();

    assert_eq!(got.len(), 3);
    assert_eq!(got[1].as_ref().unwrap().id.as_deref(), Some("b"));
    assert!(matches!(&got[2], Err(Error::RepeatedCursor { cursor, .. }) if cursor == "a"));
    p3.assert_calls(1);
}

#[test]
fn the_starting_cursor_counts_as_used() {
    let server = MockServer::start();
    let p1 = serve(&server, Some("starting_after=s"), page(&["t"], Some("s")));

    let got: Vec<_> = client(&server)
        .project_tokens(FetchProjectTokensParams::default().starting_after("s"))
        .collect();

    assert_eq!(got.len(), 1);
    assert!(matches!(&got[0], Err(Error::RepeatedCursor { cursor, .. }) if cursor == "s"));
    p1.assert_calls(1);
}

#[test]
fn a_server_that_ignores_the_cursor_gives_page_one_once_then_the_error() {
    let server = MockServer::start();
    let any_page = server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/project");
        then.status(200).json_body(page(&["a", "b"], Some("b")));
    });

    let got: Vec<_> = client(&server)
        .project_tokens(FetchProjectTokensParams::default())
        .take(10)
        .map(|t| t.map(|t| t.id.unwrap()))
        .collect();

    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].as_deref().unwrap(), "a");
    assert_eq!(got[1].as_deref().unwrap(), "b");
    assert!(matches!(&got[2], Err(Error::RepeatedCursor { cursor, .. }) if cursor == "b"));
    any_page.assert_calls(2);
}

#[test]
fn pages_never_yields_a_repeated_page() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v2/jwt/project");
        then.status(200).json_body(page(&["a"], Some("a")));
    });

    let got: Vec<_> = client(&server)
        .project_tokens(FetchProjectTokensParams::default())
        .pages()
        .take(10)
        .collect();

    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap().data.len(), 1);
    assert!(matches!(&got[1], Err(Error::RepeatedCursor { cursor, .. }) if cursor == "a"));
}

#[test]
fn ending_before_walks_backwards_through_links_prev() {
    let server = MockServer::start();
    let p1 = serve(
        &server,
        Some("ending_before=z"),
        json!({
            "data": [token("x"), token("y")],
            "links": {"next": "https://x/v2/jwt/project?starting_after=y", "prev": "https://x/v2/jwt/project?ending_before=x"}
        }),
    );
    let p2 = serve(
        &server,
        Some("ending_before=x"),
        json!({
            "data": [token("v"), token("w")],
            "links": {"next": "https://x/v2/jwt/project?starting_after=w", "prev": null}
        }),
    );

    let all =
        ids(client(&server).project_tokens(FetchProjectTokensParams::default().ending_before("z")));

    assert_eq!(all, ["x", "y", "v", "w"]);
    p1.assert_calls(1);
    p2.assert_calls(1);
}

#[test]
fn backwards_without_links_uses_the_first_id() {
    let server = MockServer::start();
    serve(
        &server,
        Some("limit=2&ending_before=z"),
        json!({"data": [token("x"), token("y")]}),
    );
    serve(
        &server,
        Some("limit=2&ending_before=x"),
        json!({"data": [token("w")]}),
    );
    let p3 = serve(
        &server,
        Some("limit=2&ending_before=w"),
        json!({"data": []}),
    );

    let all = ids(client(&server).project_tokens(
        FetchProjectTokensParams::default()
            .limit(2)
            .ending_before("z"),
    ));

    assert_eq!(all, ["x", "y", "w"]);
    p3.assert_calls(1);
}

#[test]
fn an_error_is_yielded_once_then_the_walk_ends() {
    let server = MockServer::start();
    serve(&server, None, page(&["a"], Some("a")));
    let failing = server.mock(|when, then| {
        when.method(GET)
            .path("/v2/jwt/project")
            .is_true(query_is(Some("starting_after=a")));
        then.status(404)
            .json_body(crate::util::error_body("not_found", "gone"));
    });

    let client = client(&server);
    let mut walk = client.project_tokens(FetchProjectTokensParams::default());

    assert!(walk.next().unwrap().is_ok());
    assert_eq!(walk.next().unwrap().unwrap_err().status(), Some(404));
    assert!(walk.next().is_none());
    assert!(walk.next().is_none());
    failing.assert_calls(1);
}

#[test]
fn pages_yields_each_page_as_sent() {
    let server = MockServer::start();
    serve(&server, None, page(&["a", "b"], Some("b")));
    serve(&server, Some("starting_after=b"), page(&["c"], None));

    let pages: Vec<_> = client(&server)
        .project_tokens(FetchProjectTokensParams::default())
        .pages()
        .map(Result::unwrap)
        .collect();

    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].data.len(), 2);
    assert_eq!(pages[1].data[0].id.as_deref(), Some("c"));
    assert_eq!(pages[1].links.as_ref().unwrap().next, None);
}

#[test]
fn both_cursors_set_is_refused_before_sending() {
    let server = MockServer::start();
    let any = catch_all(&server);

    let client = client(&server);
    let mut walk = client.project_tokens(
        FetchProjectTokensParams::default()
            .starting_after("a")
            .ending_before("b"),
    );

    let err = walk.next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: starting_after and ending_before are both set; a walk goes one way"
    );
    assert!(walk.next().is_none());
    any.assert_calls(0);
}

/// A walk built inside a function that owns its client and returns it.
#[track_caller]
fn walk_from_an_owned_client(url: String) -> magicbell_jwt::Paginator {
    let client = magicbell_jwt::Client::builder(crate::util::TOKEN)
        .base_url(url)
        .build()
        .unwrap();
    client.project_tokens(FetchProjectTokensParams::default())
}

#[test]
fn a_walk_owns_its_client_so_it_can_be_returned_and_moved_to_another_thread() {
    let server = MockServer::start();
    serve(&server, None, page(&["a", "b"], Some("b")));
    serve(&server, Some("starting_after=b"), page(&["c"], None));

    let walk = walk_from_an_owned_client(server.url("/v2"));
    let ids = std::thread::spawn(move || ids(walk)).join().unwrap();

    assert_eq!(ids, ["a", "b", "c"]);
}

#[test]
fn pages_are_owned_too() {
    let server = MockServer::start();
    serve(&server, None, page(&["a"], None));

    let pages = walk_from_an_owned_client(server.url("/v2")).pages();
    let sizes: Vec<usize> =
        std::thread::spawn(move || pages.map(|p| p.unwrap().data.len()).collect())
            .join()
            .unwrap();

    assert_eq!(sizes, [1]);
}
