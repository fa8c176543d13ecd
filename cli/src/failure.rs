//! How the tool words a failure.

use std::io;

use serde_json::json;

use crate::jobs::{Kind, Unshown};
use crate::output::{print_json, Output};
use crate::shell::shell_quote;
use crate::stop::Stop;

/// What to do without a token, `{prog}` the program as invoked: set one,
/// or try the tool against its own fake service.
const NO_TOKEN: &str = "\
MAGICBELL_TOKEN is not set. Set it to a MagicBell project token allowed to
manage tokens:
    export MAGICBELL_TOKEN=...
To try the tool without one, run its fake MagicBell and export the two
variables it prints:
    {prog} fake > fake.env &
    export $(cat fake.env)";

/// A failure to word: what stopped a command, or one call among others
/// (a revoke of a batch, a user's list), which stops nothing.
#[derive(Clone, Copy)]
pub(crate) enum Failed<'a> {
    Stop(&'a Stop),
    Call(&'a magicbell_jwt::Error),
}

/// How a failure is worded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wording {
    /// One line: a JSON `"error"`, or after `failed to revoke ID: `.
    Line,
    /// As stderr says it: `error: LINE` and, unless the address says it
    /// all, a `caused by:` line for each underlying error; then, for a
    /// create that may have gone through, where to look for its token.
    Stderr,
}

impl Output<'_> {
    /// Says what stopped a command: on stderr, and, in JSON mode when no
    /// document was begun on stdout, as one `{"error": ...}` document there
    /// (a document begun gets the error as its last member instead). The
    /// exit status.
    pub(crate) fn fail(&mut self, stop: &Stop) -> u8 {
        if self.json && !self.doc.open && !matches!(stop, Stop::Output(_)) {
            let doc = json!({ "error": self.words(Failed::Stop(stop), Wording::Line) });
            let _ = print_json(self.out, &doc);
            self.doc.open = true;
        }
        let text = self.words(Failed::Stop(stop), Wording::Stderr);
        let _ = self.err.write_all(text.as_bytes());
        stop.exit_code()
    }

    /// The one place a failure is worded.
    pub(crate) fn words(&self, failed: Failed<'_>, wording: Wording) -> String {
        let (error, look) = match failed {
            Failed::Stop(Stop::NoToken) => {
                return match wording {
                    Wording::Line => "MAGICBELL_TOKEN is not set".to_owned(),
                    Wording::Stderr => {
                        format!("{}\n", NO_TOKEN.replace("{prog}", &shell_quote(&self.prog)))
                    }
                }
            }
            Failed::Stop(Stop::Output(e)) => {
                let line = format!("could not write the output: {e}");
                return match wording {
                    Wording::Line => line,
                    Wording::Stderr => format!("error: {line}\n"),
                };
            }
            Failed::Stop(Stop::Call(error)) | Failed::Call(error) => (error, None),
            Failed::Stop(Stop::Create { error, kind, whose }) => {
                (error, Some(self.where_to_look(*kind, whose)))
            }
        };
        let connect = self.connect_failure(error);
        let line = connect.clone().unwrap_or_else(|| error.to_string());
        match (wording, look) {
            (Wording::Line, None) => line,
            (Wording::Line, Some(look)) => format!("{line}; {look}"),
            (Wording::Stderr, look) => {
                let mut text = format!("error: {line}\n");
                if connect.is_none() {
                    let mut source = std::error::Error::source(error);
                    while let Some(cause) = source {
                        text.push_str(&format!("  caused by: {cause}\n"));
                        source = cause.source();
                    }
                }
                if let Some(look) = look {
                    text.push_str(&format!("{look}\n"));
                }
                text
            }
        }
    }

    /// Where to find the token a failed create may have minted anyway: the
    /// command last, after `with: `, ready to paste.
    fn where_to_look(&self, kind: Kind, whose: &str) -> String {
        let prog = shell_quote(&self.prog);
        let (token, list) = match kind {
            Kind::Project => (format!("named {whose:?}"), format!("{prog} list")),
            Kind::User => (
                format!("of {whose}"),
                format!("{prog} user-list -- {}", shell_quote(whose)),
            ),
        };
        format!(
            "the create may have gone through: look for a new token {token} and revoke it; \
             list the tokens with: {list}"
        )
    }

    /// `could not connect to HOST:PORT (ORIGIN): REASON` for a connection
    /// that could not be made, straight to the API (not through a proxy,
    /// not a TLS problem): the one failure where the address is the answer.
    fn connect_failure(&self, error: &magicbell_jwt::Error) -> Option<String> {
        let target = self.target.as_ref().filter(|t| !t.proxied)?;
        let magicbell_jwt::Error::Transport(transport) = error else {
            return None;
        };
        if !transport.is_connect() {
            return None;
        }
        let reason = io_reason(transport.io_error_kind()?)?;
        let mut text = format!(
            "could not connect to {} ({}): {reason}",
            target.address, target.origin
        );
        if transport.attempts() > 1 {
            // The library's message ends with the attempts, and whether an
            // earlier one may have acted: " (after 3 attempts…)".
            let message = transport.to_string();
            text.push_str(message.rfind(" (after ").map_or("", |at| &message[at..]));
        }
        Some(text)
    }

    /// Says on stderr that stdout failed after the new token `id` was
    /// written to it: it may not have reached anyone, and it is live.
    pub(crate) fn shown_then_broken(&mut self, id: &str) {
        let _ = writeln!(
            self.err,
            "the new token {id} was written before stdout failed, so it may not have reached \
             anyone, and it is live: if you do not hold it, revoke it with: {} discard -- {}",
            shell_quote(&self.prog),
            shell_quote(id)
        );
    }

    /// Says on stderr what became of a created token that could not be
    /// shown.
    pub(crate) fn unshown(&mut self, unshown: &Unshown) {
        let id = &unshown.id;
        let text = match &unshown.revoked {
            Ok(()) => format!("the new token {id} could not be shown, so it was revoked"),
            Err(e) => {
                let discard = match unshown.kind {
                    Kind::Project => "discard",
                    Kind::User => "user-discard",
                };
                format!(
                    "the new token {id} could not be shown, and revoking it failed ({}): \
                     revoke it with: {} {discard} -- {}",
                    self.words(Failed::Call(e), Wording::Line),
                    shell_quote(&self.prog),
                    shell_quote(id)
                )
            }
        };
        let _ = writeln!(self.err, "{text}");
    }
}

