//! The built `magicbell-jwt` run as a process: its name, `fake` serving the tool itself, and a stdout pipe its reader closes.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod fake_options;
// Unix: signals, sent with kill(1).
#[cfg(unix)]
mod fake_signals;

const BIN: &str = env!("CARGO_BIN_EXE_magicbell-jwt");

/// The binary with no MagicBell or proxy variables from the test's
/// environment: a proxy would not reach the fake on 127.0.0.1.
fn tool() -> Command {
    let mut command = Command::new(BIN);
    for name in [
        "MAGICBELL_TOKEN",
        "MAGICBELL_BASE_URL",
        "ALL_PROXY",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "all_proxy",
        "https_proxy",
        "http_proxy",
    ] {
        command.env_remove(name);
    }
    command.stdin(Stdio::null());
    command
}

#[track_caller]
fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// An empty directory of this test's own.
#[track_caller]
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("magicbell-jwt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `fake`, killed when dropped; its stderr read line by line as
/// it comes.
struct Fake {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    #[track_caller]
    fn start(args: &[&str]) -> (Fake, [String; 2]) {
        let mut child = tool()
            .arg("fake")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut reader = BufReader::new(child.stderr.take().unwrap());
        let lines = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                lines.lock().unwrap().push(std::mem::take(&mut line));
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = || {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line
        };
        let printed = [first(), first()];
        (Fake { child, stderr }, printed)
    }

    /// Waits until stderr holds `line`; panics after 10 s.
    #[track_caller]
    fn wait_for(&self, line: &str) {
        let start = Instant::now();
        while !self.stderr.lock().unwrap().iter().any(|l| l == line) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no {line:?} on stderr: {:?}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `line`'s value after `NAME=`, with its newline.
#[track_caller]
fn value<'a>(line: &'a str, name: &str) -> &'a str {
    let value = line.strip_prefix(name).and_then(|l| l.strip_prefix('='));
    value
        .unwrap_or_else(|| panic!("{line:?} is not {name}=..."))
        .trim_end_matches('\n')
}

#[test]
fn the_fake_prints_its_variables_first_writes_them_to_the_env_file_and_serves_the_tool() {
    let dir = scratch("fake-env");
    let env_file = dir.join("fake.env");
    let (fake, printed) = Fake::start(&["--port", "0", "--env-file", env_file.to_str().unwrap()]);

    let base_url = value(&printed[0], "MAGICBELL_BASE_URL");
    let token = value(&printed[1], "MAGICBELL_TOKEN");
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    assert!(base_url.ends_with("/v2"), "{base_url}");
    assert!(!token.is_empty());
    fake.wait_for("serving; stop with Ctrl-C\n");
    // Written before the fake says it serves, whole.
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        printed.concat()
    );

    let with_fake = |args: &[&str]| -> Output {
        let mut command = tool();
        command.env("MAGICBELL_BASE_URL", base_url);
        command.env("MAGICBELL_TOKEN", token);
        command.args(args).output().unwrap()
    };
    let created = with_fake(&["create", "deploy bot", "--expiry", "3600"]);
    let listed = with_fake(&["list", "--json"]);

    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    assert!(text(&created.stdout).starts_with("TOKEN_ID    "));
    assert_eq!(
        text(&created.stderr),
        "Store the token now: it cannot be shown again.\n"
    );
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let page: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(page["data"][0]["name"], "deploy bot");
    fake.wait_for("GET /v2/jwt/project -> 200\n");
    assert_eq!(
        *fake.stderr.lock().unwrap(),
        [
            format!("wrote {env_file:?}\n"),
            "serving; stop with Ctrl-C\n".to_owned(),
            "POST /v2/jwt/project -> 201\n".to_owned(),
            "GET /v2/jwt/project -> 200\n".to_owned(),
        ]
    );
    drop(fake);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fake_that_cannot_listen_exits_1_and_prints_no_variables() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    let output = tool().args(["fake", "--port", &port]).output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    let err = text(&output.stderr);
    let expected = format!("error: could not listen on 127.0.0.1:{port}: ");
    assert!(err.starts_with(&expected), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_fake_whose_env_file_cannot_be_written_exits_1_after_its_variables() {
    let dir = scratch("fake-no-dir");
    let env_file = dir.join("missing").join("fake.env");

    let mut child = tool()
        .args(["fake", "--env-file", env_file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let output = child.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    let out = text(&output.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("MAGICBELL_BASE_URL="), "{out}");
    assert!(lines[1].starts_with("MAGICBELL_TOKEN="), "{out}");
    let expected = format!("error: could not write {env_file:?}: ");
    assert!(err.starts_with(&expected), "{err}");
    assert!(!env_file.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_binary_names_itself_magicbell_jwt() {
    let version = tool().arg("--version").output().unwrap();
    let help = tool().args(["fake", "--help"]).output().unwrap();
    let refused = tool().args(["fake", "--port", "x"]).output().unwrap();

    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        text(&version.stdout),
        format!("magicbell-jwt {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(help.status.code(), Some(0));
    assert!(
        text(&help.stdout)
            .starts_with("magicbell-jwt fake: serve an in-memory MagicBell JWT service"),
        "{}",
        text(&help.stdout)
    );
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        text(&refused.stderr),
        "error: --port takes a number from 0 to 65535, not \"x\"; see 'magicbell-jwt fake --help'\n"
    );
}

// Unix: the message is EPIPE's, as the system words it.
#[cfg(unix)]
#[test]
fn rotate_into_a_pipe_closed_after_one_byte_names_the_live_new_token_and_revokes_nothing() {
    for json in [false, true] {
        let fake = magicbell_jwt::FakeServer::start().unwrap();
        let request = magicbell_jwt::CreateProjectTokenRequest::new("deploy");
        for _ in 0..3 {
            fake.client().create_project_jwt(&request).unwrap();
        }
        let seeding = fake.requests().len();
        // Each answer leaves 200 ms late: the pipe is closed long before the
        // tool writes again after the new token.
        fake.set_latency(Duration::from_millis(200));
        let mut command = tool();
        command
            .env("MAGICBELL_BASE_URL", fake.base_url())
            .env("MAGICBELL_TOKEN", fake.admin_token())
            .args(["rotate", "deploy"]);
        if json {
            command.arg("--json");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();

        // `| head -c1`: one byte read, then the pipe closed, once the
        // token's writes have all ended (stdout's line buffer may split
        // them at a newline; a reader gone between them makes the tool
        // revoke the token, another test's case).
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0; 1];
        stdout.read_exact(&mut byte).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(stdout);
        let output = child.wait_with_output().unwrap();

        let tokens = fake.project_tokens();
        let new_id = tokens[0].id.clone().unwrap();
        let store_it = if json {
            ""
        } else {
            "Store the token now: it cannot be shown again.\n"
        };
        assert_eq!(output.status.code(), Some(1), "json: {json}");
        assert_eq!(
            text(&output.stderr),
            format!(
                "{store_it}error: could not write the output: Broken pipe (os error 32)\n\
                 the new token {new_id} was written before stdout failed, so it may not have \
                 reached anyone, and it is live: if you do not hold it, revoke it with: \
                 magicbell-jwt discard -- {new_id}\n"
            )
        );
        assert_eq!(byte, if json { *b"{" } else { *b"T" });
        // Nothing revoked: the new token and the 3 old ones are live.
        assert_eq!(tokens.len(), 4);
        assert!(tokens.iter().all(|t| !t.is_discarded()), "{tokens:?}");
        let methods: Vec<String> = fake.requests()[seeding..]
            .iter()
            .map(|r| r.method.clone())
            .collect();
        assert_eq!(methods, ["POST", "GET"], "json: {json}");
    }
}

/// A client of the library for the fake whose variables are `printed`.
#[track_caller]
fn client_for(printed: &[String; 2], token: Option<&str>) -> magicbell_jwt::Client {
    let base_url = value(&printed[0], "MAGICBELL_BASE_URL");
    let admin = value(&printed[1], "MAGICBELL_TOKEN");
    magicbell_jwt::Client::builder(token.unwrap_or(admin))
        .base_url(base_url)
        .no_proxy()
        .build()
        .unwrap()
}

/// `time` in whole seconds since the epoch.
#[track_caller]
fn secs(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn the_fake_runs_on_real_time_dating_tokens_now_and_expiring_them() {
    use magicbell_jwt::CreateProjectTokenRequest;
    use std::time::SystemTime;

    let (_fake, printed) = Fake::start(&[]);
    let client = client_for(&printed, None);
    let before = secs(SystemTime::now());
    let short = client
        .create_project_jwt(&CreateProjectTokenRequest::new("short").expiry(1))
        .unwrap();
    let other = client
        .create_project_jwt(&CreateProjectTokenRequest::new("other"))
        .unwrap();
    let after = secs(SystemTime::now());
    let page = client.fetch_project_tokens(&Default::default()).unwrap();
    let created = secs(page.data[1].created_at_time().unwrap());
    assert!(
        (before..=after).contains(&created),
        "{before} {created} {after}"
    );
    let expires = page.data[1].expires_at_time().unwrap();
    assert_eq!(secs(expires), created + 1);

    // Refused once the real time reaches its expiry.
    while SystemTime::now() < expires + Duration::from_millis(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let as_short = client_for(&printed, Some(&short.token));
    let refused = as_short.fetch_project_tokens(&Default::default());
    assert_eq!(refused.unwrap_err().status(), Some(401));
    let discarded = client.discard_project_jwt(&other.token_id).unwrap();
    let page = client.fetch_project_tokens(&Default::default()).unwrap();
    let at = secs(page.data[0].discarded_at_time().unwrap());
    assert!(
        at > created && at <= secs(SystemTime::now()),
        "{discarded:?}"
    );
}

#[test]
fn with_frozen_clock_every_date_is_the_start_and_nothing_expires() {
    use magicbell_jwt::CreateProjectTokenRequest;

    let (_fake, printed) = Fake::start(&["--frozen-clock"]);
    let client = client_for(&printed, None);
    let short = client
        .create_project_jwt(&CreateProjectTokenRequest::new("short").expiry(1))
        .unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let later = client
        .create_project_jwt(&CreateProjectTokenRequest::new("later"))
        .unwrap();
    let discarded = client.discard_project_jwt(&later.token_id).unwrap();
    let page = client_for(&printed, Some(&short.token))
        .fetch_project_tokens(&Default::default())
        .unwrap();
    let dates: Vec<String> = page.data.iter().map(|t| t.created_at.clone()).collect();
    assert_eq!(dates, [dates[0].clone(), dates[0].clone()]);
    assert_eq!(discarded.discarded_at, dates[0]);
    assert_eq!(page.data[1].name.as_deref(), Some("short"));
}

#[test]
fn the_fake_serves_on_when_its_stderr_is_closed() {
    use magicbell_jwt::CreateProjectTokenRequest;

    let mut child = tool()
        .arg("fake")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        line
    };
    let printed = [line(), line()];
    let mut fake = Fake {
        child,
        stderr: Arc::default(),
    };
    let mut serving = String::new();
    while serving != "serving; stop with Ctrl-C\n" {
        serving.clear();
        assert!(err.read_line(&mut serving).unwrap() > 0);
    }
    // What `magicbell-jwt fake 2>&1 | head -n 2` does once head has its
    // lines: the pipe's reading end closes, and each log line then fails
    // to be written.
    drop(err);
    let client = client_for(&printed, None);
    for i in 0..20 {
        client
            .create_project_jwt(&CreateProjectTokenRequest::new(format!("t{i}")))
            .unwrap();
    }
    // Time for the log to have failed on every one, then still serving,
    // with its state.
    std::thread::sleep(Duration::from_millis(300));
    let page = client.fetch_project_tokens(&Default::default()).unwrap();
    assert_eq!(page.data.len(), 20);
    assert!(fake.child.try_wait().unwrap().is_none());
}

#[test]
fn a_proxy_variable_is_followed_unless_no_proxy_lists_the_api_host() {
    let fake = magicbell_jwt::FakeServer::start().unwrap();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let list = |no_proxy: Option<&str>| {
        let mut command = tool();
        command
            .env("MAGICBELL_BASE_URL", fake.base_url())
            .env("MAGICBELL_TOKEN", fake.admin_token())
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{closed}"))
            .env("HTTP_PROXY", format!("http://127.0.0.1:{closed}"))
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .arg("list");
        if let Some(hosts) = no_proxy {
            command.env("NO_PROXY", hosts);
        }
        command.output().unwrap()
    };

    let through_proxy = list(None);
    assert_eq!(through_proxy.status.code(), Some(1));
    let said = text(&through_proxy.stderr);
    assert!(
        said.starts_with(&format!(
            "error: no usable answer from the server: could not connect to the proxy http://127.0.0.1:{closed}"
        )),
        "{said}"
    );
    assert_eq!(fake.requests().len(), 0);

    let direct = list(Some("127.0.0.1"));
    assert_eq!(direct.status.code(), Some(0), "{}", text(&direct.stderr));
    assert_eq!(fake.requests().len(), 1);
}

/// What a command that mints a token says when stdout is `/dev/null`.
fn null_stdout_refusal(command: &str) -> String {
    format!(
        "error: {command} shows the new token once, on stdout, and stdout is /dev/null \
         (or was closed): nobody would get it. Nothing was sent; keep the token in a \
         file (> token.txt) or a pipe (| your secret store); see 'magicbell-jwt \
         {command} --help'\n"
    )
}

// Unix: where the check is made, and where a shell closes a stream.
#[cfg(unix)]
#[test]
fn create_user_create_and_rotate_refuse_a_stdout_on_dev_null_or_closed_and_send_nothing() {
    let commands: [(&str, &[&str]); 3] = [
        ("create", &["create", "deploy"]),
        ("user-create", &["user-create", "--email", "a@x"]),
        ("rotate", &["rotate", "deploy"]),
    ];
    for (command, args) in commands {
        for closed in [false, true] {
            let fake = magicbell_jwt::FakeServer::start().unwrap();
            let request = magicbell_jwt::CreateProjectTokenRequest::new("deploy");
            let old = fake.client().create_project_jwt(&request).unwrap();
            let seeding = fake.requests().len();
            let mut run = if closed {
                // `>&-`: the shell closes fd 1 before the tool starts.
                let mut sh = Command::new("sh");
                sh.args(["-c", "exec \"$0\" \"$@\" >&-", BIN]).args(args);
                sh
            } else {
                let mut tool = Command::new(BIN);
                tool.args(args).stdout(Stdio::null());
                tool
            };
            let output = run
                .env_remove("HTTPS_PROXY")
                .env_remove("HTTP_PROXY")
                .env_remove("ALL_PROXY")
                .env("MAGICBELL_BASE_URL", fake.base_url())
                .env("MAGICBELL_TOKEN", fake.admin_token())
                .stdin(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .unwrap();

            let case = format!("{command}, closed: {closed}");
            assert_eq!(output.status.code(), Some(2), "{case}");
            assert_eq!(text(&output.stderr), null_stdout_refusal(command), "{case}");
            assert!(fake.requests()[seeding..].is_empty(), "{case}");
            let tokens = fake.project_tokens();
            assert_eq!(tokens.len(), 1, "{case}");
            assert_eq!(tokens[0].id.as_deref(), Some(old.token_id.as_str()));
            assert!(!tokens[0].is_discarded(), "{case}");
        }
    }
}

#[cfg(unix)]
#[test]
fn create_into_a_file_is_not_taken_for_dev_null() {
    let dir = scratch("create-into-file");
    let fake = magicbell_jwt::FakeServer::start().unwrap();
    let file = std::fs::File::create(dir.join("token.txt")).unwrap();

    let output = tool()
        .args(["create", "deploy"])
        .env("MAGICBELL_BASE_URL", fake.base_url())
        .env("MAGICBELL_TOKEN", fake.admin_token())
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let written = std::fs::read_to_string(dir.join("token.txt")).unwrap();
    assert!(written.starts_with("TOKEN_ID    "), "{written}");
    assert_eq!(fake.project_tokens().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn create_into_another_character_device_is_not_taken_for_dev_null() {
    // /dev/zero takes writes as /dev/null does, but it is another device:
    // only /dev/null itself is refused.
    let fake = magicbell_jwt::FakeServer::start().unwrap();
    let zero = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/zero")
        .unwrap();

    let output = tool()
        .args(["create", "deploy"])
        .env("MAGICBELL_BASE_URL", fake.base_url())
        .env("MAGICBELL_TOKEN", fake.admin_token())
        .stdout(zero)
        .stderr(Stdio::piped())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(fake.project_tokens().len(), 1);
}

/// The DELETEs the fake logged so far: (path, status).
fn logged_deletes(fake: &Fake) -> Vec<(String, String)> {
    let lines = fake.stderr.lock().unwrap().clone();
    lines
        .iter()
        .filter_map(|line| line.strip_prefix("DELETE "))
        .filter_map(|rest| rest.trim_end().split_once(" -> "))
        .map(|(path, status)| (path.to_owned(), status.to_owned()))
        .collect()
}

#[test]
fn apply_killed_at_any_moment_and_run_again_revokes_each_planned_token_once_and_no_other() {
    use magicbell_jwt::CreateUserTokenRequest;

    let dir = scratch("kill-and-resume");
    let plan = dir.join("plan.jsonl");
    let (fake, printed) = Fake::start(&["--latency-ms", "10"]);
    let client = client_for(&printed, None);
    let users: Vec<String> = (0..30).map(|i| format!("u{i}@x")).collect();
    for user in users.iter().chain(["outside@x".to_owned()].iter()) {
        for _ in 0..10 {
            let request = CreateUserTokenRequest::for_email(user.as_str());
            client.create_user_jwt(&request).unwrap();
        }
    }
    let with_fake = |args: &[&str]| -> Command {
        let mut command = tool();
        command
            .env(
                "MAGICBELL_BASE_URL",
                value(&printed[0], "MAGICBELL_BASE_URL"),
            )
            .env("MAGICBELL_TOKEN", value(&printed[1], "MAGICBELL_TOKEN"))
            .args(args);
        command
    };

    let mut planning = with_fake(&["user-revoke-all", "-", "--plan", plan.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = planning.stdin.take().unwrap();
    std::io::Write::write_all(&mut { stdin }, users.join("\n").as_bytes()).unwrap();
    let planned = planning.wait_with_output().unwrap();
    assert_eq!(planned.status.code(), Some(0));
    assert_eq!(
        text(&planned.stdout),
        format!("planned 300 tokens of 30 users into {}\n", plan.display())
    );
    assert!(logged_deletes(&fake).is_empty());

    // Killed once the fake has logged this many revokes, each time.
    let apply = || with_fake(&["apply", plan.to_str().unwrap(), "--parallel", "2"]);
    for at in [1, 70, 160, 250] {
        let mut child = apply()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while logged_deletes(&fake).len() < at && child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(60), "stuck at {at}");
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        child.wait().unwrap();
    }
    let last = apply().output().unwrap();
    let again = apply().output().unwrap();

    assert_eq!(last.status.code(), Some(0), "{}", text(&last.stderr));
    assert!(
        text(&last.stdout).ends_with("planned 300, done 300, left 0\n"),
        "{}",
        text(&last.stdout)
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        text(&again.stdout),
        "revoked 0, gone 0, failed 0\nplanned 300, done 300, left 0\n"
    );
    // Every planned token revoked, the outsider's all live.
    for user in &users {
        let page = client.fetch_user_tokens(user, &Default::default()).unwrap();
        assert!(page.data.iter().all(|t| t.is_discarded()), "{user}");
    }
    let outside = client
        .fetch_user_tokens("outside@x", &Default::default())
        .unwrap();
    assert_eq!(outside.data.len(), 10);
    assert!(outside.data.iter().all(|t| !t.is_discarded()));
    // Each token revoked once by the server: any revoke sent again after a
    // kill was answered 404; none went to a token outside the plan. A revoke
    // whose client was killed before its answer left is logged as closed
    // without one (it acted all the same). The log is read from the fake's
    // stderr as it comes: wait until every planned token's revoke is in it.
    const UNANSWERED: &str = "closed without an answer";
    let acted = |deletes: &[(String, String)]| {
        let mut paths: Vec<String> = deletes
            .iter()
            .filter(|(_, s)| s == "200" || s == UNANSWERED)
            .map(|(path, _)| path.clone())
            .collect();
        paths.sort();
        paths.dedup();
        paths.len()
    };
    let start = Instant::now();
    while acted(&logged_deletes(&fake)) < 300 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let deletes = logged_deletes(&fake);
    assert_eq!(acted(&deletes), 300);
    let mut revoked: Vec<&String> = deletes
        .iter()
        .filter(|(_, status)| status == "200")
        .map(|(path, _)| path)
        .collect();
    let count = revoked.len();
    revoked.sort();
    revoked.dedup();
    assert_eq!(count, revoked.len(), "a token answered 200 twice");
    assert!(deletes
        .iter()
        .all(|(_, status)| status == "200" || status == "404" || status == UNANSWERED));
    let outside_ids: Vec<String> = outside.data.iter().filter_map(|t| t.id.clone()).collect();
    assert!(deletes
        .iter()
        .all(|(path, _)| outside_ids.iter().all(|id| !path.ends_with(id.as_str()))));
    drop(fake);
    std::fs::remove_dir_all(&dir).unwrap();
}
