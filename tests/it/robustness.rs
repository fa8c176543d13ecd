//! Thousands of mutated and truncated answers through the real decoding path:
//! never a panic, always `Ok` or `Error::Decode`, and never a secret in the
//! error.

use std::sync::Arc;
use std::time::Duration;

use crate::util::{shown, MINTED, TOKEN};
use magicbell_jwt::{Client, CreateProjectTokenRequest, Error, FetchProjectTokensParams};
use magicbell_jwt_test_support::{respond_bytes, FaultServer};

const LIST: &str = r#"{"data":[{"id":"01JA7K3M","name":"deploy bot","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-02-01T00:00:00Z","discarded_at":null},{"id":"01JA9T2W","name":null,"created_at":"2026-01-02T00:00:00Z"}],"links":{"first":"https://api.magicbell.com/v2/jwt/project","next":"https://api.magicbell.com/v2/jwt/project?starting_after=01JA9T2W","prev":null}}"#;
const DISCARD: &str = r#"{"token_id":"01JA7K3M","discarded_at":"2026-01-02T00:00:00Z"}"#;

fn create_body() -> String {
    format!(
        r#"{{"token":"{MINTED}","token_id":"01JA7K3M","created_at":"2026-01-01T00:00:00Z","expires_at":null}}"#
    )
}

/// xorshift64*: a tiny deterministic PRNG, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Every truncation of `body`, then `count` random mutations of it.
fn variants(body: &str, rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    const NASTY: &[u8] = b"{}[]\":,\\0-1e9 \x00\xff\xc3nulltrue";
    let bytes = body.as_bytes();
    let mut out: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
    for _ in 0..count {
        let mut v = bytes.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(v.len().max(1));
            match rng.below(4) {
                0 if !v.is_empty() => v[at] = NASTY[rng.below(NASTY.len())],
                1 => v.insert(at.min(v.len()), NASTY[rng.below(NASTY.len())]),
                2 if !v.is_empty() => {
                    v.remove(at);
                }
                _ => v.truncate(at),
            }
        }
        out.push(v);
    }
    out
}

fn check<T: std::fmt::Debug>(result: Result<T, Error>, body: &[u8]) {
    shown(&result);
    assert!(
        matches!(result, Ok(_) | Err(Error::Decode { status: 200, .. })),
        "body {:?} gave {result:?}",
        String::from_utf8_lossy(body)
    );
}

#[test]
fn mutated_and_truncated_answers_decode_or_fail_cleanly() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let create = create_body();
    let cases: Vec<(u8, Vec<u8>)> = [(0u8, LIST), (1, create.as_str()), (2, DISCARD)]
        .into_iter()
        .flat_map(|(kind, body)| {
            variants(body, &mut rng, 800)
                .into_iter()
                .map(move |v| (kind, v))
        })
        .collect();
    let cases = Arc::new(cases);
    let served = cases.clone();
    let server = FaultServer::start(move |n, _| {
        let body = served.get(n).map_or(&[][..], |(_, b)| b.as_slice());
        respond_bytes(200, &[("content-type", "application/json")], body)
    });
    let client = Client::builder(TOKEN)
        .base_url(server.url())
        .timeout(Duration::from_secs(5))
        .max_retries(0)
        .build()
        .unwrap();

    for (kind, body) in cases.iter() {
        match kind {
            0 => check(
                client.fetch_project_tokens(&FetchProjectTokensParams::default()),
                body,
            ),
            1 => check(
                client.create_project_jwt(&CreateProjectTokenRequest::new("x")),
                body,
            ),
            _ => check(client.discard_project_jwt("01JA7K3M"), body),
        }
    }

    assert!(cases.len() > 2_500, "{} variants", cases.len());
    assert_eq!(server.requests(), cases.len());
}
