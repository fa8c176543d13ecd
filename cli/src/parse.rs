//! The command line split by lexopt into the raw arguments, as the option table says.

use std::ffi::OsString;

use lexopt::Arg::{Long, Short, Value};

use crate::flags::{command_named, CommandDef, Sets, COMMANDS, JSON};
use crate::lowargs::{ArgError, LowArgs, Parsed};

/// `args` as the process got them, the program's own name first.
pub(crate) fn parse(args: Vec<OsString>) -> Result<Parsed, ArgError> {
    let mut parser = lexopt::Parser::from_iter(args);
    let mut json = false;
    let at_top = |e: lexopt::Error| ArgError::new(lexopt_message(e), None);
    let def = loop {
        match parser.next().map_err(at_top)? {
            None => return Ok(Parsed::Nothing),
            Some(Long("json")) => json = true,
            Some(Long("help") | Short('h')) => return Ok(Parsed::Help(None)),
            Some(Long("version") | Short('V')) => return Ok(Parsed::Version),
            Some(Value(word)) => {
                let word = lexopt::ValueExt::string(word).map_err(at_top)?;
                if word == "help" {
                    return help_topic(&mut parser);
                }
                break known_command(&word)?;
            }
            Some(Long(option)) => {
                let option = format!("--{option}");
                let known = [JSON.name, "--help", "--version"];
                return Err(unknown_option(&option, known.into_iter(), None));
            }
            Some(Short(letter)) => {
                return Err(ArgError::new(format!("unknown option -{letter}"), None))
            }
        }
    };

    let here = Some(def.name);
    let in_command = |e: lexopt::Error| ArgError::new(lexopt_message(e), here);
    let mut args = LowArgs::new(def.verb, def.name, def.positional);
    args.json = json;
    while let Some(arg) = parser.next().map_err(in_command)? {
        match arg {
            Long("json") if def.json => args.json = true,
            Long("help") | Short('h') => return Ok(Parsed::Help(here)),
            Long(name) => {
                let name = format!("--{name}");
                let Some(flag) = def.flag(&name) else {
                    return Err(unknown_option(&name, def.option_names(), here));
                };
                match flag.sets {
                    Sets::Switch(set) => *set(&mut args) = true,
                    Sets::Value(_, slot) => {
                        let value = parser.value().map_err(in_command)?;
                        let value = lexopt::ValueExt::string(value).map_err(in_command)?;
                        let slot = slot(&mut args);
                        if slot.is_some() {
                            let message = format!("{} is given twice", flag.name);
                            return Err(ArgError::new(message, here));
                        }
                        *slot = Some(value);
                    }
                    Sets::Values(_, slot) => {
                        let value = parser.value().map_err(in_command)?;
                        let value = lexopt::ValueExt::string(value).map_err(in_command)?;
                        slot(&mut args).push(value);
                    }
                }
            }
            Short(letter) => {
                let message = format!("{} does not take -{letter}", def.name);
                return Err(ArgError::new(message, here));
            }
            Value(word) => args
                .positional
                .push(lexopt::ValueExt::string(word).map_err(in_command)?),
        }
    }
    Ok(Parsed::Run(Box::new(args)))
}

/// `magicbell-jwt help [COMMAND]`.
fn help_topic(parser: &mut lexopt::Parser) -> Result<Parsed, ArgError> {
    let to_error = |e: lexopt::Error| ArgError::new(lexopt_message(e), None);
    let topic = match parser.next().map_err(to_error)? {
        None => return Ok(Parsed::Help(None)),
        Some(Value(word)) => lexopt::ValueExt::string(word).map_err(to_error)?,
        Some(other) => return Err(to_error(other.unexpected())),
    };
    let def = known_command(&topic)?;
    match parser.next().map_err(to_error)? {
        None => Ok(Parsed::Help(Some(def.name))),
        Some(other) => Err(to_error(other.unexpected())),
    }
}

fn known_command(word: &str) -> Result<&'static CommandDef, ArgError> {
    command_named(word).ok_or_else(|| {
        let mut message = format!("unknown command {word:?}");
        if let Some(near) = nearest(word, COMMANDS.iter().map(|def| def.name)) {
            message.push_str(&format!(" (did you mean {near}?)"));
        }
        ArgError::new(message, None)
    })
}

fn unknown_option<'a>(
    option: &str,
    known: impl Iterator<Item = &'a str>,
    command: Option<&'static str>,
) -> ArgError {
    let mut message = match command {
        Some(name) => format!("{name} does not take {option}"),
        None => format!("unknown option {option}"),
    };
    if let Some(near) = nearest(option, known) {
        message.push_str(&format!(" (did you mean {near}?)"));
    }
    ArgError::new(message, command)
}

/// The candidate within two edits of `word`, for a "did you mean" hint.
fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// lexopt's errors in this tool's words.
fn lexopt_message(error: lexopt::Error) -> String {
    match error {
        lexopt::Error::MissingValue {
            option: Some(option),
        } => format!("{option} needs a value"),
        lexopt::Error::UnexpectedValue { option, .. } => format!("{option} takes no value"),
        lexopt::Error::NonUnicodeValue(value) => {
            format!("{value:?} is not valid UTF-8")
        }
        other => other.to_string(),
    }
}

/// The program's name as invoked: the file name of `argv[0]`.
pub(crate) fn program_name(argv0: Option<&OsString>) -> String {
    argv0
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "magicbell-jwt".to_owned())
}
