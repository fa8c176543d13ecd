//! `fake`: the library's `FakeServer` as a process, for scripts, `curl` and other languages' tests.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use magicbell_jwt::{FakeFault, FakeRequest, FakeRoute, FakeServer};

use crate::lowargs::LowArgs;

/// A `--fault` as [`FakeFault::parse_rule`] reads it: the route (`None`:
/// any request), the requests to skip, how many meet the fault, the fault.
pub(crate) type FaultRule = (Option<FakeRoute>, usize, usize, FakeFault);

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
    /// At most this many requests in each window of this long.
    pub(crate) rate_limit: Option<(u32, Duration)>,
    /// Send the rate limit's headers (only with a rate limit).
    pub(crate) rate_limit_headers: bool,
    /// The faults to set up at the start, in this order.
    pub(crate) faults: Vec<FaultRule>,
    /// How many requests the fake's own log keeps (`None`: all).
    pub(crate) request_log_limit: Option<usize>,
}

/// `fake`'s options from the values `args` holds as given; the error says
/// which value is wrong.
pub(crate) fn options(args: &LowArgs) -> Result<FakeOptions, String> {
    let port = match &args.port {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| format!("--port takes a number from 0 to 65535, not {v:?}"))?,
    };
    let latency = match &args.latency_ms {
        None => Duration::ZERO,
        Some(v) => Duration::from_millis(whole_number("--latency-ms", v)?),
    };
    let env_file = match &args.env_file {
        Some(path) if path.is_empty() => return Err("--env-file needs a path".to_owned()),
        path => path.as_ref().map(PathBuf::from),
    };
    let rate_limit = args.rate_limit.as_deref().map(rate_limit).transpose()?;
    if args.rate_limit_headers && rate_limit.is_none() {
        return Err("--rate-limit-headers needs --rate-limit N/DURATION".to_owned());
    }
    let faults = args
        .faults
        .iter()
        .map(|rule| FakeFault::parse_rule(rule).map_err(|e| format!("--fault {rule:?}: {e}")))
        .collect::<Result<_, _>>()?;
    let request_log_limit = match &args.request_log_limit {
        None => None,
        Some(v) => Some(whole_number("--request-log-limit", v)?),
    };
    Ok(FakeOptions {
        port,
        latency,
        env_file,
        frozen_clock: args.frozen_clock,
        rate_limit,
        rate_limit_headers: args.rate_limit_headers,
        faults,
        request_log_limit,
    })
}

/// `value` of `flag` as a whole number.
fn whole_number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} takes a whole number, not {value:?}"))
}

/// `--rate-limit N/DURATION`: N requests (1 or more) in each DURATION (a
/// whole number and `ms`, `s`, `m` or `h`, over 0).
fn rate_limit(value: &str) -> Result<(u32, Duration), String> {
    let Some((requests, per)) = value.split_once('/') else {
        return Err(format!(
            "--rate-limit takes N/DURATION, such as 100/1s, not {value:?}"
        ));
    };
    let requests = requests
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1 && requests.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            format!(
                "--rate-limit takes 1 to {} requests, not {requests:?}",
                u32::MAX
            )
        })?;
    let digits = per.bytes().take_while(u8::is_ascii_digit).count();
    let (count, unit) = per.split_at(digits);
    let seconds = |n: u64, each: u64| n.checked_mul(each).map(Duration::from_secs);
    let duration = count.parse::<u64>().ok().and_then(|n| match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => seconds(n, 1),
        "m" => seconds(n, 60),
        "h" => seconds(n, 3600),
        _ => None,
    });
    match duration {
        None => Err(format!(
            "--rate-limit takes a DURATION of a whole number and ms, s, m or h, such as 1s, not {per:?}"
        )),
        Some(Duration::ZERO) => Err(format!(
            "--rate-limit takes a DURATION over 0, not {per:?}"
        )),
        Some(per) => Ok((requests, per)),
    }
}

/// A fake listening as `options` ask, with their clock, latency, rate
/// limit, faults (set up in order) and request log limit.
pub(crate) fn start(options: &FakeOptions) -> io::Result<FakeServer> {
    let fake = FakeServer::start_on_port(options.port)?;
    fake.set_latency(options.latency);
    // Real time, so that tokens expire and dates are today's, unless a
    // script wants dates fixed.
    fake.set_clock_running(!options.frozen_clock);
    if let Some((requests, per)) = options.rate_limit {
        fake.set_rate_limit(requests, per);
        fake.set_rate_limit_headers(options.rate_limit_headers);
    }
    for (route, skip, times, fault) in &options.faults {
        match route {
            Some(route) => fake.inject_on(*route, *skip, *times, fault.clone()),
            None => fake.inject(*times, fault.clone()),
        }
    }
    fake.set_request_log_limit(options.request_log_limit);
    Ok(fake)
}

/// Serves until asked to stop: `MAGICBELL_BASE_URL=…` and
/// `MAGICBELL_TOKEN=…` on `out` first (flushed, ready for `export`), then
/// one line a request on `err`, written (and flushed) once its answer has
/// been written. A write that fails (a closed pipe) is let go: the fake
/// serves on. Once `on_stop` calls its `stop`, the fake closes its
/// connections and ends its threads, each request answered is logged, and
/// it returns 0; 1 when it cannot start.
///
/// `on_stop` is how the process asks it to stop: called once, before the
/// variables are out, it arranges for `stop` to be called then (on SIGINT
/// or SIGTERM, in the tool), or says why it cannot.
pub(crate) fn serve(
    options: &FakeOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
    on_stop: impl FnOnce(Box<dyn FnMut() + Send>) -> Result<(), String>,
) -> u8 {
    let fake = match start(options) {
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
    // Before the variables are out: no request can come earlier.
    let feed = fake.request_feed();
    let env = format!(
        "MAGICBELL_BASE_URL={}\nMAGICBELL_TOKEN={}\n",
        fake.base_url(),
        fake.admin_token()
    );
    // Dropping the fake stops it: it closes its connections and joins its
    // threads, each feeding what it answered, and then the feed ends.
    let serving = Arc::new(Mutex::new(Some(fake)));
    let held = Arc::clone(&serving);
    let stopper = move || stop(&held);
    // Before the variables are out too: a stop asked for once a request may
    // have come still logs it.
    if let Err(e) = on_stop(Box::new(stopper)) {
        let _ = writeln!(err, "error: {e}");
        return 1;
    }
    let _ = out.write_all(env.as_bytes()).and_then(|()| out.flush());
    if let Some(path) = &options.env_file {
        match write_atomically(path, &env) {
            Ok(()) => {
                let _ = writeln!(err, "wrote {path:?}");
            }
            Err(e) => {
                let _ = writeln!(err, "error: could not write {path:?}: {e}");
                stop(&serving);
                return 1;
            }
        }
    }
    let _ = writeln!(err, "serving; stop with Ctrl-C");
    for request in feed {
        let _ = writeln!(err, "{}", log_line(&request)).and_then(|()| err.flush());
    }
    0
}

/// Stops the fake `serving` holds, if it is still there: dropped, it closes
/// its connections and joins its threads.
fn stop(serving: &Mutex<Option<FakeServer>>) {
    let fake = serving
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    drop(fake);
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
