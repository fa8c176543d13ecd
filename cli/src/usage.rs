//! The commands: the table their usage is printed from and the parser reads.

/// One command: what its usage says, and so what the parser accepts.
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    /// The positional argument it needs, if any.
    pub(crate) positional: Option<&'static str>,
    /// Whether it takes one or more of them.
    pub(crate) many: bool,
    /// Its synopsis after the name, as the overview shows it.
    pub(crate) synopsis: &'static str,
    pub(crate) about: &'static str,
    /// `("--name VALUE", what)`: a space after the name means it takes a value.
    pub(crate) options: &'static [(&'static str, &'static str)],
}

const LIMIT: (&str, &str) = ("--limit N", "at most N tokens a page (default: the API's)");
const ALL: (&str, &str) = ("--all", "every page, each printed as it arrives");
const EXPIRY: (&str, &str) = (
    "--expiry SECS",
    "seconds the new token stays valid (default: the API's)",
);
const DRY_RUN: (&str, &str) = (
    "--dry-run",
    "send no POST and no DELETE: say what would be done",
);
const PARALLEL: (&str, &str) = (
    "--parallel N",
    "requests in flight at once, 1 to 64 (default 8)",
);

/// `--parallel` when none is given: 8 revokes in flight, well within the 16
/// connections the library keeps pooled.
pub(crate) const DEFAULT_PARALLEL: usize = 8;
/// The most `--parallel` takes: more threads and connections than this only
/// meet the API's rate limit sooner.
pub(crate) const MAX_PARALLEL: u64 = 64;

pub(crate) const COMMANDS: &[Spec] = &[
    Spec {
        name: "list",
        positional: None,
        many: false,
        synopsis: "[--limit N] [--all]",
        about: "project tokens: one page, or every page with --all",
        options: &[LIMIT, ALL],
    },
    Spec {
        name: "create",
        positional: Some("NAME"),
        many: false,
        synopsis: "NAME [--expiry SECS]",
        about: "create a project token (its value is shown once)",
        options: &[EXPIRY],
    },
    Spec {
        name: "discard",
        positional: Some("TOKEN_ID"),
        many: false,
        synopsis: "TOKEN_ID",
        about: "revoke a project token",
        options: &[],
    },
    Spec {
        name: "user-list",
        positional: Some("USER_ID"),
        many: false,
        synopsis: "USER_ID [--limit N] [--all]",
        about: "a user's tokens",
        options: &[LIMIT, ALL],
    },
    Spec {
        name: "user-create",
        positional: None,
        many: false,
        synopsis: "(--email E | --external-id X) [--name N] [--expiry SECS]",
        about: "create a user token (its value is shown once)",
        options: &[
            ("--email E", "the user's email"),
            ("--external-id X", "the user's id in your own database"),
            ("--name N", "the token's name"),
            EXPIRY,
        ],
    },
    Spec {
        name: "user-discard",
        positional: Some("TOKEN_ID"),
        many: false,
        synopsis: "TOKEN_ID",
        about: "revoke a user token",
        options: &[],
    },
    Spec {
        name: "rotate",
        positional: Some("NAME"),
        many: false,
        synopsis: "NAME [--expiry SECS] [--parallel N] [--dry-run]",
        about:
            "create a project token NAME, then revoke\nevery other live project token named NAME",
        options: &[EXPIRY, PARALLEL, DRY_RUN],
    },
    Spec {
        name: "prune",
        positional: None,
        many: false,
        synopsis: "(--expired | --older-than DAYS) [--name NAME] [--parallel N] [--dry-run]",
        about: "revoke live project tokens expired now, or\ncreated more than DAYS days ago",
        options: &[
            ("--expired", "tokens whose expires_at has passed"),
            (
                "--older-than DAYS",
                "tokens created more than DAYS days ago (1 or more)",
            ),
            ("--name NAME", "only tokens named exactly NAME"),
            PARALLEL,
            DRY_RUN,
        ],
    },
    Spec {
        name: "user-revoke-all",
        positional: Some("USER_ID"),
        many: true,
        synopsis: "(USER_ID... | -) [--parallel N] [--dry-run]",
        about:
            "revoke every live token of each user;\n'-' reads the USER_IDs from stdin, one a line",
        options: &[PARALLEL, DRY_RUN],
    },
];

const JOBS: &[&str] = &["rotate", "prune", "user-revoke-all"];

/// `fake`, apart from [`COMMANDS`]: it calls no API, needs no
/// MAGICBELL_TOKEN and has no JSON document to give. Its usage is
/// `fake::usage`.
pub(crate) const FAKE: &Spec = &Spec {
    name: "fake",
    positional: None,
    many: false,
    synopsis: "[--port N] [--latency-ms N] [--env-file PATH] [--frozen-clock]",
    about: "serve an in-memory MagicBell JWT service on\n127.0.0.1 until killed, for scripts and tests",
    options: &[
        (
            "--port N",
            "the port to listen on; 0 (the default) picks a free one",
        ),
        (
            "--latency-ms N",
            "answer each request N ms after it took effect (default 0)",
        ),
        (
            "--env-file PATH",
            "also write the two variables to PATH once listening,\natomically (a temporary file beside it, renamed)",
        ),
        (
            "--frozen-clock",
            "keep the clock at the start time: every created_at,\nexpires_at and discarded_at fixed, nothing expiring\n(by default the clock is the real time)",
        ),
    ],
};

