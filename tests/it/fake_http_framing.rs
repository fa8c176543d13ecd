//! `FakeServer` over raw TCP, HTTP framing: garbage, chunked bodies, cut
//! requests, keep-alive, pipelining, `Expect`, and clients that never finish
//! a request.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::fake::{assert_still_serving, req, request, start};
use magicbell_jwt::FakeServer;
use magicbell_jwt_test_support::raw_http::{closed, connect, read_answer, send};

// --- Garbage and framing ------------------------------------------------------------

#[test]
fn garbage_bytes_get_400_and_the_next_connection_is_served() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    stream.write_all(&[0x16, 0x03, 0x01, 0x00, 0xff]).unwrap(); // a TLS handshake
    let answer = read_answer(&mut stream, &mut Vec::new());
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        (
            "bad_request",
            "the connection sent 5 bytes that do not start an HTTP request"
        )
    );
    assert!(closed(&mut stream));
    let cases: [(&[u8], u16, &str); 11] = [
        (
            b"GET\r\n\r\n",
            400,
            "the request line \"GET\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project\r\n\r\n",
            400,
            "the request line \"GET /v2/jwt/project\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project HTTP/2\r\n\r\n",
            400,
            "the request line \"GET /v2/jwt/project HTTP/2\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"get /v2/jwt/project HTTP/1.1\r\n\r\n",
            400,
            "the request line \"get /v2/jwt/project HTTP/1.1\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1 extra\r\n\r\n",
            400,
            "the request line \"GET /v2/jwt/project HTTP/1.1 extra\" is not METHOD TARGET HTTP/1.1",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1\r\nno colon here\r\n\r\n",
            400,
            "the header line \"no colon here\" has no colon",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1\r\n: no name\r\n\r\n",
            400,
            "the header line \": no name\" has no valid name",
        ),
        (
            b"GET /v2/jwt/project HTTP/1.1\r\nname : x\r\n\r\n",
            400,
            "the header line \"name : x\" has no valid name",
        ),
        (
            b"POST /v2/jwt/project HTTP/1.1\r\ncontent-length: lots\r\n\r\n",
            400,
            "Content-Length \"lots\" is not a number",
        ),
        (
            b"POST /v2/jwt/project HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
            400,
            "Content-Length is sent more than once",
        ),
        // Not UTF-8: read with replacement characters, a path the fake lacks.
        (
            b"GET /v2/jwt/\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n",
            404,
            "no such path: /v2/jwt/\u{fffd}\u{fffd}",
        ),
    ];
    for (bad, status, message) in cases {
        let answer = send(&fake.base_url(), bad);
        let shown = String::from_utf8_lossy(bad);
        assert_eq!(answer.status, status, "{shown:?}");
        let code = if status == 400 {
            "bad_request"
        } else {
            "not_found"
        };
        assert_eq!(answer.error(), (code, message), "{shown:?}");
    }
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    let mut expected = vec![Some(400)];
    expected.extend(cases.iter().map(|(_, status, _)| Some(*status)));
    assert_eq!(statuses, expected);
    assert_eq!(fake.requests()[0], req("", "", Some(400)));
    assert_still_serving(&fake);
}

/// A request head for a chunked body on `path`, with `headers` added.
fn chunked_head(fake: &FakeServer, path: &str, headers: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n{headers}\r\n",
        fake.admin_token()
    )
}

#[test]
fn a_chunked_body_is_read_with_its_extensions_and_trailers_and_the_next_request_follows() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let mut buffer = Vec::new();
    // Three chunks (upper- and lower-case hex, an extension, a bare LF after
    // a size), an empty trailer section...
    let first = chunked_head(&fake, "/v2/jwt/project", "")
        + "8\r\n{\"name\":\r\nA;ext=1\r\n\"chunked\",\r\nc\n\"expiry\":60}\r\n0\r\n\r\n";
    // ...then a trailer field, and a zero-size line with an extension.
    let second = chunked_head(&fake, "/v2/jwt/user", "")
        + "12\r\n{\"email\":\"a@x.io\"}\r\n0;last\r\nx-checksum: 1\r\n\r\n";
    let mut all = first.into_bytes();
    all.extend(second.as_bytes());
    all.extend(request(&fake, "GET", "/v2/jwt/project", ""));
    stream.write_all(&all).unwrap();
    let created = read_answer(&mut stream, &mut buffer);
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 201);
    let listed = read_answer(&mut stream, &mut buffer);
    assert_eq!(listed.body["data"][0]["name"], "chunked");
    assert!(listed.body["data"][0]["expires_at"].is_string());
    assert_eq!(fake.user_tokens("a@x.io").len(), 1);
}

