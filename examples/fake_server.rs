//! A MagicBell JWT service you can run: `FakeServer` as a standalone process,
//! for the `tokens` tool, `curl` or another language's SDK.
//!
//! ```text
//! cargo run --example fake_server -- [--port N] [--latency-ms N]
//! ```
//!
//! Prints `MAGICBELL_BASE_URL=…` and `MAGICBELL_TOKEN=…` on stdout before
//! anything else (one per line, ready for `export`), then one line per request
//! on stderr, and serves until killed. `--port 0`, the default, picks a free
//! port. The state lives in memory and is gone when the process ends.
//!
//! ```text
//! $ cargo run -q --example fake_server -- --port 8080 > fake.env &
//! $ export $(cat fake.env)
//! $ cargo run -q --example tokens -- create "deploy bot" --expiry 3600
//! ```

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use magicbell_jwt::FakeServer;

const USAGE: &str = "usage: fake_server [--port N] [--latency-ms N]

Serves an in-memory MagicBell JWT service on 127.0.0.1 until killed.
  --port N         the port to listen on; 0 (the default) picks a free one
  --latency-ms N   every answer waits N milliseconds first (default 0)";

struct Options {
    port: u16,
    latency: Duration,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: 0,
        latency: Duration::ZERO,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" | "--latency-ms" => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                if flag == "--port" {
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
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "MAGICBELL_BASE_URL={}", fake.base_url());
        let _ = writeln!(out, "MAGICBELL_TOKEN={}", fake.admin_token());
        let _ = out.flush();
    }
    eprintln!("serving; stop with Ctrl-C");
    // The log only grows: print what is new, a few times a second.
    let mut shown = 0;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let requests = fake.requests();
        for request in requests.iter().skip(shown) {
            match request.status {
                Some(status) => eprintln!("{} {} -> {status}", request.method, request.path),
                None => eprintln!(
                    "{} {} -> closed without an answer",
                    request.method, request.path
                ),
            }
        }
        shown = requests.len();
    }
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
