//! `fake`: the library's `FakeServer` as a process, for scripts, `curl` and other languages' tests.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use magicbell_jwt::{FakeRequest, FakeServer};

/// What `fake` is asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FakeOptions {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub(crate) port: u16,
    /// How long after a request took effect its answer leaves.
    pub(crate) latency: Duration,
    /// Where to write the two variables too, once listening.
    pub(crate) env_file: Option<PathBuf>,
    /// Keep the fake's clock at its start instead of the real time.
    pub(crate) frozen_clock: bool,
}

/// `fake`'s options from the values given on the command line, each `None`
/// (or `false`) when its option was not given; the error says which value is
/// wrong.
pub(crate) fn options(
    port: Option<String>,
    latency_ms: Option<String>,
    env_file: Option<String>,
    frozen_clock: bool,
) -> Result<FakeOptions, String> {
    let port = match port {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| format!("--port takes a number from 0 to 65535, not {v:?}"))?,
    };
    let latency = match latency_ms {
        None => Duration::ZERO,
        Some(v) => Duration::from_millis(
            v.parse()
                .map_err(|_| format!("--latency-ms takes a whole number, not {v:?}"))?,
        ),
    };
    let env_file = match env_file {
        Some(path) if path.is_empty() => return Err("--env-file needs a path".to_owned()),
        path => path.map(PathBuf::from),
    };
    Ok(FakeOptions {
        port,
        latency,
        env_file,
        frozen_clock,
    })
}

/// Serves until the process is killed: `MAGICBELL_BASE_URL=…` and
/// `MAGICBELL_TOKEN=…` on `out` first (flushed, ready for `export`), then
/// one line a request on `err`, written as the request is answered. A write
/// that fails (a closed pipe) is let go: the fake serves on. Returns only
/// when it cannot start: the exit status.
pub(crate) fn serve(options: &FakeOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let fake = match FakeServer::start_on_port(options.port) {
        Ok(fake) => fake,
        Err(e) => {
            let _ = writeln!(
                err,
                "error: could not listen on 127.0.0.1:{}: {e}",
                options.port
            );
            return 1;
        }
    };
    fake.set_latency(options.latency);
    // Real time, so that tokens expire and dates are today's, unless a
    // script wants dates fixed.
    fake.set_clock_running(!options.frozen_clock);
    // Before the variables are out: no request can come earlier.
    let feed = fake.request_feed();
    let env = format!(
        "MAGICBELL_BASE_URL={}\nMAGICBELL_TOKEN={}\n",
        fake.base_url(),
        fake.admin_token()
    );
    let _ = out.write_all(env.as_bytes()).and_then(|()| out.flush());
    if let Some(path) = &options.env_file {
        match write_atomically(path, &env) {
            Ok(()) => {
                let _ = writeln!(err, "wrote {path:?}");
            }
            Err(e) => {
                let _ = writeln!(err, "error: could not write {path:?}: {e}");
                return 1;
            }
        }
    }
    let _ = writeln!(err, "serving; stop with Ctrl-C");
    // Each request as the fake records it; the feed ends only with the fake.
    for request in feed {
        let _ = writeln!(err, "{}", log_line(&request));
    }
    1
}

/// The log's line for `request`: `POST /v2/jwt/project -> 201`.
fn log_line(request: &FakeRequest) -> String {
    match request.status {
        Some(status) => format!("{} {} -> {status}", request.method, request.path),
        None => format!(
            "{} {} -> closed without an answer",
            request.method, request.path
        ),
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

    #[test]
    fn each_request_is_one_log_line() {
        let request = |status| FakeRequest {
            method: "DELETE".to_owned(),
            path: "/v2/jwt/project/x".to_owned(),
            status,
        };
        assert_eq!(
            log_line(&request(Some(404))),
            "DELETE /v2/jwt/project/x -> 404"
        );
        assert_eq!(
            log_line(&request(None)),
            "DELETE /v2/jwt/project/x -> closed without an answer"
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
}
