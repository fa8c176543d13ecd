//! A MagicBell JWT service you can run: `FakeServer` as a standalone process,
//! for the `tokens` tool, `curl` or another language's SDK.
//!
//! ```text
//! cargo run --example fake_server -- [--port N] [--latency-ms N] [--env-file PATH]
//! ```
//!
//! Prints `MAGICBELL_BASE_URL=…` and `MAGICBELL_TOKEN=…` on stdout before
//! anything else (one per line, ready for `export`), then one line per request
//! on stderr, and serves until killed. `--port 0`, the default, picks a free
//! port. The state lives in memory and is gone when the process ends.
//!
//! `--env-file PATH` also writes those two lines to PATH once the fake
//! listens, atomically (to a temporary file beside it, then renamed): a
//! script that starts the server in the background waits for the file to
//! exist and never reads half of it.
//!
//! ```text
//! rm -f fake.env
//! cargo run -q --example fake_server -- --port 0 --env-file fake.env &
//! pid=$!
//! trap 'kill "$pid" 2>/dev/null' EXIT
//! until [ -s fake.env ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
//! [ -s fake.env ] || { echo "fake_server did not start" >&2; exit 1; }
//! set -a; . ./fake.env; set +a
//! cargo run -q --example tokens -- create "deploy bot" --expiry 3600
//! ```
//!
//! Check that the file exists before loading it, as above: a fake that did
//! not start would otherwise leave the `tokens` tool running with the
//! environment's own `MAGICBELL_TOKEN` (against production, when no
//! `MAGICBELL_BASE_URL` is set).

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use magicbell_jwt::FakeServer;

const USAGE: &str = "usage: fake_server [--port N] [--latency-ms N] [--env-file PATH]

Serves an in-memory MagicBell JWT service on 127.0.0.1 until killed.
  --port N          the port to listen on; 0 (the default) picks a free one
  --latency-ms N    every answer leaves N milliseconds after the request took
                    effect, as over a slow network (default 0)
  --env-file PATH   also write MAGICBELL_BASE_URL and MAGICBELL_TOKEN to PATH
                    once listening, atomically (a temporary file, renamed)";

struct Options {
    port: u16,
    latency: Duration,
    env_file: Option<PathBuf>,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: 0,
        latency: Duration::ZERO,
        env_file: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" | "--latency-ms" | "--env-file" => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                if flag == "--env-file" {
                    if value.is_empty() {
                        return Err("--env-file needs a path".to_owned());
                    }
                    options.env_file = Some(PathBuf::from(value));
                } else if flag == "--port" {
                    options.port = value.parse().map_err(|_| {
                        format!("--port takes a number from 0 to 65535, not {value:?}")
                    })?;
                } else {
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| format!("--latency-ms takes a whole number, not {value:?}"))?;
                    options.latency = Duration::from_millis(ms);
                }
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fake = match FakeServer::start_on_port(options.port) {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("error: could not listen on 127.0.0.1:{}: {e}", options.port);
            return ExitCode::FAILURE;
        }
    };
    fake.set_latency(options.latency);
    let env = format!(
        "MAGICBELL_BASE_URL={}\nMAGICBELL_TOKEN={}\n",
        fake.base_url(),
        fake.admin_token()
    );
    {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(env.as_bytes());
        let _ = out.flush();
    }
    if let Some(path) = &options.env_file {
        match write_atomically(path, &env) {
            Ok(()) => eprintln!("wrote {path:?}"),
            Err(e) => {
                eprintln!("error: could not write {path:?}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("serving; stop with Ctrl-C");
    // The log only grows: print what is new, a few times a second, copying
    // only that.
    let mut shown = 0;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let requests = fake.requests_since(shown);
        shown += requests.len();
        for request in &requests {
            match request.status {
                Some(status) => eprintln!("{} {} -> {status}", request.method, request.path),
                None => eprintln!(
                    "{} {} -> closed without an answer",
                    request.method, request.path
                ),
            }
        }
    }
}

/// Writes `contents` to `path` so that a reader sees no file or all of it:
/// to a temporary file in the same directory, then renamed over `path`.
fn write_atomically(path: &Path, contents: &str) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut temporary = OsString::from(".");
    temporary.push(name);
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary);
    let written = fs::write(&temporary, contents).and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn port_and_latency_default_to_zero() {
        let options = parse(args("")).unwrap().unwrap();
        assert_eq!((options.port, options.latency), (0, Duration::ZERO));
        assert_eq!(options.env_file, None);
    }

    #[test]
    fn port_and_latency_are_read_in_either_form() {
        let options = parse(args("--port 8080 --latency-ms=25")).unwrap().unwrap();
        assert_eq!(
            (options.port, options.latency),
            (8080, Duration::from_millis(25))
        );
    }

    #[test]
    fn env_file_takes_a_path_in_either_form() {
        let options = parse(args("--env-file fake.env")).unwrap().unwrap();
        assert_eq!(options.env_file, Some(PathBuf::from("fake.env")));
        let options = parse(args("--env-file=/tmp/x.env")).unwrap().unwrap();
        assert_eq!(options.env_file, Some(PathBuf::from("/tmp/x.env")));
        assert_eq!(
            parse(args("--env-file")).err().unwrap(),
            "--env-file needs a value"
        );
        assert_eq!(
            parse(args("--env-file=")).err().unwrap(),
            "--env-file needs a path"
        );
    }

    #[test]
    fn the_env_file_is_replaced_whole_and_no_temporary_file_is_left() {
        let dir = std::env::temp_dir().join(format!("fake-server-env-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fake.env");
        fs::write(&path, "OLD=1\n").unwrap();
        write_atomically(&path, "A=1\nB=2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "A=1\nB=2\n");
        let names: Vec<OsString> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [OsString::from("fake.env")]);
        // A path that names no file is refused, and nothing is written.
        assert!(write_atomically(&dir.join(".."), "x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_arguments_say_what_was_wrong() {
        assert_eq!(parse(args("--port")).err().unwrap(), "--port needs a value");
        assert_eq!(
            parse(args("--port 70000")).err().unwrap(),
            "--port takes a number from 0 to 65535, not \"70000\""
        );
        assert_eq!(
            parse(args("--latency-ms soon")).err().unwrap(),
            "--latency-ms takes a whole number, not \"soon\""
        );
        assert_eq!(
            parse(args("serve")).err().unwrap(),
            "unknown argument \"serve\""
        );
        assert!(parse(args("--help")).unwrap().is_none());
    }
}
