//! A small std-only HTTP/1.1 server that misbehaves on purpose: it answers each
//! request with whatever a test's script says, and counts the TCP connections
//! and requests it sees. [`raw_http`] reads a server's answers over raw TCP;
//! [`RateLimitedServer`] enforces a fixed-window rate limit;
//! [`InFlightServer`] holds requests until enough are in flight together;
//! [`ConnectProxy`] is an HTTP `CONNECT` proxy; [`TlsServer`] serves HTTPS
//! with a test CA.

mod connect_proxy;
mod in_flight;
mod rate_limited;
pub mod raw_http;
mod tls_server;

pub use connect_proxy::{ConnectProxy, Tunnel};
pub use in_flight::{InFlightBuilder, InFlightServer};
pub use rate_limited::{api_answer, RateLimitBuilder, RateLimitedServer, WindowCount, Windows};
pub use tls_server::TlsServer;

/// The bearer token the library's test clients send; no output may ever show it.
pub const TOKEN: &str = "sk-test-bearer-7f3a9c";
/// The value of a freshly minted token in create answers; no output may show it.
pub const MINTED: &str = "eyJhbGciOiJIUzI1NiJ9.minted-secret.sig";

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// What the server does with one request it has read.
pub enum Reply {
    /// Write these bytes as the answer and keep the connection for the next request.
    Raw(Vec<u8>),
    /// Write these bytes, then close the connection.
    RawThenClose(Vec<u8>),
    /// Close the connection without answering.
    Close,
    /// Answer nothing for this long, then close.
    Stall(Duration),
    /// A 200 whose body is `len` bytes of JSON-ish filler, with a
    /// `Content-Length` when `announce`, else delimited by closing.
    Huge { len: usize, announce: bool },
}

/// An answer with a `Content-Length`, kept alive.
pub fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    respond_bytes(status, headers, body.as_bytes())
}

/// [`respond`] with a body of any bytes, UTF-8 or not.
pub fn respond_bytes(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    Reply::Raw(answer_bytes(status, headers, body))
}

/// The bytes of an HTTP/1.1 answer with a `Content-Length`.
pub fn answer_bytes(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} Whatever\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A JSON answer with a `Content-Length`, kept alive.
pub fn json(status: u16, body: &str) -> Reply {
    respond(status, &[("content-type", "application/json")], body)
}

/// One request as the server read it.
pub struct Request {
    pub method: String,
    pub target: String,
    /// Header names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How many requests came before this one on its connection.
    pub on_connection: usize,
}

type Script = dyn Fn(usize, &Request) -> Reply + Send + Sync;

pub struct FaultServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultServer {
    /// Starts serving on 127.0.0.1; `script(n, request)` decides the answer
    /// to the `n`th request (from 0) across all connections.
    #[track_caller]
    pub fn start(script: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        {
            let (connections, requests, stop) =
                (connections.clone(), requests.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (requests, script) = (requests.clone(), script.clone());
                    thread::spawn(move || serve(stream, &requests, &*script));
                }
            });
        }
        FaultServer {
            addr,
            connections,
            requests,
            stop,
        }
    }

    /// The base URL to give the client.
    pub fn url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Whole requests read so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A server that dies: it answers its first `answers` requests, one
/// connection at a time, each a 200 with `body(request)` as JSON that
/// closes its connection (so no client pools one); then, after `pause` (time
/// for the client to take in those answers), it cuts the next connection
/// unanswered and closes its port, so every later connection is refused and
/// any still queued is reset. Its port, and a handle that yields how many
/// requests it answered once the port is closed. The client must send at
/// least one request more than `answers`.
#[track_caller]
pub fn dies_after(
    answers: usize,
    pause: Duration,
    body: impl Fn(&Request) -> String + Send + 'static,
) -> (u16, thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let server = thread::spawn(move || {
        let mut answered = 0;
        while answered < answers {
            let Ok((stream, _)) = listener.accept() else {
                continue;
            };
            let Some(request) = read_request(&mut BufReader::new(&stream)) else {
                continue;
            };
            let headers = [
                ("content-type", "application/json"),
                ("connection", "close"),
            ];
            let answer = answer_bytes(200, &headers, body(&request).as_bytes());
            let _ = (&stream).write_all(&answer);
            answered += 1;
        }
        thread::sleep(pause);
        // The port closes before the connection is cut, so the client's
        // next connection, however quick, is refused.
        let cut = listener.accept();
        drop(listener);
        drop(cut);
        answered
    });
    (port, server)
}

fn serve(stream: TcpStream, requests: &AtomicUsize, script: &Script) {
    // Answers go out in one write; do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut on_connection = 0;
    while let Some(mut request) = read_request(&mut reader) {
        request.on_connection = on_connection;
        on_connection += 1;
        let n = requests.fetch_add(1, Ordering::SeqCst);
        match script(n, &request) {
            Reply::Raw(bytes) => {
                if writer.write_all(&bytes).is_err() {
                    return;
                }
            }
            Reply::RawThenClose(bytes) => {
                let _ = writer.write_all(&bytes);
                return;
            }
            Reply::Close => return,
            Reply::Stall(wait) => {
                thread::sleep(wait);
                return;
            }
            Reply::Huge { len, announce } => {
                let head = if announce {
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n")
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                        .to_owned()
                };
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if writer.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
                return;
            }
        }
    }
}

/// Reads one HTTP/1.1 request, or `None` when the connection ends or the
/// request is malformed.
pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut length = 0;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
        on_connection: 0,
    })
}