#[test]
fn a_chunked_body_of_64_kib_is_read_and_one_byte_more_is_413() {
    let fake = start();
    let skeleton = r#"{"name":"big","pad":""}"#;
    let body = format!(
        r#"{{"name":"big","pad":"{}"}}"#,
        "p".repeat(64 * 1024 - skeleton.len())
    );
    let chunks = |body: &str| {
        let (a, b) = body.split_at(40_000);
        format!("{:x}\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\n\r\n", a.len(), b.len())
    };
    let head = chunked_head(&fake, "/v2/jwt/project", "");
    let answer = send(&fake.base_url(), (head.clone() + &chunks(&body)).as_bytes());
    assert_eq!(answer.status, 201);
    let over = body.replacen("big", "bigg", 1);
    for bytes in [
        head.clone() + &chunks(&over),
        // A size past what a u64 holds.
        head.clone() + "10000000000000000000\r\n",
    ] {
        let mut stream = connect(&fake.base_url());
        stream.write_all(bytes.as_bytes()).unwrap();
        let answer = read_answer(&mut stream, &mut Vec::new());
        assert_eq!(
            answer.error(),
            (
                "payload_too_large",
                "the chunked body runs past 65536 bytes, the most the fake reads"
            )
        );
        assert!(closed(&mut stream));
    }
    assert_eq!(fake.project_tokens().len(), 1);
}

#[test]
fn chunked_framing_the_fake_cannot_follow_is_refused_and_the_connection_closed() {
    let fake = start();
    let head = chunked_head(&fake, "/v2/jwt/project", "");
    // A line of 16 KiB and a byte, its CR counted (not its LF); one of 16
    // KiB is read (below), arriving in two parts.
    let long = format!("5;{}\r\n", "x".repeat(16 * 1024 - 2));
    let cases: [(String, u16, &str); 7] = [
        (head.clone() + "zz\r\n", 400, "the chunk size \"zz\" is not a hexadecimal number"),
        (head.clone() + "+5\r\nhello\r\n", 400, "the chunk size \"+5\" is not a hexadecimal number"),
        (head.clone() + ";x\r\n", 400, "the chunk size \"\" is not a hexadecimal number"),
        (head.clone() + "5\r\nhello!\r\n", 400, "a chunk's data does not end with CRLF where its size says"),
        (head.clone() + &long, 400, "a line of the chunked body is over 16384 bytes"),
        (
            chunked_head(&fake, "/v2/jwt/project", "content-length: 5\r\n") + "5\r\nhello\r\n0\r\n\r\n",
            400,
            "Transfer-Encoding and Content-Length are both sent",
        ),
        (
            "POST /v2/jwt/project HTTP/1.1\r\ntransfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n".to_owned(),
            501,
            "the fake reads no transfer coding but chunked, not \"gzip,chunked\"",
        ),
    ];
    for (bytes, status, message) in cases {
        let mut stream = connect(&fake.base_url());
        stream.write_all(bytes.as_bytes()).unwrap();
        let answer = read_answer(&mut stream, &mut Vec::new());
        assert_eq!(answer.status, status, "{message}");
        assert_eq!(answer.error().1, message);
        assert!(closed(&mut stream), "{message}");
    }
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 400, 400, 400, 400, 400, 501].map(Some));
    assert!(fake.project_tokens().is_empty());
    let mut stream = connect(&fake.base_url());
    let longest = format!("c;{}", "x".repeat(16 * 1024 - 3));
    stream
        .write_all((head.clone() + &longest[..9000]).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let rest = format!("{}\r\n{{\"name\":\"x\"}}\r\n0\r\n\r\n", &longest[9000..]);
    stream.write_all(rest.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 201);
}