/// What ended a connection attempt, named: `None` for a kind of I/O error
/// the address does not explain.
fn io_reason(kind: io::ErrorKind) -> Option<&'static str> {
    use io::ErrorKind as K;
    match kind {
        K::ConnectionRefused => Some("connection refused"),
        K::HostUnreachable => Some("host unreachable"),
        K::NetworkUnreachable => Some("network unreachable"),
        K::AddrNotAvailable => Some("address not available"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Doc;
    use magicbell_jwt::Client;

    #[test]
    fn a_new_token_left_live_is_named_with_a_command_that_pastes_whole() {
        for (kind, discard) in [(Kind::Project, "discard"), (Kind::User, "user-discard")] {
            let mut err = Vec::new();
            let mut output = Output {
                out: &mut io::sink(),
                err: &mut err,
                json: false,
                prog: "my tokens".to_owned(),
                target: None,
                doc: Doc::default(),
                broken: false,
                progress: None,
            };
            // Refused before sending: no server needed.
            let gone = Client::new("sk-test").unwrap().discard_project_jwt("");
            let gone = gone.unwrap_err();
            let message = gone.to_string();
            let unshown = Unshown {
                kind,
                id: "-x y".to_owned(),
                revoked: Err(gone),
            };

            output.unshown(&unshown);

            assert_eq!(
                String::from_utf8(err).unwrap(),
                format!(
                    "the new token -x y could not be shown, and revoking it failed ({message}): \
                     revoke it with: 'my tokens' {discard} -- '-x y'\n"
                )
            );
        }
    }

    #[test]
    fn each_connect_failure_is_named_by_its_io_error_kind() {
        use io::ErrorKind as K;
        let reason = io_reason;

        assert_eq!(reason(K::ConnectionRefused), Some("connection refused"));
        assert_eq!(reason(K::HostUnreachable), Some("host unreachable"));
        assert_eq!(reason(K::NetworkUnreachable), Some("network unreachable"));
        assert_eq!(reason(K::AddrNotAvailable), Some("address not available"));
        assert_eq!(reason(K::TimedOut), None);
    }
}
