//! Why a command stopped.

use std::io;

use crate::hiargs::Kind;

/// Why a command stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// `MAGICBELL_TOKEN` is unset or blank.
    NoToken,
    /// The library refused an argument or a call failed.
    Call(magicbell_jwt::Error),
    /// A create failed in a way that may have minted the token anyway (a
    /// 5xx, an answer cut off): `whose` is the project token's name or the
    /// user, for where to look for it.
    Create {
        error: magicbell_jwt::Error,
        kind: Kind,
        whose: String,
    },
    /// Writing the output failed.
    Output(io::Error),
    /// What a command was given (a plan, its journal) is refused before
    /// anything is sent: the message says which file and why.
    Refused(String),
    /// The command stopped itself part-way on answers that suggest a
    /// mistake: the message says which, and how to go on.
    Suspect(String),
    /// A file the command writes (a plan, a journal) could not be written:
    /// the message says which, and what became of the work.
    File(String),
}

impl From<magicbell_jwt::Error> for Stop {
    fn from(error: magicbell_jwt::Error) -> Self {
        Stop::Call(error)
    }
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Self {
        Stop::Output(error)
    }
}

impl From<serde_json::Error> for Stop {
    fn from(error: serde_json::Error) -> Self {
        Stop::Output(error.into())
    }
}

impl Stop {
    /// A failed create of a `kind` token for `whose`: [`Stop::Create`] when
    /// the server may have acted on it, a plain [`Stop::Call`] when surely
    /// nothing was minted.
    pub(crate) fn create(error: magicbell_jwt::Error, kind: Kind, whose: &str) -> Stop {
        if error.may_have_been_processed() {
            let whose = whose.to_owned();
            Stop::Create { error, kind, whose }
        } else {
            Stop::Call(error)
        }
    }

    /// The exit status: 2 for what was refused before anything was sent.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Stop::NoToken
            | Stop::Refused(_)
            | Stop::Call(magicbell_jwt::Error::InvalidInput { .. }) => 2,
            Stop::Call(_)
            | Stop::Create { .. }
            | Stop::Output(_)
            | Stop::File(_)
            | Stop::Suspect(_) => 1,
        }
    }
}
