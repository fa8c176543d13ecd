//! The fake's encodings: base64url, and its percent-decoding rule.

pub(super) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            // The bytes' bits do not overlap: adding them is or-ing them.
            .fold(0u32, |n, (i, b)| n + (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// `raw` percent-decoded, if every `%` has two hex digits after it and the
/// result is UTF-8. `+` is a space only in a query value (`plus_is_space`),
/// as forms encode it; in a path it is itself (`a+b@example.com`).
pub(super) fn percent_decode(raw: &str, plus_is_space: bool) -> Option<String> {
    // The fake's rule, stricter than the decoder: a `%` not followed by two
    // hex digits is a bad request, not a literal `%`.
    let bytes = raw.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    if plus_is_space && raw.contains('+') {
        crate::url::percent_decode(&raw.replace('+', " "))
    } else {
        crate::url::percent_decode(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_has_no_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn percent_decoding_takes_plus_as_a_space_only_in_queries() {
        assert_eq!(percent_decode("a+b%40x", false).as_deref(), Some("a+b@x"));
        assert_eq!(percent_decode("a+b%40x", true).as_deref(), Some("a b@x"));
        assert_eq!(percent_decode("%2B%c3%A9", false).as_deref(), Some("+é"));
    }

    #[test]
    fn percent_decoding_wants_two_hex_digits_and_utf8() {
        for raw in ["%+f", "%-1", "% f", "%f", "%", "%zz", "%ff"] {
            assert_eq!(percent_decode(raw, false), None, "{raw}");
            assert_eq!(percent_decode(raw, true), None, "{raw}");
        }
    }
}
