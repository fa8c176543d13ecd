//! Every command and option, each declared once: its name, its help, and the raw argument it sets.

use crate::lowargs::{LowArgs, Positional, Verb};

/// One option of a command.
pub(crate) struct Flag {
    /// Its name, dashes included.
    pub(crate) name: &'static str,
    /// What it sets in the raw arguments, and so whether it takes a value.
    pub(crate) sets: Sets,
    /// Its help; a `\n` goes on to a line of its own, under the first.
    pub(crate) help: &'static str,
}

/// The raw argument an option sets.
pub(crate) enum Sets {
    /// A switch: `true` once given.
    Switch(fn(&mut LowArgs) -> &mut bool),
    /// An option that takes a value, named in the usage (`N`, `SECS`): its
    /// value, once, as given.
    Value(&'static str, fn(&mut LowArgs) -> &mut Option<String>),
    /// An option that takes a value and may be given again: each value, in
    /// the order given.
    Values(&'static str, fn(&mut LowArgs) -> &mut Vec<String>),
}

impl Flag {
    /// `--limit N`, as the usage shows it.
    pub(crate) fn usage(&self) -> String {
        match self.sets {
            Sets::Switch(_) => self.name.to_owned(),
            Sets::Value(value, _) | Sets::Values(value, _) => format!("{} {value}", self.name),
        }
    }

    /// `[--limit N]` in a synopsis; `[--fault RULE]...` when it may be given
    /// again.
    fn optional(&self) -> String {
        match self.sets {
            Sets::Values(..) => format!("[{}]...", self.usage()),
            _ => format!("[{}]", self.usage()),
        }
    }
}

pub(crate) const LIMIT: Flag = Flag {
    name: "--limit",
    sets: Sets::Value("N", |a| &mut a.limit),
    help: "at most N tokens a page (default: the API's)",
};
pub(crate) const ALL: Flag = Flag {
    name: "--all",
    sets: Sets::Switch(|a| &mut a.all),
    help: "every page, each printed as it arrives",
};
pub(crate) const EXPIRY: Flag = Flag {
    name: "--expiry",
    sets: Sets::Value("SECS", |a| &mut a.expiry),
    help: "seconds the new token stays valid (default: the API's)",
};
pub(crate) const DRY_RUN: Flag = Flag {
    name: "--dry-run",
    sets: Sets::Switch(|a| &mut a.dry_run),
    help: "send no POST and no DELETE: say what would be done",
};
/// Its range and default are [`MAX_PARALLEL`] and [`DEFAULT_PARALLEL`]; a
/// test holds its help to them.
pub(crate) const PARALLEL: Flag = Flag {
    name: "--parallel",
    sets: Sets::Value("N", |a| &mut a.parallel),
    help: "requests in flight at once, 1 to 64 (default 8)",
};
pub(crate) const EMAIL: Flag = Flag {
    name: "--email",
    sets: Sets::Value("E", |a| &mut a.email),
    help: "the user's email",
};
pub(crate) const EXTERNAL_ID: Flag = Flag {
    name: "--external-id",
    sets: Sets::Value("X", |a| &mut a.external_id),
    help: "the user's id in your own database",
};
pub(crate) const TOKEN_NAME: Flag = Flag {
    name: "--name",
    sets: Sets::Value("N", |a| &mut a.name),
    help: "the token's name",
};
pub(crate) const EXPIRED: Flag = Flag {
    name: "--expired",
    sets: Sets::Switch(|a| &mut a.expired),
    help: "tokens whose expires_at has passed",
};
pub(crate) const OLDER_THAN: Flag = Flag {
    name: "--older-than",
    sets: Sets::Value("DAYS", |a| &mut a.older_than),
    help: "tokens created more than DAYS days ago (1 or more)",
};
pub(crate) const ONLY_NAMED: Flag = Flag {
    name: "--name",
    sets: Sets::Value("NAME", |a| &mut a.name),
    help: "only tokens named exactly NAME",
};
pub(crate) const PORT: Flag = Flag {
    name: "--port",
    sets: Sets::Value("N", |a| &mut a.port),
    help: "the port to listen on; 0 (the default) picks a free one",
};
pub(crate) const LATENCY_MS: Flag = Flag {
    name: "--latency-ms",
    sets: Sets::Value("N", |a| &mut a.latency_ms),
    help: "answer each request N ms after it took effect (default 0)",
};
pub(crate) const ENV_FILE: Flag = Flag {
    name: "--env-file",
    sets: Sets::Value("PATH", |a| &mut a.env_file),
    help: "also write the two variables to PATH once listening,\natomically (a temporary file beside it, renamed)",
};
pub(crate) const FROZEN_CLOCK: Flag = Flag {
    name: "--frozen-clock",
    sets: Sets::Switch(|a| &mut a.frozen_clock),
    help: "keep the clock at the start time: every created_at,\nexpires_at and discarded_at fixed, nothing expiring\n(by default the clock is the real time)",
};
pub(crate) const RATE_LIMIT: Flag = Flag {
    name: "--rate-limit",
    sets: Sets::Value("N/DURATION", |a| &mut a.rate_limit),
    help: "answer N requests in each DURATION, 429 past them:\n100/1s, 2/60s, 10/500ms (units ms, s, m, h)",
};
pub(crate) const RATE_LIMIT_HEADERS: Flag = Flag {
    name: "--rate-limit-headers",
    sets: Sets::Switch(|a| &mut a.rate_limit_headers),
    help: "with --rate-limit: RateLimit-Limit, -Remaining and\n-Reset on every answer",
};
/// Read by [`FakeFault::parse_rule`](magicbell_jwt::FakeFault::parse_rule).
pub(crate) const FAULT: Flag = Flag {
    name: "--fault",
    sets: Sets::Values("RULE", |a| &mut a.faults),
    help: "RULE is ROUTE:SKIP:TIMES:FAULT: let SKIP requests of\nROUTE through, then answer TIMES with FAULT; ROUTE\na call (discard_project_token, ...) or any (SKIP 0),\nFAULT a status (500), a status and a Retry-After in\nseconds (429/2), close, or delay=MS; given again,\nanother, each set up in order",
};
pub(crate) const REQUEST_LOG_LIMIT: Flag = Flag {
    name: "--request-log-limit",
    sets: Sets::Value("N", |a| &mut a.request_log_limit),
    help: "keep the last N requests for GET /_fake/requests\n(0: none), for long runs; stderr logs every one\n(default: every request is kept)",
};
pub(crate) const PLAN: Flag = Flag {
    name: "--plan",
    sets: Sets::Value("FILE", |a| &mut a.plan),
    help: "revoke nothing: write what would be revoked to FILE,\none JSON line a token, for review and `apply FILE`",
};
pub(crate) const ASSUME_GONE: Flag = Flag {
    name: "--assume-gone",
    sets: Sets::Switch(|a| &mut a.assume_gone),
    help:
        "go on when a first batch is answered all 404: count\nthose tokens gone (revoked already)",
};
/// Every command but `fake` takes it, before or after the command's name.
pub(crate) const JSON: Flag = Flag {
    name: "--json",
    sets: Sets::Switch(|a| &mut a.json),
    help: "one JSON document on stdout instead of text",
};

/// `--parallel` when none is given: 8 revokes in flight, well within the 16
/// connections the library keeps pooled.
pub(crate) const DEFAULT_PARALLEL: usize = 8;
/// The most `--parallel` takes: the library's own bound.
pub(crate) const MAX_PARALLEL: usize = magicbell_jwt::MAX_PARALLELISM;

/// An option's place in a command's synopsis.
pub(crate) enum Takes {
    /// `[--all]`.
    Maybe(&'static Flag),
    /// `(--email E | --external-id X)`: one of them, at least.
    OneOf(&'static [&'static Flag]),
}

/// Where a command is listed in the overview.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Commands,
    Jobs,
    Fake,
}

/// One command: its name, what it takes, and its help.
pub(crate) struct CommandDef {
    pub(crate) name: &'static str,
    pub(crate) verb: Verb,
    pub(crate) section: Section,
    pub(crate) positional: Positional,
    pub(crate) options: &'static [Takes],
    /// Whether it takes `--json`.
    pub(crate) json: bool,
    /// What it does; a `\n` breaks the overview's line.
    pub(crate) about: &'static str,
    /// The end of its `--help`, `{prog}` the program as invoked.
    pub(crate) note: &'static str,
}

impl CommandDef {
    /// The options it takes, in the order of its synopsis.
    pub(crate) fn flags(&self) -> impl Iterator<Item = &'static Flag> + '_ {
        self.options
            .iter()
            .flat_map(|takes| match takes {
                Takes::Maybe(flag) => std::slice::from_ref(flag),
                Takes::OneOf(flags) => flags,
            })
            .copied()
    }

