//! `fake`'s rate limit, faults and refusals, in the process.

use std::time::Duration;

use magicbell_jwt::CreateProjectTokenRequest;

use crate::{client_for, text, tool, Fake};

/// A client of the fake whose variables are `printed` that sends each
/// request once, so that a 429 or a fault reaches the test.
fn once(printed: &[String; 2]) -> magicbell_jwt::Client {
    let value = |line: &str| line.split_once('=').unwrap().1.trim_end().to_owned();
    magicbell_jwt::Client::builder(value(&printed[1]))
        .base_url(value(&printed[0]))
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap()
}

#[test]
fn a_fake_with_a_rate_limit_answers_429_past_it() {
    let (fake, printed) = Fake::start(&["--rate-limit", "2/60s"]);
    let client = once(&printed);
    for _ in 0..2 {
        client.fetch_project_tokens(&Default::default()).unwrap();
    }
    let third = client.fetch_project_tokens(&Default::default());

    let Err(magicbell_jwt::Error::Api(third)) = third else {
        panic!("{third:?}")
    };
    assert_eq!(third.status(), 429);
    // The rest of the minute, rounded up to whole seconds.
    let wait = third.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    fake.wait_for("GET /v2/jwt/project -> 429\n");
}

#[test]
fn a_fake_with_a_fault_answers_the_second_revoke_500() {
    let (fake, printed) = Fake::start(&["--fault", "discard_project_token:1:1:500"]);
    let client = once(&printed);
    let admin = client_for(&printed, None);
    let request = CreateProjectTokenRequest::new("ci");
    let ids: Vec<String> = (0..3)
        .map(|_| admin.create_project_jwt(&request).unwrap().token_id)
        .collect();

    let revokes: Vec<Option<u16>> = ids
        .iter()
        .map(|id| {
            client
                .discard_project_jwt(id)
                .err()
                .and_then(|e| e.status())
        })
        .collect();

    assert_eq!(revokes, [None, Some(500), None]);
    fake.wait_for(&format!("DELETE /v2/jwt/project/{} -> 500\n", ids[1]));
    fake.wait_for(&format!("DELETE /v2/jwt/project/{} -> 200\n", ids[2]));
}

#[test]
fn bad_fake_options_exit_2_before_listening() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--rate-limit", "0/1s"],
            "--rate-limit takes 1 to 4294967295 requests, not \"0\"",
        ),
        (
            &["--rate-limit-headers"],
            "--rate-limit-headers needs --rate-limit N/DURATION",
        ),
        (
            &["--fault", "any:1:1:500"],
            "--fault \"any:1:1:500\": skip is 1, but a fault for any request takes none \
             (it queues, as FakeServer::inject); name a route to skip its first requests",
        ),
        (
            &["--request-log-limit", "all"],
            "--request-log-limit takes a whole number, not \"all\"",
        ),
    ];
    for (args, message) in cases {
        let output = tool().arg("fake").args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&output.stdout), "", "{args:?}");
        assert_eq!(
            text(&output.stderr),
            format!("error: {message}; see 'magicbell-jwt fake --help'\n")
        );
    }
}
