//! The loopback server of `cargo bench` and the answers it serves.

use super::*;

// --- The loopback server -----------------------------------------------------------

/// The tests' misbehaving server, here only behaving: every answer is
/// pre-rendered but the pages of a walk.
pub(super) fn start_server() -> FaultServer {
    let page = page_json();
    let [page, created, discarded] = [(200, page.as_str()), (201, CREATED), (200, DISCARDED)]
        .map(|(status, body)| json(status, body));
    // Connections that sent a request, for a server in another process.
    let connections = AtomicUsize::new(0);
    FaultServer::start(move |_, request| {
        if request.on_connection == 0 {
            connections.fetch_add(1, Ordering::SeqCst);
        }
        Reply::Raw(match request.method.as_str() {
            "POST" => created.clone(),
            "DELETE" => discarded.clone(),
            _ if request.target.ends_with("/_connections") => {
                let count = connections.load(Ordering::SeqCst).to_string();
                answer_bytes(200, &[], count.as_bytes())
            }
            _ if request.target.contains("/walk/") => render_walk_page(&request.target),
            _ => page.clone(),
        })
    })
}

pub(super) const CREATED: &str = r#"{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl","token_id":"tok_00000042","created_at":"2026-11-29T09:00:00Z","expires_at":"2026-11-29T10:00:00Z"}"#;

/// A page of ten tokens with a next link.
pub(super) fn page_json() -> String {
    let tokens: Vec<String> = (1..=10).map(token_json).collect();
    format!(
        r#"{{"data":[{}],"links":{{"first":"https://api.magicbell.com/v2/jwt/project","next":"https://api.magicbell.com/v2/jwt/project?starting_after=tok_00000010","prev":null}}}}"#,
        tokens.join(",")
    )
}

pub(super) fn token_json(i: usize) -> String {
    format!(
        r#"{{"id":"tok_{i:08}","name":"bench token {i}","created_at":"2026-01-01T00:00:00Z","expires_at":"2027-01-01T00:00:00Z","discarded_at":null}}"#
    )
}

pub(super) fn render_walk_page(target: &str) -> Vec<u8> {
    let value = |name: &str| {
        target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or("")
    };
    let after: usize = value("starting_after")
        .trim_start_matches("tok_")
        .parse()
        .unwrap_or(0);
    let total: usize = target
        .split('/')
        .skip_while(|part| *part != "walk")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let limit: usize = value("limit").parse().unwrap_or(WALK_PAGE);
    let last = (after + limit).min(total);
    let mut body = String::with_capacity(200 * limit);
    body.push_str(r#"{"data":["#);
    for i in after + 1..=last {
        if i > after + 1 {
            body.push(',');
        }
        body.push_str(&token_json(i));
    }
    body.push_str(r#"],"links":{"next":"#);
    if last < total {
        body.push_str(&format!(r#""http://bench/v2/walk/{total}/jwt/project?limit={limit}&starting_after=tok_{last:08}""#));
    } else {
        body.push_str("null");
    }
    body.push_str("}}");
    json(200, &body)
}

/// The bytes of a JSON answer.
pub(super) fn json(status: u16, body: &str) -> Vec<u8> {
    answer_bytes(
        status,
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
}
