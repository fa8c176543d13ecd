//! Rate-limit headers: what an answer says of the requests left in its window.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::http::HeaderMap;

/// A server's rate-limit headers: requests left in this window, and when it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    pub limit: Option<u32>,
    pub remaining: u32,
    pub reset: Duration,
}

/// The rate-limit headers of an answer: `RateLimit-Remaining` and
/// `RateLimit-Reset` (IETF drafts up to 07, with `RateLimit-Limit`), the
/// `X-RateLimit-` forms (a reset above 10^9 is a Unix time, as GitHub sends),
/// or the structured `RateLimit: "policy";r=0;t=1` of the later drafts.
pub(crate) fn quota_from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Quota> {
    // Most answers have none: one pass over a few names, no lookups.
    if !headers
        .keys()
        .any(|name| name.as_str().contains("ratelimit"))
    {
        return None;
    }
    let number =
        |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
    let unix_now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let reset_from = |value: u64| {
        if value > 1_000_000_000 {
            Duration::from_secs(value.saturating_sub(unix_now))
        } else {
            Duration::from_secs(value)
        }
    };
    let forms = [
        ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"),
        (
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ),
    ];
    for (limit, remaining, reset) in forms {
        if let (Some(remaining), Some(reset)) = (number(remaining), number(reset)) {
            return Some(Quota {
                limit: number(limit).map(saturate),
                remaining: saturate(remaining),
                reset: reset_from(reset),
            });
        }
    }
    structured(headers.get("ratelimit")?.to_str().ok()?)
}

/// `"default";r=0;t=1` (draft 08 and later): the first policy's `r` and `t`.
fn structured(value: &str) -> Option<Quota> {
    let item = value.split(',').next()?;
    let mut remaining = None;
    let mut reset = None;
    for parameter in item.split(';').skip(1) {
        let (key, value) = parameter.trim().split_once('=')?;
        let value: u64 = value.trim().parse().ok()?;
        match key.trim() {
            "r" => remaining = Some(value),
            "t" => reset = Some(value),
            _ => {}
        }
    }
    Some(Quota {
        limit: None,
        remaining: saturate(remaining?),
        reset: Duration::from_secs(reset?),
    })
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
            remaining: 3,
            reset: Duration::from_secs(2),
        };
        assert_eq!(quota_from_headers(&ietf, now), Some(want));
        let github = headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1700000030"),
        ]);
        let want = Quota {
            limit: None,
            remaining: 0,
            reset: Duration::from_secs(30),
        };
        assert_eq!(quota_from_headers(&github, now), Some(want));
        let structured = headers(&[("RateLimit", "\"default\";r=7;t=4")]);
        let want = Quota {
            limit: None,
            remaining: 7,
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
}