    /// The option called `name` (dashes included), if it takes it.
    pub(crate) fn flag(&self, name: &str) -> Option<&'static Flag> {
        self.flags().find(|flag| flag.name == name)
    }

    /// Every option name it takes, `--json` and `--help` included.
    pub(crate) fn option_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        let json = [JSON.name].into_iter().filter(|_| self.json);
        self.flags()
            .map(|flag| flag.name)
            .chain(json)
            .chain(["--help"])
    }

    /// Its synopsis after its name: `NAME [--expiry SECS]`.
    pub(crate) fn synopsis(&self) -> String {
        self.synopsis_parts().join(" ")
    }

    /// Its synopsis after its name, by argument: `NAME`, `[--expiry SECS]`.
    pub(crate) fn synopsis_parts(&self) -> Vec<String> {
        let mut parts = Vec::new();
        match self.positional {
            Positional::None => {}
            Positional::One(name) => parts.push(name.to_owned()),
            Positional::ManyOrStdin(name) => parts.push(format!("({name}... | -)")),
        }
        for takes in self.options {
            parts.push(match takes {
                Takes::Maybe(flag) => flag.optional(),
                Takes::OneOf(flags) => {
                    let each: Vec<String> = flags.iter().map(|flag| flag.usage()).collect();
                    format!("({})", each.join(" | "))
                }
            });
        }
        parts
    }
}