#[test]
fn a_chunked_body_cut_off_is_not_logged_and_one_sent_with_expect_gets_100_continue() {
    let fake = start();
    for cut in ["", "5\r\nhel", "5\r\nhello\r\n", "0\r\nx-trailer: 1\r\n"] {
        let mut stream = connect(&fake.base_url());
        let bytes = chunked_head(&fake, "/v2/jwt/project", "") + cut;
        stream.write_all(bytes.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(closed(&mut stream), "{cut:?}");
    }
    assert!(fake.requests().is_empty());
    let mut stream = connect(&fake.base_url());
    let head = chunked_head(&fake, "/v2/jwt/project", "expect: 100-continue\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream
        .write_all(b"c\r\n{\"name\":\"e\"}\r\n0\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 201);
}

#[test]
fn a_request_cut_off_midway_is_not_logged_and_stops_nothing() {
    let fake = start();
    {
        let mut stream = connect(&fake.base_url());
        stream
            .write_all(
                b"POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"na",
            )
            .unwrap();
    }
    {
        let mut stream = connect(&fake.base_url());
        stream.write_all(b"GET /v2/jwt/pro").unwrap();
    }
    assert_still_serving(&fake);
    assert_eq!(fake.requests(), [req("GET", "/v2/jwt/project", Some(200))]);
}

#[test]
fn mutated_and_random_requests_never_stop_the_fake() {
    let fake = start();
    let valid = request(
        &fake,
        "POST",
        "/v2/jwt/project",
        r#"{"name":"fuzz","expiry":60}"#,
    );
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let mut bytes = if round % 4 == 0 {
            (0..(next() % 300))
                .map(|_| next() as u8)
                .collect::<Vec<u8>>()
        } else {
            valid.clone()
        };
        for _ in 0..(next() % 4) {
            if bytes.is_empty() {
                break;
            }
            let i = (next() as usize) % bytes.len();
            match next() % 3 {
                0 => bytes[i] = next() as u8,
                1 => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, next() as u8),
            }
        }
        let mut stream = connect(&fake.base_url());
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
    assert_still_serving(&fake);
    for request in fake.requests() {
        assert!(request.status.is_some(), "{request:?}");
    }
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection_even_pipelined() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let mut buffer = Vec::new();
    stream
        .write_all(&request(
            &fake,
            "POST",
            "/v2/jwt/project",
            r#"{"name":"a"}"#,
        ))
        .unwrap();
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 201);
    let mut two = request(&fake, "POST", "/v2/jwt/project", r#"{"name":"b"}"#);
    two.extend(request(&fake, "GET", "/v2/jwt/project?limit=1", ""));
    stream.write_all(&two).unwrap();
    assert_eq!(read_answer(&mut stream, &mut buffer).status, 201);
    let list = read_answer(&mut stream, &mut buffer);
    assert_eq!(list.body["data"][0]["name"], "b");
    assert_eq!(fake.project_tokens().len(), 2);
}

#[test]
fn http_1_0_and_connection_close_end_the_connection_after_the_answer() {
    let fake = start();
    let admin = fake.admin_token().to_owned();
    for head in [
        format!("GET /v2/jwt/project HTTP/1.0\r\nauthorization: Bearer {admin}\r\n\r\n"),
        format!("GET /v2/jwt/project HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer {admin}\r\n\r\n"),
    ] {
        let mut stream = connect(&fake.base_url());
        stream.write_all(head.as_bytes()).unwrap();
        let answer = read_answer(&mut stream, &mut Vec::new());
        assert_eq!(answer.status, 200);
        assert!(closed(&mut stream), "{head}");
    }
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let fake = start();
    let mut stream = connect(&fake.base_url());
    let body = r#"{"name":"curl"}"#;
    let head = format!(
        "POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        fake.admin_token(),
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut stream, &mut Vec::new()).status, 201);
    // With the whole body sent already, no 100 Continue: the answer comes first.
    let whole = format!(
        "POST /v2/jwt/project HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n{body}",
        fake.admin_token(),
        body.len()
    );
    stream.write_all(whole.as_bytes()).unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 201");
}

// --- Lifetime --------------------------------------------------------------------------

#[test]
fn clients_that_never_send_or_stop_halfway_do_not_hold_drop_up() {
    let fake = start();
    let mut silent = connect(&fake.base_url());
    let mut half = connect(&fake.base_url());
    half.write_all(b"POST /v2/jwt/project HTTP/1.1\r\ncontent-le")
        .unwrap();
    // Both connections are being served (the fake accepted them) once a
    // third one's request is answered after they were opened.
    assert_still_serving(&fake);
    let addr = fake.base_url()["http://".len()..]
        .trim_end_matches("/v2")
        .to_owned();
    let began = Instant::now();
    drop(fake);
    let took = began.elapsed();
    assert!(took < Duration::from_secs(2), "Drop took {took:?}");
    // Their connections were shut down, not left to time out (the reads
    // would wait out PATIENCE and fail).
    assert!(closed(&mut silent));
    assert!(closed(&mut half));
    assert!(TcpStream::connect(&addr).is_err());
}
