//! A std-only HTTP `CONNECT` proxy on loopback: it records each tunnel's
//! target and `Proxy-Authorization`, then pipes bytes both ways; or, when
//! told to refuse, answers every `CONNECT` with `403`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// The proxy; it serves until the test process ends.
pub struct ConnectProxy {
    addr: SocketAddr,
    tunnels: Arc<Mutex<Vec<Tunnel>>>,
}

/// One `CONNECT` the proxy was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// `host:port`, as the client asked.
    pub target: String,
    /// The `Proxy-Authorization` header, if sent.
    pub authorization: Option<String>,
}

impl ConnectProxy {
    /// A proxy that opens every tunnel asked for.
    pub fn start() -> ConnectProxy {
        Self::start_with(false)
    }

    /// A proxy that answers every `CONNECT` with `403 Forbidden`.
    pub fn refusing() -> ConnectProxy {
        Self::start_with(true)
    }

    #[track_caller]
    fn start_with(refuse: bool) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let seen = tunnels.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let seen = seen.clone();
                thread::spawn(move || {
                    let _ = tunnel(client, &seen, refuse);
                });
            }
        });
        ConnectProxy { addr, tunnels }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every `CONNECT` so far, in order.
    #[track_caller]
    pub fn tunnels(&self) -> Vec<Tunnel> {
        self.tunnels.lock().unwrap().clone()
    }
}

fn tunnel(client: TcpStream, seen: &Mutex<Vec<Tunnel>>, refuse: bool) -> io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_owned(),
        _ => return Ok(()),
    };
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("proxy-authorization") {
                authorization = Some(value.trim().to_owned());
            }
        }
    }
    seen.lock().unwrap().push(Tunnel {
        target: target.clone(),
        authorization,
    });
    let mut to_client = client;
    if refuse {
        to_client.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")?;
        return Ok(());
    }
    let upstream = TcpStream::connect(&target)?;
    to_client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let mut from_upstream = upstream.try_clone()?;
    let mut to_upstream = upstream;
    // Bytes the reader already buffered belong to the tunnel too.
    to_upstream.write_all(reader.buffer())?;
    let mut client_reads = reader.into_inner();
    thread::spawn(move || io::copy(&mut from_upstream, &mut to_client));
    io::copy(&mut client_reads, &mut to_upstream)?;
    Ok(())
}
