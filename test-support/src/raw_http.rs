//! `FakeServer` over raw TCP: a connection, an answer read back, and whether
//! the fake closed it. Used by the fake's raw-HTTP tests
//! (`tests/it/fake_http_*.rs`) and its unit tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// A read that waits this long fails the test: nothing should.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// One answer, as read off the connection.
pub struct Answer {
    pub status: u16,
    /// The status line and headers, with the blank line that ends them.
    pub head: String,
    /// The body as JSON; `Value::Null` when there is none.
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The first `errors[]` entry's code and message.
    pub fn error(&self) -> (&str, &str) {
        let entry = &self.body["errors"][0];
        (
            entry["code"].as_str().unwrap_or("-"),
            entry["message"].as_str().unwrap_or("-"),
        )
    }
}

/// A connection to the fake whose [`base_url`](magicbell_jwt::FakeServer::base_url)
/// is `base_url`; its reads wait at most [`PATIENCE`].
#[track_caller]
pub fn connect(base_url: &str) -> TcpStream {
    let addr = base_url["http://".len()..]
        .trim_end_matches("/v2")
        .to_owned();
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads one answer (skipping a `100 Continue`) from `stream`; `buffer` keeps
/// what arrived past it, for the next answer on the connection.
#[track_caller]
pub fn read_answer(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Answer {
    loop {
        let end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).expect("an answer");
            assert!(n > 0, "closed before an answer");
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buffer.drain(..end).collect()).expect("UTF-8 head");
        let status: u16 = head[9..12].parse().expect("status");
        if status == 100 {
            continue;
        }
        let mut answer = Answer {
            status,
            head,
            body: Value::Null,
        };
        let length: usize = answer
            .header("content-length")
            .expect("content-length")
            .parse()
            .unwrap();
        while buffer.len() < length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).expect("a body");
            assert!(n > 0, "closed mid-body");
            buffer.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buffer.drain(..length).collect();
        answer.body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).expect("a JSON body")
        };
        return answer;
    }
}

/// Sends `bytes` on a new connection to the fake at `base_url` and reads one
/// answer.
#[track_caller]
pub fn send(base_url: &str, bytes: &[u8]) -> Answer {
    let mut stream = connect(base_url);
    stream.write_all(bytes).expect("write");
    read_answer(&mut stream, &mut Vec::new())
}

/// True when the fake closed `stream` (end of stream or a reset); false when
/// it sent more bytes or nothing within [`PATIENCE`].
pub fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(n) => n == 0,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}
