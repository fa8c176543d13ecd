//! The command line as given: which command, and each option's value as a string, unchecked.

/// What the command line asks for, before any value is checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Run(Box<LowArgs>),
    /// The overview (`None`) or one command's usage.
    Help(Option<&'static str>),
    Version,
    /// No command at all.
    Nothing,
}

/// What each command does: the checked invocation is built by verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    List,
    Create,
    Discard,
    UserList,
    UserCreate,
    UserDiscard,
    Rotate,
    Prune,
    UserRevokeAll,
    Apply,
    Fake,
}

/// The positional arguments of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Positional {
    None,
    /// Exactly one, so named.
    One(&'static str),
    /// One or more, or `-` alone to read them from stdin.
    ManyOrStdin(&'static str),
}

/// A command line as given: what each option set, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LowArgs {
    pub(crate) verb: Verb,
    /// The command's name, for messages.
    pub(crate) command: &'static str,
    /// The positional arguments the command takes.
    pub(crate) takes: Positional,
    pub(crate) positional: Vec<String>,
    pub(crate) json: bool,
    pub(crate) limit: Option<String>,
    pub(crate) all: bool,
    pub(crate) expiry: Option<String>,
    pub(crate) dry_run: bool,
    pub(crate) parallel: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) external_id: Option<String>,
    /// `user-create --name` or `prune --name`.
    pub(crate) name: Option<String>,
    pub(crate) expired: bool,
    pub(crate) older_than: Option<String>,
    pub(crate) port: Option<String>,
    pub(crate) latency_ms: Option<String>,
    pub(crate) env_file: Option<String>,
    pub(crate) frozen_clock: bool,
    pub(crate) rate_limit: Option<String>,
    pub(crate) rate_limit_headers: bool,
    /// Every `--fault`, in the order given.
    pub(crate) faults: Vec<String>,
    pub(crate) request_log_limit: Option<String>,
    pub(crate) plan: Option<String>,
    pub(crate) assume_gone: bool,
}

impl LowArgs {
    /// Nothing given yet to `command`.
    pub(crate) fn new(verb: Verb, command: &'static str, takes: Positional) -> Self {
        LowArgs {
            verb,
            command,
            takes,
            positional: Vec::new(),
            json: false,
            limit: None,
            all: false,
            expiry: None,
            dry_run: false,
            parallel: None,
            email: None,
            external_id: None,
            name: None,
            expired: false,
            older_than: None,
            port: None,
            latency_ms: None,
            env_file: None,
            frozen_clock: false,
            rate_limit: None,
            rate_limit_headers: false,
            faults: Vec::new(),
            request_log_limit: None,
            plan: None,
            assume_gone: false,
        }
    }
}

/// A refused command line: what was wrong, and the command whose `--help`
/// to point at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ArgError {
    pub(crate) message: String,
    pub(crate) command: Option<&'static str>,
}

impl ArgError {
    pub(crate) fn new(message: impl Into<String>, command: Option<&'static str>) -> Self {
        ArgError {
            message: message.into(),
            command,
        }
    }
}