/// The end of `fake --help`.
const FAKE_NOTE: &str = "
It prints MAGICBELL_BASE_URL=... and MAGICBELL_TOKEN=... (the fake's admin
token) on stdout first, one a line, ready for export, then one line a
request on stderr, once its answer is written. SIGINT (Ctrl-C), SIGTERM or
SIGHUP stops it: it closes its connections, logs each request it answered,
and exits 0. Its state lives in memory and is gone when it ends. In a
script, read the variables once the file is there (or the fake has ended):
    rm -f fake.env
    {prog} fake --env-file fake.env > /dev/null &
    until [ -s fake.env ] || ! kill -0 $! 2>/dev/null; do sleep 0.1; done
    [ -s fake.env ] || { echo 'the fake did not start' >&2; exit 1; }
    set -a; . ./fake.env; set +a
Without that check, a fake that did not start would leave the commands after
it running with your shell's own MAGICBELL_TOKEN, against production.
";

/// The fake's control API, for `fake --help`: each endpoint (method and
/// path) and what it does, in a few words. What each takes and answers is
/// the library's (`FakeServer`'s "The control API"), which cli/README.md
/// links to; its table says the same as this one, which a test checks.
pub(crate) const CONTROL_API: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/_fake/faults",
        "aims a fault at requests, as --fault does",
    ),
    ("DELETE", "/_fake/faults", "clears the faults not used yet"),
    (
        "PUT",
        "/_fake/rate_limit",
        "sets a rate limit, as --rate-limit does",
    ),
    ("DELETE", "/_fake/rate_limit", "removes the rate limit"),
    ("POST", "/_fake/clock", "moves the fake's clock forward"),
    (
        "GET",
        "/_fake/requests",
        "lists the requests that reached the fake",
    ),
    ("DELETE", "/_fake/requests", "forgets them"),
    (
        "POST",
        "/_fake/reset",
        "leaves no tokens, faults, rate limit or record",
    ),
];

/// The end of `apply --help`.
const APPLY_NOTE: &str = "
It revokes only the plan's tokens not yet revoked or gone by FILE.journal,
appended and flushed to disk at the end of each batch, before the batch is
shown. A token answered 404 is gone (revoked already) and counts as done.
Run again, the same command goes on. Exit statuses, an example: see
cli/README.md.
";

