//! The manual's control API, checked against a fake: its table of endpoints, and what its examples in other languages send.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use magicbell_jwt::FakeServer;
use serde_json::Value;

use crate::flags::{command_named, CONTROL_API};
use crate::usage::command_usage;

/// The manual, whose examples are checked.
const README: &str = include_str!("../../README.md");

/// A request an example sends to the control API: method, path, body.
type ControlCall = (String, String, Option<Value>);

/// Each `call("METHOD", "/_fake/...", BODY)` in the manual's code blocks
/// fenced as `fence`, in order, its body read as JSON.
#[track_caller]
fn control_calls(fence: &str) -> Vec<ControlCall> {
    let mut calls = Vec::new();
    for block in README.split(&format!("```{fence}\n")).skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        for (at, _) in block.match_indices("call(\"") {
            let rest = &block[at + "call(\"".len()..];
            let Some((method, rest)) = rest.split_once("\", \"") else {
                continue;
            };
            let Some((path, rest)) = rest.split_once('"') else {
                continue;
            };
            if !method.bytes().all(|b| b.is_ascii_uppercase()) || !path.starts_with("/_fake/") {
                continue;
            }
            let body = match rest.strip_prefix(", ") {
                Some(json) => {
                    let mut values = serde_json::Deserializer::from_str(json).into_iter::<Value>();
                    let body = values.next().and_then(Result::ok);
                    let body = body.unwrap_or_else(|| panic!("no JSON after {method} {path}"));
                    let after = json[values.byte_offset()..].trim_start();
                    assert!(after.starts_with(')'), "{method} {path}: {after:.40}");
                    Some(body)
                }
                None => {
                    assert!(rest.starts_with(')'), "{method} {path}: {rest:.40}");
                    None
                }
            };
            calls.push((method.to_owned(), path.to_owned(), body));
        }
    }
    calls
}

/// `call` sent to `fake`, with its admin token unless `anonymous`, on a
/// connection of its own: the status, and the answer.
#[track_caller]
fn send(fake: &FakeServer, (method, path, body): &ControlCall, anonymous: bool) -> (u16, String) {
    let addr = fake.base_url();
    let addr = addr.trim_start_matches("http://").trim_end_matches("/v2");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let bearer = if anonymous {
        String::new()
    } else {
        format!("authorization: Bearer {}\r\n", fake.admin_token())
    };
    let body = body.as_ref().map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: fake\r\n{bearer}content-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    (answer[9..12].parse().unwrap(), answer)
}

#[test]
fn every_body_the_examples_send_to_the_control_api_is_accepted() {
    for fence in ["js", "python"] {
        let calls = control_calls(fence);
        let has = |method: &str, path: &str, body: bool| {
            calls
                .iter()
                .any(|(m, p, b)| m == method && p == path && b.is_some() == body)
        };
        assert!(has("POST", "/_fake/faults", true), "{fence}: {calls:?}");
        assert!(has("GET", "/_fake/requests", false), "{fence}: {calls:?}");

        let fake = FakeServer::start().unwrap();
        for call in &calls {
            let (status, answer) = send(&fake, call, false);
            assert!((200..300).contains(&status), "{fence}: {call:?}: {answer}");
        }
        // The fault aimed at the second revoke is set up as the library
        // would: one window, on that route.
        let clear = ("DELETE".into(), "/_fake/faults".into(), None);
        let (_, answer) = send(&fake, &clear, false);
        assert!(answer.ends_with("{\"cleared\":1}"), "{fence}: {answer}");
    }
}

#[test]
fn the_control_api_of_fake_help_is_the_manuals_and_the_fakes() {
    // The manual's table, backquotes aside, row by row.
    let table: Vec<String> = README
        .split("| Request | Does |\n|---|---|\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take_while(|line| line.starts_with('|'))
        .map(|line| line.replace('`', ""))
        .collect();
    let rows: Vec<String> = CONTROL_API
        .iter()
        .map(|(method, path, does)| format!("| {method} {path} | {does} |"))
        .collect();
    assert_eq!(table, rows);

    let help = command_usage(command_named("fake").unwrap(), "magicbell-jwt");
    let fake = FakeServer::start().unwrap();
    for (method, path, does) in CONTROL_API {
        assert!(
            help.contains(&format!("\n    {method:<6} {path:<18}  {does}\n")),
            "{help}"
        );
        // Served: an unknown path is answered 404 and a method the path does
        // not take 405, before the bearer is checked.
        let call = (method.to_string(), path.to_string(), None);
        let (status, answer) = send(&fake, &call, true);
        assert_eq!(status, 401, "{call:?}: {answer}");
    }
}
