//! Timestamps as times: RFC 3339 as MagicBell sends it, expiry and
//! revocation, and `has_more`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use magicbell_jwt::{
    AccessToken, AccessTokenCollection, CreateTokenResponse, DiscardTokenResponse,
};
use serde_json::json;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[track_caller]
fn token(created_at: &str, expires_at: Option<&str>, discarded_at: Option<&str>) -> AccessToken {
    serde_json::from_value(json!({
        "id": "t1",
        "created_at": created_at,
        "expires_at": expires_at,
        "discarded_at": discarded_at,
    }))
    .unwrap()
}

// 2026-01-01T00:00:00Z
const NEW_YEAR: u64 = 1_767_225_600;

#[test]
fn utc_timestamps_parse_to_the_second() {
    let t = token("2026-01-01T00:00:00Z", Some("2026-03-01T12:30:05Z"), None);

    assert_eq!(t.created_at_time(), Some(at(NEW_YEAR)));
    // 59 days of January and February, then 12:30:05.
    assert_eq!(
        t.expires_at_time(),
        Some(at(NEW_YEAR + 59 * 86_400 + 45_005))
    );
}

#[test]
fn fractional_seconds_keep_their_nanoseconds() {
    for (text, nanos) in [
        ("2026-01-01T00:00:00.5Z", 500_000_000),
        ("2026-01-01T00:00:00.123456Z", 123_456_000),
        ("2026-01-01T00:00:00.123456789Z", 123_456_789),
        ("2026-01-01T00:00:00.1234567891Z", 123_456_789),
    ] {
        assert_eq!(
            token(text, None, None).created_at_time(),
            Some(at(NEW_YEAR) + Duration::from_nanos(nanos)),
            "{text}"
        );
    }
}

#[test]
fn numeric_offsets_are_applied() {
    for (text, secs) in [
        ("2026-01-01T02:00:00+02:00", NEW_YEAR),
        ("2025-12-31T19:00:00-05:00", NEW_YEAR),
        ("2026-01-01T05:30:00+05:30", NEW_YEAR),
        ("2026-01-01T00:00:00+00:00", NEW_YEAR),
        ("2026-01-01t00:00:00z", NEW_YEAR),
    ] {
        assert_eq!(
            token(text, None, None).created_at_time(),
            Some(at(secs)),
            "{text}"
        );
    }
}

#[test]
fn times_before_1970_parse_too() {
    assert_eq!(
        token("1969-12-31T23:59:59Z", None, None).created_at_time(),
        UNIX_EPOCH.checked_sub(Duration::from_secs(1))
    );
}

#[test]
fn values_that_do_not_parse_give_none_and_never_fail_decoding() {
    for text in [
        "",
        "yesterday",
        "2026-01-01",
        "2026-01-01T00:00:00",
        "2026-01-01T00:00:00.Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:00+25:00",
        "2026-01-01T00:00:00 Z",
        "+2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Zjunk",
    ] {
        let t = token(text, Some(text), Some(text));
        assert_eq!(t.created_at_time(), None, "{text:?}");
        assert_eq!(t.expires_at_time(), None, "{text:?}");
        assert_eq!(t.discarded_at_time(), None, "{text:?}");
        assert!(!t.is_expired_at(at(u64::from(u32::MAX))), "{text:?}");
    }
    assert_eq!(
        token("2024-02-29T00:00:00Z", None, None).created_at_time(),
        Some(at(1_709_164_800)),
        "a leap day parses"
    );
}

#[test]
fn a_token_is_expired_from_its_expires_at_on() {
    let t = token("2025-01-01T00:00:00Z", Some("2026-01-01T00:00:00Z"), None);

    assert!(!t.is_expired_at(at(NEW_YEAR - 1)));
    assert!(t.is_expired_at(at(NEW_YEAR)));
    assert!(t.is_expired_at(at(NEW_YEAR + 1)));
    assert!(t.is_active_at(at(NEW_YEAR - 1)));
    assert!(!t.is_active_at(at(NEW_YEAR)));
}

#[test]
fn a_token_without_expires_at_never_expires() {
    let t = token("2025-01-01T00:00:00Z", None, None);

    assert!(!t.is_expired_at(at(u64::from(u32::MAX))));
    assert!(t.is_active_at(at(u64::from(u32::MAX))));
}

#[test]
fn a_discarded_token_is_not_active_whatever_its_expiry() {
    let t = token("2025-01-01T00:00:00Z", None, Some("2025-06-01T00:00:00Z"));

    assert!(t.is_discarded());
    assert!(!t.is_active_at(at(NEW_YEAR)));
    assert_eq!(t.discarded_at_time(), Some(at(1_748_736_000)));
    assert!(!token("2025-01-01T00:00:00Z", None, None).is_discarded());
}

#[test]
fn create_and_discard_answers_give_their_times() {
    let created: CreateTokenResponse = serde_json::from_value(json!({
        "token": "x", "token_id": "t1",
        "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-01T01:00:00Z"
    }))
    .unwrap();
    let discarded: DiscardTokenResponse = serde_json::from_value(json!({
        "token_id": "t1", "discarded_at": "2026-01-01T00:00:01.25Z"
    }))
    .unwrap();

    assert_eq!(created.created_at_time(), Some(at(NEW_YEAR)));
    assert_eq!(created.expires_at_time(), Some(at(NEW_YEAR + 3600)));
    assert_eq!(
        discarded.discarded_at_time(),
        Some(at(NEW_YEAR + 1) + Duration::from_millis(250))
    );
}

#[test]
fn has_more_is_true_only_for_a_next_link() {
    let page = |links: serde_json::Value| -> AccessTokenCollection {
        serde_json::from_value(json!({ "data": [], "links": links })).unwrap()
    };

    assert!(page(json!({"next": "https://x/?starting_after=a"})).has_more());
    assert!(!page(json!({"next": null})).has_more());
    assert!(!page(json!({})).has_more());
    assert!(!page(json!(null)).has_more());
}
