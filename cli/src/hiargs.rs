//! The raw arguments resolved into a checked invocation: every value parsed, every rule of the command line applied.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::PathBuf;

use magicbell_jwt::{CreateProjectTokenRequest, CreateUserTokenRequest};

use crate::fake::{self, FakeOptions};
use crate::flags::{
    DEFAULT_PARALLEL, DRY_RUN, EXPIRY, LIMIT, MAX_PARALLEL, OLDER_THAN, PARALLEL, PLAN,
};
use crate::lowargs::{ArgError, LowArgs, Positional, Verb};

/// Project tokens or a user's: the one place the tool tells them apart.
/// Each side carries what a command needs for it: nothing (a revoke), the
/// user whose tokens to list, the request to create one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind<P = (), U = ()> {
    Project(P),
    User(U),
}

/// Project tokens.
pub(crate) const PROJECT: Kind = Kind::Project(());
/// User tokens.
pub(crate) const USER: Kind = Kind::User(());

impl<P, U> Kind<P, U> {
    /// Which kind, without what it carries.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Kind::Project(_) => PROJECT,
            Kind::User(_) => USER,
        }
    }
}

/// A command, every value checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `list`, or `user-list` of the user it carries.
    List {
        whose: Kind<(), String>,
        limit: Option<u32>,
        all: bool,
    },
    Create(Kind<CreateProjectTokenRequest, CreateUserTokenRequest>),
    Discard {
        kind: Kind,
        token_id: String,
    },
    Rotate {
        name: String,
        expiry: Option<u64>,
        dry_run: bool,
        parallel: usize,
    },
    Prune {
        rule: PruneRule,
        name: Option<String>,
        dry_run: bool,
        parallel: usize,
        plan: Option<PlanTo>,
    },
    /// The users, each once, in the order given (or read from stdin).
    UserRevokeAll {
        users: Vec<String>,
        dry_run: bool,
        parallel: usize,
        plan: Option<PlanTo>,
    },
    Apply {
        file: PathBuf,
        dry_run: bool,
        parallel: usize,
        assume_gone: bool,
    },
}

/// `--plan FILE`: where a job writes its plan, and the arguments that
/// decided it, for the plan's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlanTo {
    pub(crate) file: PathBuf,
    pub(crate) arguments: Vec<String>,
}

impl Command {
    /// The name of the command when it mints a token, shown once on
    /// stdout: `create`, `user-create`, and `rotate` but for a dry run.
    pub(crate) fn mints(&self) -> Option<&'static str> {
        match self {
            Command::Create(Kind::Project(_)) => Some("create"),
            Command::Create(Kind::User(_)) => Some("user-create"),
            Command::Rotate { dry_run: false, .. } => Some("rotate"),
            _ => None,
        }
    }
}

/// Which project tokens `prune` revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PruneRule {
    Expired,
    OlderThanDays(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    pub(crate) command: Command,
    pub(crate) json: bool,
}

/// What an accepted command line runs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Checked {
    Run(Invocation),
    /// `fake`: serve the fake service.
    Fake(FakeOptions),
}