impl Spec {
    pub(crate) fn find(name: &str) -> Option<&'static Spec> {
        Spec::all().find(|spec| spec.name == name)
    }

    /// Every command, `fake` last.
    pub(crate) fn all() -> impl Iterator<Item = &'static Spec> {
        COMMANDS.iter().chain([FAKE])
    }

    /// Whether it takes `--json`: every command but `fake`.
    pub(crate) fn takes_json(&self) -> bool {
        self.name != FAKE.name
    }

    /// The option called `--name`, and whether it takes a value.
    pub(crate) fn option(&self, name: &str) -> Option<(&'static str, bool)> {
        self.options.iter().find_map(|(usage, _)| {
            let (flag, value) = usage.split_once(' ').unwrap_or((usage, ""));
            (flag.strip_prefix("--") == Some(name)).then_some((flag, !value.is_empty()))
        })
    }

    /// Every option it takes, `--json` and `--help` included.
    pub(crate) fn option_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        let own = self.options.iter();
        let json = ["--json"].into_iter().filter(|_| self.takes_json());
        own.map(|(usage, _)| usage.split(' ').next().unwrap_or(usage))
            .chain(json)
            .chain(["--help"])
    }

    /// `magicbell-jwt rotate --help`.
    pub(crate) fn usage(&self, prog: &str) -> String {
        let mut rows: Vec<(&str, &str)> = self.options.to_vec();
        rows.push(("--json", "one JSON document on stdout instead of text"));
        rows.push(("-h, --help", "this text"));
        let width = rows.iter().map(|(o, _)| o.len()).max().unwrap_or(0);
        let mut text = format!(
            "{prog} {}: {}\n\nUSAGE:\n    {prog} {} {} [--json]\n\nOPTIONS:\n",
            self.name,
            self.about.replace('\n', " "),
            self.name,
            self.synopsis
        );
        for (option, what) in rows {
            text.push_str(&format!("    {option:<width$}  {what}\n"));
        }
        if let Some(arg) = self.positional {
            text.push_str(&format!(
                "\nA {arg} that starts with '-' goes after '--': {prog} {} -- -x\n",
                self.name
            ));
        }
        text
    }

    /// Its line in the overview.
    fn overview_line(&self) -> String {
        let head = format!("{} {}", self.name, self.synopsis);
        let indent = format!("\n    {:<40} ", "");
        let about = self.about.replace('\n', &indent);
        if head.len() <= 40 {
            format!("    {head:<40} {about}\n")
        } else {
            format!("    {head}{indent}{about}\n")
        }
    }
}

/// `magicbell-jwt --help`, naming the program as it was invoked.
pub(crate) fn usage(prog: &str) -> String {
    let lines = |jobs: bool| -> String {
        COMMANDS
            .iter()
            .filter(|spec| JOBS.contains(&spec.name) == jobs)
            .map(Spec::overview_line)
            .collect()
    };
    format!(
        "\
{prog}: list, create and revoke MagicBell JWTs

USAGE:
    {prog} <COMMAND> [ARGS] [OPTIONS]
    {prog} <COMMAND> --help    one command's usage (also: {prog} help <COMMAND>)

COMMANDS:
{commands}
JOBS (each revokes only tokens not revoked yet; --dry-run sends no POST or DELETE):
{jobs}
FAKE SERVICE (needs no MAGICBELL_TOKEN):
{fake}
OPTIONS:
    --json          one JSON document on stdout instead of a table, on every
                    path once the command line is accepted (a refused one
                    is named on stderr only: --json may not be read yet)
    -h, --help      this text
    -V, --version   the tool's version
    --              ends options: an id that starts with '-' goes after it
    An option's value goes after a space or an '=': --limit 5, --limit=5

EXIT STATUS:
    0 success; 1 a call failed (a job goes on with the rest of its revokes and
    names each failure on stderr; once 8 in a row could not connect, the rest
    are not sent and are named 'not attempted'), stdout failed, or fake could
    not start; 2 bad arguments, input refused before anything was sent, or no
    MAGICBELL_TOKEN

ENVIRONMENT:
    MAGICBELL_TOKEN      the project token to authenticate with (required)
    MAGICBELL_BASE_URL   the API's base URL (default https://api.magicbell.com/v2):
                         https, or http to a loopback host only
",
        commands = lines(false),
        jobs = lines(true),
        fake = FAKE.overview_line(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_in_a_command_usage_is_accepted() {
        for spec in Spec::all() {
            for (usage, _) in spec.options {
                let name = usage.split(' ').next().unwrap();
                assert!(
                    spec.option(name.trim_start_matches('-')).is_some(),
                    "{} {name}",
                    spec.name
                );
            }
            assert!(usage("magicbell-jwt").contains(&format!("    {} ", spec.name)));
        }
    }
}
