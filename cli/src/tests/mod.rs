//! The whole tool run in-process, against a fake or a mock: shared helpers here, the tests by concern beside.

use std::ffi::OsString;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use magicbell_jwt::{
    AccessToken, ClientBuilder, CreateProjectTokenRequest, CreateUserTokenRequest, FakeFault,
    FakeServer,
};
use serde_json::json;

use crate::{cli, Host};

mod apply;
mod command_line;
mod commands;
mod fake;
mod fake_examples;
// These two need the repository's test servers (see build.rs).
#[cfg(test_servers)]
mod parallel;
mod plans;
mod prune;
#[cfg(test_servers)]
mod rate_limits;
mod rotate;
mod streams;
mod user_revoke_all;

const BOOM: &str = "server answered 500 Internal Server Error: internal: boom";

const STORE_IT: &str = "Store the token now: it cannot be shown again.\n";

/// `line` as the process would get it, after the program's name.
pub(crate) fn argv(line: &str) -> Vec<OsString> {
    std::iter::once("magicbell-jwt")
        .chain(line.split_whitespace())
        .map(OsString::from)
        .collect()
}

/// The tool run on `line` against `server`: exit status, stdout, stderr.
#[track_caller]
fn tool(server: &MockServer, line: &str) -> (u8, String, String) {
    let base_url = server.url("/v2");
    tool_with(
        &[
            ("MAGICBELL_TOKEN", "sk-test"),
            ("MAGICBELL_BASE_URL", &base_url),
        ],
        line,
    )
}

/// The tool run on `line` with only `vars` in its environment.
#[track_caller]
fn tool_with(vars: &[(&str, &str)], line: &str) -> (u8, String, String) {
    run_tool(vars, line, "", SystemTime::now(), None)
}

/// The tool run on `line` with only `vars` in its environment, `stdin`
/// as its input, at `now`, with stderr a terminal when `progress_after`
/// is set. It never prints the bearer token, nor a minted token (`jwt-…`
/// or JWT-shaped `eyJ…`) on stderr, and shows no progress line (`\r`)
/// on a stderr that is not a terminal.
#[track_caller]
fn run_tool(
    vars: &[(&str, &str)],
    line: &str,
    stdin: &str,
    now: SystemTime,
    progress_after: Option<Duration>,
) -> (u8, String, String) {
    let env = |name: &str| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let tune = |builder: ClientBuilder| builder.max_retries(0).no_proxy();
    let host = Host {
        input: &mut stdin.as_bytes(),
        out: &mut out,
        err: &mut err,
        progress_after,
        now,
        out_is_null: false,
    };
    let code = cli(argv(line), &env, tune, host);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    let bearer = env("MAGICBELL_TOKEN")
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "sk-test".to_owned());
    assert!(
        !out.contains(&bearer) && !err.contains(&bearer),
        "{out}{err}"
    );
    assert!(
        !err.contains("jwt-") && !err.contains("eyJ"),
        "a minted token on stderr: {err}"
    );
    if progress_after.is_none() {
        assert!(
            !err.contains('\r'),
            "progress on a stderr that is no terminal: {err:?}"
        );
    }
    (code, out, err)
}

/// The tool run on `line` against `fake`, with its admin token, at its
/// clock, with `stdin` as its input.
#[track_caller]
fn on_fake(fake: &FakeServer, line: &str, stdin: &str) -> (u8, String, String) {
    let base_url = fake.base_url();
    let vars = [
        ("MAGICBELL_TOKEN", fake.admin_token()),
        ("MAGICBELL_BASE_URL", base_url.as_str()),
    ];
    run_tool(&vars, line, stdin, fake.now(), None)
}

/// A project token made on `fake` (through its own client): its id.
#[track_caller]
pub(crate) fn seed(fake: &FakeServer, name: &str, expiry: Option<u64>) -> String {
    let mut request = CreateProjectTokenRequest::new(name);
    if let Some(seconds) = expiry {
        request = request.expiry(seconds);
    }
    fake.client().create_project_jwt(&request).unwrap().token_id
}

