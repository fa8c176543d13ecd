//! Keeping secrets out of errors and `Debug`: tokens blanked from answers, credentials from URLs.
//
// Whatever an answer brings back passes through `text`, `body` or
// `json_error` before an error keeps it; `jwts` is the rule the first two share.

const EXCERPT_CHARS: usize = 200;
pub(crate) const REDACTED: &str = "[redacted]";

/// serde's message without any string value it quotes, since a create answer's
/// body holds a new token that must not reach an error message.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    // From the first `string "` to the last `", expected` after it.
    let Some(start) = message.find("string \"") else {
        return message;
    };
    let Some(length) = message[start..].rfind("\", expected") else {
        return message;
    };
    format!(
        "{}string [redacted]{}",
        &message[..start],
        &message[start + length + 1..]
    )
}

/// `text` with `secret` (the bearer token) and every JWT replaced by
/// `[redacted]`, since a server may echo either back in what it answers.
pub(crate) fn text(text: &str, secret: &str) -> String {
    if !secret.is_empty() && text.contains(secret) {
        jwts(&text.replace(secret, REDACTED))
    } else {
        jwts(text)
    }
}

/// An error body as text for its excerpt, redacted as [`text`] is; a JSON body
/// is decoded and redacted value by value, since escapes could hide a secret.
pub(crate) fn body(body: &[u8], secret: &str) -> String {
    fn in_json(value: &mut serde_json::Value, secret: &str) {
        match value {
            serde_json::Value::String(s) => *s = text(s, secret),
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|v| in_json(v, secret));
            }
            serde_json::Value::Object(map) => {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(key, mut v)| {
                        in_json(&mut v, secret);
                        (text(&key, secret), v)
                    })
                    .collect();
            }
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            in_json(&mut value, secret);
            value.to_string()
        }
        Err(_) => text(&String::from_utf8_lossy(body), secret),
    }
}

/// `text` with every JWT-shaped run (three base64url parts joined by dots,
/// the first starting `eyJ`, as every JSON header does) replaced by
/// `[redacted]`: a freshly minted token in an error body must not reach a
/// terminal or a log.
fn jwts(text: &str) -> String {
    let bytes = text.as_bytes();
    let base64url_run = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
            .count()
    };
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = text[from..].find("eyJ") {
        let start = from + found;
        let mut end = start;
        let mut parts = 0;
        while parts < 3 {
            let run = base64url_run(end);
            // The signature may be empty (an unsigned token); the others not.
            if run == 0 && parts < 2 {
                break;
            }
            end += run;
            parts += 1;
            if parts < 3 {
                if bytes.get(end) != Some(&b'.') {
                    break;
                }
                end += 1;
            }
        }
        if parts == 3 {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
            from = end;
        } else {
            from = start + 3;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The start of `text` with white space folded, or `None` for a blank body.
pub(crate) fn excerpt(text: &str) -> Option<String> {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(EXCERPT_CHARS) {
        _ if folded.is_empty() => None,
        Some((end, _)) => Some(format!("{}…", &folded[..end])),
        None => Some(folded),
    }
}

/// `url` without any `user:password@`, for showing.
pub(crate) fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if scheme.is_empty() => rest[at + 1..].to_owned(),
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_jwts_blanks_every_jwt_shaped_run() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_x";
        let cases = [
            (jwt.to_owned(), "[redacted]".to_owned()),
            (
                format!("token {jwt} leaked"),
                "token [redacted] leaked".to_owned(),
            ),
            (format!("\"{jwt}\""), "\"[redacted]\"".to_owned()),
            (format!("{jwt},{jwt}"), "[redacted],[redacted]".to_owned()),
            // An unsigned token: the third part may be empty.
            (
                "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.".to_owned(),
                "[redacted]".to_owned(),
            ),
            // At the end of a value, and right after other text.
            (format!("x={jwt}"), "x=[redacted]".to_owned()),
            (format!("abc{jwt}"), "abc[redacted]".to_owned()),
        ];
        for (text, want) in cases {
            assert_eq!(jwts(&text), want, "{text}");
        }
    }

    #[test]
    fn a_dot_after_a_jwt_is_not_part_of_it() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
        assert_eq!(
            jwts(&format!("The token is {jwt}. Keep it.")),
            "The token is [redacted]. Keep it."
        );
        assert_eq!(jwts(&format!("{jwt}.{jwt}")), "[redacted].[redacted]");
    }

    #[test]
    fn redact_jwts_leaves_ordinary_text_and_base64_alone() {
        for text in [
            "",
            "eyJ",
            "eyJ.",
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJhbGciOiJIUzI1NiJ9.",
            "eyJhbGciOiJIUzI1NiJ9..sig",
            "aGVsbG8.d29ybGQ.c2ln",
            "v1.2.3",
            "the eyJ prefix. and more",
            "dGhpcyBpcyBiYXNlNjQ=",
        ] {
            assert_eq!(jwts(text), text, "{text}");
        }
    }

    #[test]
    fn body_finds_a_token_inside_escapes_arrays_and_keys() {
        let secret = "sk-live-123";
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig";
        // `\u0073` is `s`: the escaped echo decodes to the secret.
        let body = format!(r#"{{"a":["\u0073k-live-123",{{"{jwt}":1}}],"b":"x {jwt}","n":3}}"#);
        let scrubbed = super::body(body.as_bytes(), secret);
        assert_eq!(
            scrubbed,
            r#"{"a":["[redacted]",{"[redacted]":1}],"b":"x [redacted]","n":3}"#
        );
        assert_eq!(
            super::body(b"plain sk-live-123", secret),
            "plain [redacted]"
        );
        assert_eq!(text("no secret here", ""), "no secret here");
    }

    #[test]
    fn a_json_error_loses_every_string_it_quotes() {
        let message = |json: &str| json_error(&serde_json::from_str::<u64>(json).unwrap_err());
        assert_eq!(
            message(r#""eyJhbGciOiJIUzI1NiJ9.e30.sig""#),
            "invalid type: string [redacted], expected u64 at line 1 column 30"
        );
        // A value that itself looks like the end of one.
        assert_eq!(
            message(r#""a\", expected u8 string \"b""#),
            "invalid type: string [redacted], expected u64 at line 1 column 29"
        );
        // Nothing quoted: the message as it is.
        assert_eq!(
            message("[1]"),
            "invalid type: sequence, expected u64 at line 1 column 0"
        );
    }

    #[test]
    fn without_userinfo_drops_credentials_only() {
        let cases = [
            ("http://user:pw@proxy:3128", "http://proxy:3128"),
            ("http://user:p@w@proxy:3128/x", "http://proxy:3128/x"),
            ("user:pw@proxy:3128", "proxy:3128"),
            ("http://proxy:3128", "http://proxy:3128"),
            ("http://proxy:3128/a@b", "http://proxy:3128/a@b"),
            ("http://proxy:3128?x=a@b", "http://proxy:3128?x=a@b"),
        ];
        for (url, want) in cases {
            assert_eq!(without_userinfo(url), want, "{url}");
        }
    }
}
