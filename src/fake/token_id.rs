//! A token's id: a UUID held as 128 bits, and its one text form
//! (`xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx`, lowercase), which is all a
//! request can name.

/// The id of a token whose random part is `random` and mint count
/// `minted`: version 4's layout, with the count in the last group so that no
/// two of one fake are equal.
pub(super) fn token_id(random: u64, minted: u64) -> u128 {
    let groups = [
        (random >> 32, 32),
        ((random >> 16) & 0xffff, 16),
        (0x4000 | (random & 0xfff), 16),
        (0x8000 | ((random >> 4) & 0x3fff), 16),
        (minted & 0xffff_ffff_ffff, 48),
    ];
    groups
        .into_iter()
        .fold(0u128, |id, (group, bits)| (id << bits) | u128::from(group))
}

/// `id` as text.
pub(super) fn format_id(id: u128) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        id >> 96,
        (id >> 80) & 0xffff,
        (id >> 64) & 0xffff,
        (id >> 48) & 0xffff,
        id & 0xffff_ffff_ffff
    )
}

/// The id `text` names, if it is one in the form [`format_id`] writes.
pub(super) fn parse_id(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut id = 0u128;
    for (i, &b) in bytes.iter().enumerate() {
        let digit = match b {
            b'-' if matches!(i, 8 | 13 | 18 | 23) => continue,
            b'0'..=b'9' if !matches!(i, 8 | 13 | 18 | 23) => b - b'0',
            b'a'..=b'f' if !matches!(i, 8 | 13 | 18 | 23) => b - b'a' + 10,
            _ => return None,
        };
        id = (id << 4) | u128::from(digit);
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_written_in_the_uuid_layout_and_read_back() {
        let id = token_id(0x0123_4567_89ab_cdef, 7);
        let text = format_id(id);
        assert_eq!(text, "01234567-89ab-4def-bcde-000000000007");
        assert_eq!(parse_id(&text), Some(id));
        for random in [0, u64::MAX, 0x8000_0000_0000_0001] {
            let id = token_id(random, u64::MAX);
            assert_eq!(parse_id(&format_id(id)), Some(id));
        }
    }

    #[test]
    fn only_the_written_form_is_an_id() {
        for text in [
            "",
            "01234567-89AB-4def-9cde-000000000007",
            "01234567-89ab-4def-9cde-0000000000070",
            "01234567x89ab-4def-9cde-000000000007",
            "0123456-789ab-4def-9cde-000000000007",
            "01234567-89ab-4def-9cde-00000000000g",
        ] {
            assert_eq!(parse_id(text), None, "{text}");
        }
    }
}