/// A token made on `fake` for the user with this email: its id.
#[track_caller]
fn seed_user(fake: &FakeServer, email: &str) -> String {
    let request = CreateUserTokenRequest::for_email(email);
    fake.client().create_user_jwt(&request).unwrap().token_id
}

/// The ids of `tokens` that are revoked, and of those that are not.
#[track_caller]
pub(crate) fn revoked_and_live(tokens: &[AccessToken]) -> (Vec<String>, Vec<String>) {
    let (revoked, live): (Vec<_>, Vec<_>) = tokens.iter().partition(|t| t.is_discarded());
    let id = |t: &AccessToken| t.id.clone().unwrap();
    (
        revoked.into_iter().map(id).collect(),
        live.into_iter().map(id).collect(),
    )
}

/// The paths of the `DELETE`s `fake` read, in order.
fn deletes(fake: &FakeServer) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect()
}

/// `revoked ID` for each id, then the count line.
fn revoked_lines(ids: &[String], failed: usize) -> String {
    let lines: String = ids.iter().map(|id| format!("revoked {id}\n")).collect();
    format!("{lines}revoked {}, failed {failed}\n", ids.len())
}

/// A job document's `rate_limited` member when the job met no rate limit.
fn no_rate_limit() -> serde_json::Value {
    json!({"throttled": 0, "held_ms": 0})
}

#[track_caller]
fn document(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn named(id: &str, name: &str, expires_at: Option<&str>, discarded: bool) -> serde_json::Value {
    json!({
        "id": id, "name": name, "created_at": "2026-01-01T00:00:00Z",
        "expires_at": expires_at,
        "discarded_at": if discarded { Some("2026-01-02T00:00:00Z") } else { None },
    })
}

fn token(id: &str) -> serde_json::Value {
    json!({"id": id, "name": format!("n {id}"), "created_at": "2026-01-01T00:00:00Z"})
}

fn serve_list<'a>(
    server: &'a MockServer,
    path: &str,
    tokens: Vec<serde_json::Value>,
) -> httpmock::Mock<'a> {
    server.mock(|when, then| {
        when.method(GET).path(path.to_owned());
        then.status(200)
            .json_body(json!({"data": tokens, "links": {"next": null}}));
    })
}

fn serve_boom<'a>(
    server: &'a MockServer,
    method: httpmock::Method,
    path: &str,
) -> httpmock::Mock<'a> {
    server.mock(|when, then| {
        when.method(method).path(path.to_owned());
        then.status(500)
            .json_body(json!({"errors": [{"code": "internal", "message": "boom"}]}));
    })
}

fn serve_discard<'a>(server: &'a MockServer, path: &str, status: u16) -> httpmock::Mock<'a> {
    let id = path.rsplit('/').next().unwrap().to_owned();
    server.mock(|when, then| {
        when.method(DELETE).path(path.to_owned());
        then.status(status)
            .json_body(json!({"token_id": id, "discarded_at": "2026-11-29T00:00:00Z"}));
    })
}

fn serve_create<'a>(server: &'a MockServer) -> httpmock::Mock<'a> {
    server.mock(|when, then| {
        when.method(POST).path("/v2/jwt/project");
        then.status(201).json_body(
            json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z"}),
        );
    })
}

/// What `rotate` prints for `serve_create`'s token in text mode.
const NEW_TOKEN_TABLE: &str = "\
TOKEN_ID    new1
CREATED_AT  2026-11-29T00:00:00Z
EXPIRES_AT  -
TOKEN       jwt-new
";

/// `serve_create`'s token as the JSON documents carry it.
fn new_token_json() -> serde_json::Value {
    json!({"token": "jwt-new", "token_id": "new1", "created_at": "2026-11-29T00:00:00Z", "expires_at": null})
}

/// A mock for any request of `method`, to count that none was sent.
fn any<'a>(server: &'a MockServer, method: httpmock::Method) -> httpmock::Mock<'a> {
    server.mock(|when, then| {
        when.method(method);
        then.status(599);
    })
}

fn any_request(server: &MockServer) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.any_request();
        then.status(599);
    })
}