/// Every command, in the order of the overview.
pub(crate) const COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "list",
        verb: Verb::List,
        section: Section::Commands,
        positional: Positional::None,
        options: &[Takes::Maybe(&LIMIT), Takes::Maybe(&ALL)],
        json: true,
        about: "project tokens: one page, or every page with --all",
        note: "",
    },
    CommandDef {
        name: "create",
        verb: Verb::Create,
        section: Section::Commands,
        positional: Positional::One("NAME"),
        options: &[Takes::Maybe(&EXPIRY)],
        json: true,
        about: "create a project token (its value is shown once)",
        note: "",
    },
    CommandDef {
        name: "discard",
        verb: Verb::Discard,
        section: Section::Commands,
        positional: Positional::One("TOKEN_ID"),
        options: &[],
        json: true,
        about: "revoke a project token",
        note: "",
    },
    CommandDef {
        name: "user-list",
        verb: Verb::UserList,
        section: Section::Commands,
        positional: Positional::One("USER_ID"),
        options: &[Takes::Maybe(&LIMIT), Takes::Maybe(&ALL)],
        json: true,
        about: "a user's tokens",
        note: "",
    },
    CommandDef {
        name: "user-create",
        verb: Verb::UserCreate,
        section: Section::Commands,
        positional: Positional::None,
        options: &[
            Takes::OneOf(&[&EMAIL, &EXTERNAL_ID]),
            Takes::Maybe(&TOKEN_NAME),
            Takes::Maybe(&EXPIRY),
        ],
        json: true,
        about: "create a user token (its value is shown once)",
        note: "",
    },
    CommandDef {
        name: "user-discard",
        verb: Verb::UserDiscard,
        section: Section::Commands,
        positional: Positional::One("TOKEN_ID"),
        options: &[],
        json: true,
        about: "revoke a user token",
        note: "",
    },
    CommandDef {
        name: "rotate",
        verb: Verb::Rotate,
        section: Section::Jobs,
        positional: Positional::One("NAME"),
        options: &[
            Takes::Maybe(&EXPIRY),
            Takes::Maybe(&PARALLEL),
            Takes::Maybe(&DRY_RUN),
        ],
        json: true,
        about:
            "create a project token NAME, then revoke\nevery other live project token named NAME",
        note: "",
    },
    CommandDef {
        name: "prune",
        verb: Verb::Prune,
        section: Section::Jobs,
        positional: Positional::None,
        options: &[
            Takes::OneOf(&[&EXPIRED, &OLDER_THAN]),
            Takes::Maybe(&ONLY_NAMED),
            Takes::Maybe(&PARALLEL),
            Takes::Maybe(&DRY_RUN),
            Takes::Maybe(&PLAN),
        ],
        json: true,
        about: "revoke live project tokens expired now, or\ncreated more than DAYS days ago",
        note: "",
    },
    CommandDef {
        name: "user-revoke-all",
        verb: Verb::UserRevokeAll,
        section: Section::Jobs,
        positional: Positional::ManyOrStdin("USER_ID"),
        options: &[
            Takes::Maybe(&PARALLEL),
            Takes::Maybe(&DRY_RUN),
            Takes::Maybe(&PLAN),
        ],
        json: true,
        about:
            "revoke every live token of each user;\n'-' reads the USER_IDs from stdin, one a line",
        note: "",
    },
    CommandDef {
        name: "apply",
        verb: Verb::Apply,
        section: Section::Jobs,
        positional: Positional::One("FILE"),
        options: &[
            Takes::Maybe(&PARALLEL),
            Takes::Maybe(&DRY_RUN),
            Takes::Maybe(&ASSUME_GONE),
        ],
        json: true,
        about: "revoke the tokens of a plan (--plan FILE);\nrun again, it goes on where it stopped",
        note: APPLY_NOTE,
    },
    CommandDef {
        name: "fake",
        verb: Verb::Fake,
        section: Section::Fake,
        positional: Positional::None,
        options: &[
            Takes::Maybe(&PORT),
            Takes::Maybe(&LATENCY_MS),
            Takes::Maybe(&ENV_FILE),
            Takes::Maybe(&FROZEN_CLOCK),
            Takes::Maybe(&RATE_LIMIT),
            Takes::Maybe(&RATE_LIMIT_HEADERS),
            Takes::Maybe(&FAULT),
            Takes::Maybe(&REQUEST_LOG_LIMIT),
        ],
        // It calls no API and has no JSON document to give.
        json: false,
        about: "serve an in-memory MagicBell JWT service on\n127.0.0.1 until killed, for scripts and tests",
        note: FAKE_NOTE,
    },
];

/// The command called `name`.
pub(crate) fn command_named(name: &str) -> Option<&'static CommandDef> {
    COMMANDS.iter().find(|def| def.name == name)
}
