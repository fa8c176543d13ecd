//! Building request paths and queries, and reading a cursor back from a link.

use crate::Error;

pub(crate) fn user_tokens_path(user_id: &str) -> Result<String, Error> {
    Ok(format!("/jwt/user/{}", path_segment("user_id", user_id)?))
}

/// `value` percent-encoded as one path segment; `name` says what it is when it
/// is refused.
pub(crate) fn path_segment(name: &str, value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{name} is empty")));
    }
    // Servers resolve these as "this" and "parent" segments, even encoded:
    // the request would name another resource than the caller's.
    if value == "." || value == ".." {
        return Err(Error::invalid(format!(
            "{name} {value:?} cannot be sent: in a URL path it means {}, so the request would reach another resource",
            if value == "." { "\"this folder\"" } else { "\"the parent folder\"" }
        )));
    }
    Ok(percent_encode(value))
}

/// `path?a=1&b=2` from the pairs that are set, or `path` alone.
pub(crate) fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> Result<String, Error> {
    let mut query = String::with_capacity(path.len() + 64);
    query.push_str(path);
    for (name, value) in pairs {
        let Some(value) = value else { continue };
        if value.is_empty() {
            return Err(Error::invalid(format!("{name} is empty")));
        }
        query.push(if query.len() == path.len() { '?' } else { '&' });
        query.push_str(name);
        query.push('=');
        percent_encode_into(value, &mut query);
    }
    Ok(query)
}

/// Every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`):
/// the set path segments and query values are percent-encoded with, so an id
/// or cursor reaches the server as exactly one segment or value. Shared, so
/// that whatever else encodes these URLs (the fake) uses the same set.
pub(crate) const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` with every byte but the unreserved characters percent-encoded:
/// the client's path segments and query values, and the fake's `links`.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    percent_encode_into(value, &mut out);
    out
}

fn percent_encode_into(value: &str, out: &mut String) {
    out.extend(percent_encoding::utf8_percent_encode(value, NOT_UNRESERVED));
}

/// The decoded value of query parameter `name` in `url`, if it is there and
/// is UTF-8. A `+` stays a `+`: this is a URL's query, not a form.
pub(crate) fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))?;
    percent_decode(raw)
}

/// `raw` percent-decoded, if the result is UTF-8; a `%` without two hex
/// digits after it stays as it is, and so does a `+`.
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        let cases = [
            ("abc-._~XYZ09", "abc-._~XYZ09"),
            ("a/b?c", "a%2Fb%3Fc"),
            ("a+b c", "a%2Bb%20c"),
            ("%", "%25"),
            ("é", "%C3%A9"),
            ("#&=", "%23%26%3D"),
        ];
        for (value, want) in cases {
            assert_eq!(percent_encode(value), want, "{value}");
        }
    }

    #[test]
    fn a_cursor_survives_a_round_trip_through_a_link() {
        for cursor in ["a+b", "a b", "a/b?c=d&e", "é%", "3f1c-9a", "+"] {
            let link = format!(
                "https://api.example/v2/jwt/project?limit=5&starting_after={}#top",
                percent_encode(cursor)
            );
            assert_eq!(
                query_value(&link, "starting_after").as_deref(),
                Some(cursor),
                "{link}"
            );
        }
    }

    #[test]
    fn query_value_keeps_a_plus_and_finds_only_the_named_parameter() {
        let url = "https://x/v2?xstarting_after=no&starting_after=a+b&limit=2";
        assert_eq!(query_value(url, "starting_after").as_deref(), Some("a+b"));
        assert_eq!(query_value(url, "limit").as_deref(), Some("2"));
        assert_eq!(query_value(url, "ending_before"), None);
        assert_eq!(query_value("https://x/v2", "limit"), None);
        // Not UTF-8 once decoded: no cursor, rather than a mangled one.
        assert_eq!(query_value("https://x/?limit=%FF", "limit"), None);
    }

    #[test]
    fn with_query_encodes_values_and_refuses_empty_ones() {
        assert_eq!(
            with_query("/p", &[("a", Some("1 2")), ("b", None), ("c", Some("x"))]).ok(),
            Some("/p?a=1%202&c=x".to_owned())
        );
        assert_eq!(with_query("/p", &[("a", None)]).ok(), Some("/p".to_owned()));
        assert!(matches!(
            with_query("/p", &[("a", Some(""))]),
            Err(Error::InvalidInput { reason }) if reason == "a is empty"
        ));
    }
}