/// `args` checked, the USER_IDs of `user-revoke-all -` read from `input`.
pub(crate) fn resolve(args: LowArgs, input: &mut dyn BufRead) -> Result<Checked, ArgError> {
    let here = Some(args.command);
    let refuse = |message: String| ArgError::new(message, here);
    let number = |flag: &str, value: &Option<String>| -> Result<Option<u64>, ArgError> {
        value
            .as_ref()
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| refuse(format!("{flag} takes a whole number, not {v:?}")))
            })
            .transpose()
    };
    let (positional, command) = (&args.positional, args.command);
    let argument = match (args.takes, positional.as_slice()) {
        (Positional::ManyOrStdin(_), [_, ..]) => String::new(),
        (Positional::One(_), [one]) => one.clone(),
        (Positional::None, []) => String::new(),
        (Positional::ManyOrStdin(what), []) => {
            return Err(refuse(format!(
                "{command} needs a {what}, or '-' to read them from stdin"
            )))
        }
        (Positional::One(what), []) => return Err(refuse(format!("{command} needs a {what}"))),
        (Positional::One(_), [_, extra, ..]) | (Positional::None, [extra, ..]) => {
            return Err(refuse(format!("unexpected argument {extra:?}")))
        }
    };
    let limit = number(LIMIT.name, &args.limit)?
        .map(|n| u32::try_from(n).map_err(|_| refuse(format!("--limit {n} is too large"))))
        .transpose()?;
    let dry_run = args.dry_run;
    let parallel = match number(PARALLEL.name, &args.parallel)? {
        None => DEFAULT_PARALLEL,
        Some(n) if (1..=MAX_PARALLEL as u64).contains(&n) => n as usize,
        Some(n) => {
            return Err(refuse(format!(
                "--parallel takes 1 to {MAX_PARALLEL}, not {n}"
            )))
        }
    };

    let plan_to = |arguments: Vec<String>| -> Result<Option<PlanTo>, ArgError> {
        let Some(file) = &args.plan else {
            return Ok(None);
        };
        if dry_run {
            let (plan, dry) = (PLAN.name, DRY_RUN.name);
            return Err(refuse(format!(
                "{plan} revokes nothing already; it does not take {dry}"
            )));
        }
        if file.is_empty() {
            return Err(refuse(format!("{} needs a file name", PLAN.name)));
        }
        Ok(Some(PlanTo {
            file: PathBuf::from(file),
            arguments,
        }))
    };

    let command = match args.verb {
        // `--json` before the command: after it, it is an unknown option.
        Verb::Fake if args.json => return Err(refuse("fake does not take --json".to_owned())),
        Verb::Fake => {
            return fake::options(&args).map(Checked::Fake).map_err(refuse);
        }
        Verb::List => Command::List {
            whose: Kind::Project(()),
            limit,
            all: args.all,
        },
        Verb::UserList => Command::List {
            whose: Kind::User(argument),
            limit,
            all: args.all,
        },
        Verb::Create => {
            let request = CreateProjectTokenRequest::new(argument);
            Command::Create(Kind::Project(match number(EXPIRY.name, &args.expiry)? {
                Some(seconds) => request.expiry(seconds),
                None => request,
            }))
        }
        Verb::UserCreate => {
            let mut request = match (args.email.clone(), args.external_id.clone()) {
                (Some(email), external_id) => {
                    let request = CreateUserTokenRequest::for_email(email);
                    match external_id {
                        Some(id) => request.external_id(id),
                        None => request,
                    }
                }
                (None, Some(id)) => CreateUserTokenRequest::for_external_id(id),
                (None, None) => {
                    return Err(refuse(
                        "user-create needs --email or --external-id".to_owned(),
                    ))
                }
            };
            if let Some(name) = args.name.clone() {
                request = request.name(name);
            }
            if let Some(seconds) = number(EXPIRY.name, &args.expiry)? {
                request = request.expiry(seconds);
            }
            Command::Create(Kind::User(request))
        }
        Verb::Discard => Command::Discard {
            kind: PROJECT,
            token_id: argument,
        },
        Verb::UserDiscard => Command::Discard {
            kind: USER,
            token_id: argument,
        },
        Verb::Rotate => Command::Rotate {
            name: argument,
            expiry: number(EXPIRY.name, &args.expiry)?,
            dry_run,
            parallel,
        },
        Verb::Prune => {
            let rule = match (args.expired, number(OLDER_THAN.name, &args.older_than)?) {
                (true, None) => PruneRule::Expired,
                // Every token is older than 0 days, the one the tool runs
                // with too: more likely a typo than a wish.
                (false, Some(0)) => {
                    return Err(refuse(
                        "--older-than takes 1 or more days, not 0, which would revoke every live token, the one this tool runs with too".to_owned(),
                    ))
                }
                (false, Some(days)) => PruneRule::OlderThanDays(days),
                (true, Some(_)) => {
                    return Err(refuse(
                        "prune takes --expired or --older-than, not both".to_owned(),
                    ))
                }
                (false, None) => {
                    return Err(refuse(
                        "prune needs --expired or --older-than DAYS".to_owned(),
                    ))
                }
            };
            let mut arguments = match rule {
                PruneRule::Expired => vec!["--expired".to_owned()],
                PruneRule::OlderThanDays(days) => {
                    vec![OLDER_THAN.name.to_owned(), days.to_string()]
                }
            };
            if let Some(name) = &args.name {
                arguments.extend(["--name".to_owned(), name.clone()]);
            }
            Command::Prune {
                rule,
                name: args.name.clone(),
                dry_run,
                parallel,
                plan: plan_to(arguments)?,
            }
        }
        Verb::Apply => Command::Apply {
            file: PathBuf::from(argument),
            dry_run,
            parallel,
            assume_gone: args.assume_gone,
        },
        Verb::UserRevokeAll => Command::UserRevokeAll {
            users: match positional.as_slice() {
                [dash] if dash == "-" => read_user_ids(input)?,
                several if several.iter().any(|u| u == "-") => {
                    return Err(refuse(
                        "'-' reads the USER_IDs from stdin, so it goes alone".to_owned(),
                    ))
                }
                several => {
                    for user in several {
                        check_user_id(user).map_err(refuse)?;
                    }
                    each_once(several.to_vec())
                }
            },
            dry_run,
            parallel,
            plan: plan_to(positional.clone())?,
        },
    };
    Ok(Checked::Run(Invocation {
        command,
        json: args.json,
    }))
}

/// Refuses a user id that no request path can carry, before anything is
/// sent: the library would refuse it too, but only once other users' lists
/// were walked.
pub(crate) fn check_user_id(user: &str) -> Result<(), String> {
    match user {
        "" => Err("a USER_ID is empty".to_owned()),
        "." | ".." => Err(format!(
            "USER_ID {user:?} cannot be sent: in a URL path it names another resource"
        )),
        _ => Ok(()),
    }
}

/// `items` in their order, each only the first time it comes.
fn each_once(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// The USER_IDs of `user-revoke-all -`: one a line, trimmed, blank lines
/// skipped, each once.
fn read_user_ids(input: &mut dyn BufRead) -> Result<Vec<String>, ArgError> {
    let here = Some("user-revoke-all");
    let mut users = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| {
            ArgError::new(format!("could not read the USER_IDs from stdin: {e}"), here)
        })?;
        let user = line.trim();
        if user.is_empty() {
            continue;
        }
        check_user_id(user)
            .map_err(|m| ArgError::new(format!("{m} (line {} of stdin)", number + 1), here))?;
        users.push(user.to_owned());
    }
    if users.is_empty() {
        return Err(ArgError::new("stdin held no USER_ID", here));
    }
    Ok(each_once(users))
}
