//! Arguments quoted for a POSIX shell, for the commands messages suggest.

use std::borrow::Cow;

/// `arg` as a POSIX shell reads it back: as it is when every character is
/// one the shell takes literally, else in single quotes (a `'` in it as
/// `'\''`).
pub(crate) fn shell_quote(arg: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return Cow::Borrowed(arg);
    }
    Cow::Owned(format!("'{}'", arg.replace('\'', "'\\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_and_single_quotes_the_rest() {
        let cases = [
            ("a@x", "a@x"),
            ("-x", "-x"),
            ("ut_1.2:3,4+5=6%7/8", "ut_1.2:3,4+5=6%7/8"),
            ("", "''"),
            ("a b", "'a b'"),
            ("it's", "'it'\\''s'"),
            ("$HOME", "'$HOME'"),
            ("~u", "'~u'"),
            ("*", "'*'"),
            ("a\nb", "'a\nb'"),
        ];
        for (arg, quoted) in cases {
            assert_eq!(shell_quote(arg), quoted, "{arg:?}");
            // The shell reads it back as it was.
            let back = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {quoted}")])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(back.stdout).unwrap(), arg, "{arg:?}");
        }
    }
}
