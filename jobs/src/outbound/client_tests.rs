//! The client against real servers on 127.0.0.1 (random ports), each started by its test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::*;
use crate::outbound::EXCERPT_BYTES;

/// A test server: what it answers, how many connections it saw, and the request heads.
struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    heads: mpsc::UnboundedReceiver<String>,
}

/// Answers every request with `reply` (`None`: reads the request and never answers).
async fn serve(reply: Option<Vec<u8>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let (tx, heads) = mpsc::unbounded_channel();
    let (count, reply) = (connections.clone(), reply.map(Arc::new));
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(sock, reply.clone(), tx.clone()));
        }
    });
    Server {
        addr,
        connections,
        heads,
    }
}

async fn answer(
    mut sock: TcpStream,
    reply: Option<Arc<Vec<u8>>>,
    heads: mpsc::UnboundedSender<String>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = heads.send(String::from_utf8_lossy(&head).into_owned());
    match reply {
        Some(reply) => {
            let _ = sock.write_all(&reply).await;
        }
        // Hold the connection open, silent, until the client gives up.
        None => while matches!(sock.read(&mut buf).await, Ok(n) if n > 0) {},
    }
}

fn reply(status: &str, headers: &[&str], body: &[u8]) -> Option<Vec<u8>> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    Some(out)
}

fn client(allow: &str) -> Outbound {
    Outbound::new(Destinations::parse(allow).unwrap()).unwrap()
}

fn get(url: &str) -> OutboundRequest {
    OutboundRequest {
        method: Method::GET,
        url: url.parse().unwrap(),
        headers: HeaderMap::new(),
        body: Bytes::new(),
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn internal_literals_are_refused_without_connecting() {
    let server = serve(reply("200 OK", &[], b"ok")).await;
    let port = server.addr.port();
    let outbound = client("");
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let err = outbound.send(get(&url)).await.unwrap_err();
        assert!(
            matches!(err, SendError::Refused(Refused::Address { .. })),
            "{url}: {err:?}"
        );
        assert!(err.is_permanent());
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
    let server = serve(reply("200 OK", &[], b"ok")).await;
    let url = format!("http://localhost:{}/", server.addr.port());
    let err = client("").send(get(&url)).await.unwrap_err();
    assert_eq!(
        err,
        SendError::Refused(Refused::Resolved("localhost".into()))
    );
    assert_eq!(
        err.to_string(),
        "destination localhost refused: it resolves to no public address"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_allow_list_opens_loopback_by_network_or_by_name() {
    let server = serve(reply("200 OK", &[], b"ok")).await;
    let port = server.addr.port();
    let by_net = client("127.0.0.1/32");
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let response = by_net.send(get(&url)).await.unwrap();
        assert_eq!(response.status, 200, "{url}");
        assert_eq!(response.excerpt, Bytes::from_static(b"ok"));
    }
    let by_name = client("localhost");
    let url = format!("http://localhost:{port}/");
    assert_eq!(by_name.send(get(&url)).await.unwrap().status, 200);
    // Naming localhost does not open the address itself.
    let url = format!("http://127.0.0.1:{port}/");
    assert!(by_name.send(get(&url)).await.is_err());
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed() {
    let target = serve(reply("200 OK", &[], b"followed")).await;
    let location = format!("Location: http://127.0.0.1:{}/", target.addr.port());
    let server = serve(reply("302 Found", &[&location], b"")).await;
    let url = format!("http://127.0.0.1:{}/", server.addr.port());
    let response = client("127.0.0.1/32").send(get(&url)).await.unwrap();
    assert_eq!(response.status, 302);
    assert_eq!(response.location.as_deref(), Some(&location[10..]));
    assert!(response.excerpt.is_empty());
    assert_eq!(target.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_huge_body_yields_an_excerpt_of_exactly_excerpt_bytes() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let server = serve(reply("500 Internal Server Error", &[], &body)).await;
    let url = format!("http://127.0.0.1:{}/", server.addr.port());
    let response = client("127.0.0.1/32").send(get(&url)).await.unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(response.excerpt.len(), EXCERPT_BYTES);
    assert_eq!(response.excerpt[..], body[..EXCERPT_BYTES]);
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let mut server = serve(None).await;
    let url = format!("http://127.0.0.1:{}/", server.addr.port());
    let mut request = get(&url);
    request.timeout = Duration::from_millis(300);
    request
        .headers
        .insert(AUTHORIZATION, HeaderValue::from_static("Bearer sekrit"));
    let err = client("127.0.0.1/32").send(request).await.unwrap_err();
    assert_eq!(err, SendError::Timeout);
    assert!(!err.is_permanent());
    // The request did arrive: the timeout is the server's silence, not a failed connect.
    assert!(
        server
            .heads
            .recv()
            .await
            .unwrap()
            .starts_with("GET / HTTP/1.1")
    );
}

#[tokio::test]
async fn retry_after_and_content_type_are_read_from_the_answer() {
    let server = serve(reply(
        "503 Service Unavailable",
        &["Retry-After: 3", "Content-Type: text/plain"],
        b"busy",
    ))
    .await;
    let url = format!("http://127.0.0.1:{}/", server.addr.port());
    let response = client("127.0.0.1/32").send(get(&url)).await.unwrap();
    assert_eq!(response.status, 503);
    assert_eq!(response.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(response.content_type.as_deref(), Some("text/plain"));
}

#[tokio::test]
async fn the_request_carries_its_method_headers_body_and_user_agent() {
    let mut server = serve(reply("204 No Content", &[], b"")).await;
    let url = format!("http://127.0.0.1:{}/hook?x=1", server.addr.port());
    let mut request = get(&url);
    request.method = Method::POST;
    request.body = Bytes::from_static(b"{}");
    request
        .headers
        .insert("webhook-id", HeaderValue::from_static("msg_1"));
    let response = client("127.0.0.1/32").send(request).await.unwrap();
    assert_eq!(response.status, 204);
    let head = server.heads.recv().await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("post /hook?x=1 http/1.1\r\n"), "{head}");
    assert!(head.contains("\r\nwebhook-id: msg_1\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-length: 2\r\n"), "{head}");
    let agent = format!(
        "\r\nuser-agent: longshore/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(head.contains(&agent), "{head}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_without_secrets() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut request = get(&format!("http://127.0.0.1:{port}/?token=sekrit"));
    request
        .headers
        .insert(AUTHORIZATION, HeaderValue::from_static("Bearer sekrit"));
    let err = client("127.0.0.1/32").send(request).await.unwrap_err();
    assert!(matches!(err, SendError::Connect(_)), "{err:?}");
    assert!(!err.to_string().contains("sekrit"), "{err}");
}
