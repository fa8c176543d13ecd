//! Section 3 of `cargo bench`: servers that close kept-alive connections under a request.

use super::*;

// --- 3. Servers that close kept-alive connections ----------------------------------

pub(super) const STALE_LISTS: usize = 2_000;
pub(super) const STALE_CREATES: usize = 300;

/// Lists and creates, with the client's default settings, against a
/// well-behaved keep-alive server and against one that answers the first
/// request on each connection, then reads the next and closes unanswered (its
/// keep-alive timeout firing as a request arrives).
pub(super) fn closed_connections() {
    println!("3. Kept-alive connections the server closes as the next request arrives");
    println!(
        "   {:<32} {:<8} {:>6} {:>10} {:>9} {:>9} {:>12}",
        "server", "call", "calls", "seconds", "failures", "requests", "connections"
    );
    for closes in [false, true] {
        let (page, created) = (json(200, &page_json()), json(201, CREATED));
        let server = FaultServer::start(move |_, request| {
            if closes && request.on_connection > 0 {
                return Reply::Close;
            }
            Reply::Raw(if request.method == "POST" {
                created.clone()
            } else {
                page.clone()
            })
        });
        let client = Client::builder(TOKEN)
            .base_url(server.url())
            .build()
            .expect("client");
        let params = FetchProjectTokensParams::default().limit(10);
        let request = CreateProjectTokenRequest::new("bench");
        let name = if closes {
            "closes each reused connection"
        } else {
            "well-behaved keep-alive"
        };
        for (call, calls) in [("list", STALE_LISTS), ("create", STALE_CREATES)] {
            let (r0, c0) = (server.requests(), server.connections());
            let start = Instant::now();
            let failures = (0..calls)
                .filter(|_| match call {
                    "list" => client.fetch_project_tokens(&params).is_err(),
                    _ => client.create_project_jwt(&request).is_err(),
                })
                .count();
            println!(
                "   {:<32} {:<8} {:>6} {:>10.2} {:>9} {:>9} {:>12}",
                name,
                call,
                calls,
                start.elapsed().as_secs_f64(),
                failures,
                server.requests() - r0,
                server.connections() - c0,
            );
        }
    }
    println!();
}
