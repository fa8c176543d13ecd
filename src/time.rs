//! Dates: `Retry-After`, an answer's `Date` and RFC 3339 timestamps, read and written.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A `Retry-After` value as the wait from `now` (the answer's time, see
/// [`answer_time`]): whole seconds (more than `u64` holds is `u64::MAX`:
/// longer than any wait, not none), or an HTTP date ([`parse_http_date`]).
/// A date in the past is no wait.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    let then = parse_http_date(value, now)?;
    Some(Duration::from_secs(then.saturating_sub(now).max(0) as u64))
}

/// When an answer was made, by the server's clock: its `Date` header, else
/// `local` (the client's clock). Dates and Unix times an answer names are
/// read against it, so a client whose clock is off still waits what the
/// server meant.
pub(crate) fn answer_time(date: Option<&str>, local: SystemTime) -> SystemTime {
    let now = local
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    date.and_then(|date| parse_http_date(date.trim(), now))
        .and_then(|then| u64::try_from(then).ok())
        .map_or(local, |then| UNIX_EPOCH + Duration::from_secs(then))
}

/// An HTTP date as Unix seconds, in any of the three forms RFC 9110
/// (section 5.6.7) asks recipients to accept, always GMT: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form (`Sunday,
/// 06-Nov-94 08:49:37 GMT`, its two-digit year taken as the latest past year
/// that is no more than 50 years ahead of `now`, Unix seconds) and asctime
/// (`Sun Nov  6 08:49:37 1994`).
fn parse_http_date(value: &str, now: i64) -> Option<i64> {
    let fields = value.split_whitespace().collect::<Vec<_>>();
    let (day, month, year, time) = match fields[..] {
        // IMF-fixdate; its weekday is not checked, as no date needs it.
        [_, day, month, year, time, "GMT"] if year.len() == 4 => {
            (day, month, year.to_owned(), time)
        }
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
        [_, date, time, "GMT"] => {
            let [day, month, yy] = *date.split('-').collect::<Vec<_>>() else {
                return None;
            };
            if yy.len() != 2 {
                return None;
            }
            let this_year = 1970 + now.div_euclid(31_556_952);
            let mut year = this_year - this_year % 100 + yy.parse::<i64>().ok()?;
            if year > this_year + 50 {
                year -= 100;
            }
            (day, month, year.to_string(), time)
        }
        // asctime: "Sun Nov  6 08:49:37 1994".
        [_, month, day, time, year] if year.len() == 4 => (day, month, year.to_owned(), time),
        _ => return None,
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)? as i64
        + 1;
    let mut hms = time.split(':').map(|n| n.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() {
        return None;
    }
    let (y, d) = (year.parse::<i64>().ok()?, day.parse::<i64>().ok()?);
    // Out-of-range fields are a bad header, not a reason to overflow.
    let in_range = (0..=9999).contains(&y)
        && (1..=31).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && (0..=60).contains(&s);
    if !in_range {
        return None;
    }
    Some(days_from_civil(y, month, d) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil); `month` is 1 to 12.
fn days_from_civil(y: i64, month: i64, d: i64) -> i64 {
    let yy = if month <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 timestamp as MagicBell sends it (`2026-01-01T00:00:00Z`,
/// fractional seconds, a numeric offset such as `+02:00`), or `None`. The
/// crate's one reader of these dates, shared so that whatever writes one (the
/// fake) can be checked against it.
///
/// Accepted: `YYYY-MM-DD`, then `T`, `t` or a space, then `hh:mm:ss`; an
/// optional fraction (`.` and at least one digit: nanoseconds are kept, finer
/// digits dropped); then `Z`, `z` or an offset `+hh:mm` / `-hh:mm`. Every
/// field is range-checked (the day against its month and leap year, hours
/// below 24, a leap second `:60` read as the next minute's first); anything
/// else, such as an offset `+0200` or none at all, is `None`.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separators_ok = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !separators_ok {
        return None;
    }
    let (y, month, d) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (h, m, s) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let in_range = (1..=12).contains(&month)
        && d >= 1
        && d <= month_days[(month - 1) as usize]
        && h < 24
        && m < 60
        && s <= 60;
    if !in_range {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        // Nanoseconds: the first nine digits, padded; finer ones are dropped.
        for i in 0..9 {
            let digit = fraction.as_bytes().get(i).filter(|_| i < digits);
            nanos = nanos * 10 + digit.map_or(0, |c| u32::from(c - b'0'));
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (number(text.len() - 5, 2)?, number(text.len() - 2, 2)?);
            if oh >= 24 || om >= 60 {
                return None;
            }
            let offset = oh * 3600 + om * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, month, d) * 86_400 + h * 3600 + m * 60 + s - offset;
    let since_epoch = Duration::new(secs.unsigned_abs(), 0);
    let whole = if secs >= 0 {
        UNIX_EPOCH.checked_add(since_epoch)?
    } else {
        UNIX_EPOCH.checked_sub(since_epoch)?
    };
    whole.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// `time` as RFC 3339 in UTC (`2026-02-01T00:00:00Z`), with a fraction only
/// when there is one (`.25`, trailing zeros dropped): what the fake writes,
/// and what [`parse_rfc3339`] reads back to the same instant. A time before
/// 1970 is written as 1970's first second.
#[cfg(any(feature = "fake", test))]
pub(crate) fn format_rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    let nanos = since.subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The proleptic Gregorian date of a count of days since 1970-01-01 (Howard
/// Hinnant's civil_from_days), the inverse of [`days_from_civil`].
#[cfg(any(feature = "fake", test))]
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_writes_utc_with_a_fraction_only_when_there_is_one() {
        let t = UNIX_EPOCH + Duration::from_secs(1_769_904_000);
        assert_eq!(format_rfc3339(t), "2026-02-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(t + Duration::from_millis(250)),
            "2026-02-01T00:00:00.25Z"
        );
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        let latest = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
        assert_eq!(format_rfc3339(latest), "9999-12-31T23:59:59Z");
        assert_eq!(
            format_rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn what_is_written_parses_back_to_the_same_instant() {
        // Leap days, year and century ends, fractions down to the nanosecond.
        let table = [
            ("1970-01-01T00:00:00Z", 0, 0),
            ("1972-02-29T12:00:00Z", 68_212_800, 0),
            ("1999-12-31T23:59:59.999999999Z", 946_684_799, 999_999_999),
            ("2000-01-01T00:00:00.000000001Z", 946_684_800, 1),
            ("2000-02-29T23:59:59Z", 951_868_799, 0),
            ("2100-02-28T00:00:00.5Z", 4_107_456_000, 500_000_000),
            ("2100-03-01T00:00:00Z", 4_107_542_400, 0),
            ("2024-02-29T00:00:00.25Z", 1_709_164_800, 250_000_000),
            ("2026-12-31T23:59:59.1Z", 1_798_761_599, 100_000_000),
            ("9999-12-31T23:59:59Z", 253_402_300_799, 0),
        ];
        for (text, secs, nanos) in table {
            let time = UNIX_EPOCH + Duration::new(secs, nanos);
            assert_eq!(format_rfc3339(time), text);
            assert_eq!(parse_rfc3339(text), Some(time), "{text}");
        }
        // Offsets the fake never writes read as the same instant in UTC.
        let noon_utc = parse_rfc3339("2024-02-29T12:00:00Z");
        assert_eq!(parse_rfc3339("2024-02-29T14:00:00+02:00"), noon_utc);
        assert_eq!(parse_rfc3339("2024-02-29T07:30:00-04:30"), noon_utc);
        assert_eq!(
            parse_rfc3339("2024-03-01T01:00:00+13:00")
                .map(format_rfc3339)
                .as_deref(),
            Some("2024-02-29T12:00:00Z")
        );
        // Every day of four years, leap years and their ends included.
        for day in 0..4 * 366 {
            let time = UNIX_EPOCH + Duration::from_secs(946_684_800 + day * 86_400 + 43_199);
            assert_eq!(parse_rfc3339(&format_rfc3339(time)), Some(time));
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    // --- RFC 3339 ---

    #[test]
    fn rfc3339_accepts_the_forms_the_api_sends() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(at(0))),
            ("2026-01-01T00:00:00Z", Some(at(1_767_225_600))),
            ("2026-01-01t00:00:00z", Some(at(1_767_225_600))),
            ("2026-01-01 00:00:00Z", Some(at(1_767_225_600))),
            ("2026-01-01T02:30:00+02:30", Some(at(1_767_225_600))),
            ("2025-12-31T23:00:00-01:00", Some(at(1_767_225_600))),
            ("2024-02-29T12:00:00Z", Some(at(1_709_208_000))),
            ("2000-02-29T00:00:00Z", Some(at(951_782_400))),
            (
                "2026-01-01T00:00:00.5Z",
                Some(at(1_767_225_600) + Duration::from_millis(500)),
            ),
            (
                "2026-01-01T00:00:00.123456789123Z",
                Some(at(1_767_225_600) + Duration::from_nanos(123_456_789)),
            ),
            (
                "1969-12-31T23:59:59Z",
                UNIX_EPOCH.checked_sub(Duration::from_secs(1)),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rfc3339(text), want, "{text}");
        }
    }

    #[test]
    fn rfc3339_refuses_out_of_range_and_malformed_fields() {
        for text in [
            "2025-02-29T00:00:00Z", // not a leap year
            "1900-02-29T00:00:00Z", // century, not a leap year
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:61Z",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+02:60",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00ZZ",
            "2026/01/01T00:00:00Z",
            "+026-01-01T00:00:00Z",
            "2026-01-01",
            "",
            "2026-01-01T00:00:0éZ",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn days_from_civil_counts_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1970, 3, 1), 59);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(
            days_from_civil(2024, 12, 31) - days_from_civil(2024, 1, 1),
            365
        );
    }

    // --- Retry-After ---

    #[test]
    fn retry_after_reads_seconds_and_the_three_http_date_forms() {
        // 1994-11-06T08:49:27Z: ten seconds before the examples' date.
        let now = at(784_111_767);
        let ten = Some(Duration::from_secs(10));
        let cases = [
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            ("99999999999999999999", Some(Duration::from_secs(u64::MAX))),
            ("Sun, 06 Nov 1994 08:49:37 GMT", ten),
            ("Sunday, 06-Nov-94 08:49:37 GMT", ten),
            ("Sun Nov  6 08:49:37 1994", ten),
            // A date already past is no wait, not an error.
            ("Sat, 05 Nov 1994 08:49:37 GMT", Some(Duration::ZERO)),
        ];
        for (value, want) in cases {
            assert_eq!(parse_retry_after(value, now), want, "{value:?}");
        }
    }

    #[test]
    fn retry_after_takes_a_two_digit_year_as_at_most_50_years_ahead() {
        // Now is 2026-01-01: "76" is 2076 (50 years ahead), "77" is 1977.
        let now = at(1_767_225_600);
        let in_2076 = parse_retry_after("Friday, 01-Jan-76 00:00:00 GMT", now);
        assert_eq!(
            in_2076,
            Some(Duration::from_secs(
                (days_from_civil(2076, 1, 1) - days_from_civil(2026, 1, 1)) as u64 * 86_400
            ))
        );
        assert_eq!(
            parse_retry_after("Saturday, 01-Jan-77 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_ignores_what_is_neither_seconds_nor_a_date() {
        let now = at(784_111_767);
        for value in [
            "",
            "-1",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 06-Nov 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94",
            "Sun, 06 Nov 99999 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    // --- Date ---

    #[test]
    fn an_answer_s_time_is_its_date_header_else_the_local_clock() {
        let local = at(1_767_225_600);
        let date = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(answer_time(date, local), at(784_111_777));
        assert_eq!(
            answer_time(Some(" Sun Nov  6 08:49:37 1994 "), local),
            at(784_111_777)
        );
        for unreadable in [None, Some(""), Some("784111777"), Some("yesterday")] {
            assert_eq!(answer_time(unreadable, local), local, "{unreadable:?}");
        }
        // Before 1970 is no time a `SystemTime` from the epoch holds.
        let before_1970 = Some("Thu, 01 Jan 1931 00:00:00 GMT");
        assert_eq!(answer_time(before_1970, local), local);
    }
}
