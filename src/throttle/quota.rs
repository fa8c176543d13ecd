//! Rate-limit headers: what an answer says of the requests left in its window.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::http::HeaderMap;

/// A server's rate-limit headers: when its window resets, and how many
/// requests are left in it, when the answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    pub reset: Duration,
}

/// The rate-limit headers of an answer: `RateLimit-Remaining` and
/// `RateLimit-Reset` (IETF drafts up to 07, with `RateLimit-Limit`), the
/// `X-RateLimit-` forms, or the structured `RateLimit: "policy";r=0;t=1` of
/// the later drafts. A reset is seconds to wait; one above 10^9 is a Unix
/// time, as GitHub sends it. A reset alone is enough (a 429 that says when
/// only so); numbers too large for their type saturate.
pub(crate) fn quota_from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Quota> {
    // Most answers have none: one pass over a few names, no lookups.
    if !headers
        .keys()
        .any(|name| name.as_str().contains("ratelimit"))
    {
        return None;
    }
    let number = |name: &str| number(headers.get(name)?.to_str().ok()?);
    let unix_now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let forms = [
        ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"),
        (
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ),
    ];
    for (limit, remaining, reset) in forms {
        if let Some(reset) = number(reset) {
            return Some(Quota {
                limit: number(limit).map(saturate),
                remaining: number(remaining).map(saturate),
                reset: reset_from(reset, unix_now),
            });
        }
    }
    structured(headers.get("ratelimit")?.to_str().ok()?, unix_now)
}

/// `"default";r=0;t=1` (draft 08 and later): the first policy's `r` and `t`.
fn structured(value: &str, unix_now: u64) -> Option<Quota> {
    let item = value.split(',').next()?;
    let mut remaining = None;
    let mut reset = None;
    for parameter in item.split(';').skip(1) {
        let (key, value) = parameter.trim().split_once('=')?;
        match key.trim() {
            "r" => remaining = Some(number(value)?),
            "t" => reset = Some(number(value)?),
            // A partition key or a later draft's parameter: not a number.
            _ => {}
        }
    }
    Some(Quota {
        limit: None,
        remaining: remaining.map(saturate),
        reset: reset_from(reset?, unix_now),
    })
}

/// Seconds to wait; a value above 10^9 is a Unix time.
fn reset_from(value: u64, unix_now: u64) -> Duration {
    if value > 1_000_000_000 {
        Duration::from_secs(value.saturating_sub(unix_now))
    } else {
        Duration::from_secs(value)
    }
}

/// A whole number of any length: one beyond `u64::MAX` is `u64::MAX`.
fn number(text: &str) -> Option<u64> {
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    #[test]
    fn the_three_forms_of_rate_limit_headers_are_read() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let ietf = headers(&[
            ("RateLimit-Limit", "10"),
            ("RateLimit-Remaining", "3"),
            ("RateLimit-Reset", "2"),
        ]);
        let want = Quota {
            limit: Some(10),
            remaining: Some(3),
            reset: Duration::from_secs(2),
        };
        assert_eq!(quota_from_headers(&ietf, now), Some(want));
        let github = headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1700000030"),
        ]);
        let want = Quota {
            limit: None,
            remaining: Some(0),
            reset: Duration::from_secs(30),
        };
        assert_eq!(quota_from_headers(&github, now), Some(want));
        let structured = headers(&[("RateLimit", "\"default\";r=7;t=4")]);
        let want = Quota {
            limit: None,
            remaining: Some(7),
            reset: Duration::from_secs(4),
        };
        assert_eq!(quota_from_headers(&structured, now), Some(want));
        assert_eq!(
            quota_from_headers(&headers(&[("RateLimit-Remaining", "3")]), now),
            None
        );
        assert_eq!(
            quota_from_headers(&headers(&[("RateLimit", "\"a\";r=x;t=1")]), now),
            None
        );
        assert_eq!(quota_from_headers(&HeaderMap::new(), now), None);
    }

    fn map(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_reset_alone_is_read_in_every_form_as_seconds_or_a_unix_time() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for (name, delta, unix) in [
            ("ratelimit-reset", "7", "1700000007"),
            ("x-ratelimit-reset", "7", "1700000007"),
            ("ratelimit", "\"d\";t=7", "\"d\";t=1700000007"),
        ] {
            for value in [delta, unix] {
                let quota = quota_from_headers(&map(&[(name, value.to_owned())]), now);
                let want = Quota {
                    limit: None,
                    remaining: None,
                    reset: Duration::from_secs(7),
                };
                assert_eq!(quota, Some(want), "{name}: {value}");
            }
        }
        // 10^9 itself is seconds; only a larger value is a Unix time.
        let edge = map(&[("ratelimit-reset", "1000000000".to_owned())]);
        let reset = quota_from_headers(&edge, now).unwrap().reset;
        assert_eq!(reset, Duration::from_secs(1_000_000_000));
        // A Unix time already past is no wait.
        let past = map(&[("x-ratelimit-reset", "1600000000".to_owned())]);
        assert_eq!(
            quota_from_headers(&past, now).unwrap().reset,
            Duration::ZERO
        );
        // Other parameters of the structured field are passed over.
        let keyed = map(&[("ratelimit", "\"d\";pk=:YWJj:;r=2;t=3".to_owned())]);
        assert_eq!(quota_from_headers(&keyed, now).unwrap().remaining, Some(2));
    }

    #[test]
    fn numbers_too_large_for_their_type_saturate_in_every_form() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let huge = [
            u32::MAX.to_string(),
            (u64::from(u32::MAX) + 1).to_string(),
            u64::MAX.to_string(),
            "18446744073709551616".to_owned(),
            "99999999999999999999999999999999".to_owned(),
        ];
        for big in &huge {
            let forms = [
                map(&[
                    ("ratelimit-limit", big.clone()),
                    ("ratelimit-remaining", big.clone()),
                    ("ratelimit-reset", "1".to_owned()),
                ]),
                map(&[
                    ("x-ratelimit-limit", big.clone()),
                    ("x-ratelimit-remaining", big.clone()),
                    ("x-ratelimit-reset", "1".to_owned()),
                ]),
                map(&[("ratelimit", format!("\"d\";r={big};t=1"))]),
            ];
            for headers in &forms {
                let quota = quota_from_headers(headers, now).unwrap();
                assert_eq!(quota.remaining, Some(u32::MAX), "{headers:?}");
                assert!(matches!(quota.limit, None | Some(u32::MAX)), "{headers:?}");
            }
            for name in ["ratelimit-reset", "x-ratelimit-reset"] {
                let quota = quota_from_headers(&map(&[(name, big.clone())]), now).unwrap();
                let want = big.parse::<u64>().unwrap_or(u64::MAX) - 1_700_000_000;
                assert_eq!(quota.reset, Duration::from_secs(want), "{name}: {big}");
            }
            let structured = map(&[("ratelimit", format!("\"d\";r=1;t={big}"))]);
            assert!(
                quota_from_headers(&structured, now).unwrap().reset > Duration::from_secs(1 << 31)
            );
        }
    }
}