/// stdout whose reader went away: it takes its first `writes` writes
/// whole, then every write fails with a broken pipe.
pub(crate) struct Closing {
    taken: Vec<u8>,
    writes: usize,
}

impl Closing {
    pub(crate) fn after(writes: usize) -> Closing {
        Closing {
            taken: Vec::new(),
            writes,
        }
    }

    #[track_caller]
    fn text(&self) -> String {
        String::from_utf8(self.taken.clone()).unwrap()
    }
}

impl Write for Closing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.writes == 0 {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.writes -= 1;
        self.taken.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a closed stdout makes the tool say.
fn broken_pipe() -> String {
    let e = io::Error::from(io::ErrorKind::BrokenPipe);
    format!("error: could not write the output: {e}\n")
}

/// stdout that notes, at each flush, what it holds and how many
/// requests (and of them `DELETE`s) the fake has read by then.
struct Recorder<'a> {
    bytes: Vec<u8>,
    flushes: Vec<(String, usize, usize)>,
    fake: &'a FakeServer,
}

impl<'a> Recorder<'a> {
    fn new(fake: &'a FakeServer) -> Self {
        Recorder {
            bytes: Vec::new(),
            flushes: Vec::new(),
            fake,
        }
    }
}

impl Write for Recorder<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        let text = String::from_utf8_lossy(&self.bytes).into_owned();
        let requests = self.fake.requests();
        let deletes = requests.iter().filter(|r| r.method == "DELETE").count();
        self.flushes.push((text, requests.len(), deletes));
        Ok(())
    }
}

/// The tool run on `line` against `fake` with `out` as its stdout: the
/// exit status and stderr, which never holds a minted token.
#[track_caller]
fn on_fake_into(fake: &FakeServer, line: &str, out: &mut dyn Write) -> (u8, String) {
    let (base_url, admin) = (fake.base_url(), fake.admin_token().to_owned());
    let env = |name: &str| match name {
        "MAGICBELL_TOKEN" => Some(admin.clone()),
        "MAGICBELL_BASE_URL" => Some(base_url.clone()),
        _ => None,
    };
    let mut err = Vec::new();
    let host = Host {
        input: &mut io::empty(),
        out,
        err: &mut err,
        progress_after: None,
        now: fake.now(),
        out_is_null: false,
    };
    let code = cli(argv(line), &env, |b| b.max_retries(0), host);
    let err = String::from_utf8(err).unwrap();
    assert!(!err.contains("eyJ"), "a minted token on stderr: {err}");
    (code, err)
}

/// The requests `fake` read after the first `from`: method and path.
fn sent(fake: &FakeServer, from: usize) -> Vec<(String, String)> {
    fake.requests()[from..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

/// `DELETE` of each project token id, in order.
fn deletes_of(ids: &[String]) -> Vec<(String, String)> {
    let path = |id: &String| format!("/v2/jwt/project/{id}");
    ids.iter()
        .map(|id| ("DELETE".to_owned(), path(id)))
        .collect()
}

/// What a job whose stdout failed while showing a batch says on stderr
/// about that batch's revokes.
pub(crate) fn unshown_batch(ids: &[String]) -> String {
    let lines: String = ids.iter().map(|id| format!("revoked {id}\n")).collect();
    format!("could not show these revokes on stdout (broken pipe):\n{lines}")
}

/// What the fake's injected 500 makes a call say.
const FAKE_500: &str = "server answered 500 Internal Server Error: internal_server_error: \
                            a fault injected into the fake: status 500 (FakeServer::inject set \
                            this answer up; the next requests are answered normally once it is \
                            used)";

#[track_caller]
fn tool_at(url: &str, line: &str) -> (u8, String, String) {
    tool_with(
        &[("MAGICBELL_TOKEN", "sk-test"), ("MAGICBELL_BASE_URL", url)],
        line,
    )
}

/// An empty directory of this test's own, `name` telling it from the
/// others'; its path holds no `jwt-`, which stderr is checked against.
#[track_caller]
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mbcli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The JSON lines of a file: its first line, and the others.
#[track_caller]
fn json_lines(file: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines().map(document).collect()
}
