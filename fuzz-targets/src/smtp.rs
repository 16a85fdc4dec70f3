//! What an SMTP server answers while Longshore hands it an email.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncTokioStream;
use longshore_jobs::email::smtp::converse_over;
use longshore_jobs::email::transport::Delivery;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

/// The message handed over (plain ASCII, so no SMTPUTF8 or 8BITMIME is needed).
const MESSAGE: &[u8] =
    b"From: a@example.com\r\nTo: b@example.net\r\nSubject: Hi\r\n\r\nHello\r\n.dot\r\n";

/// A server's replies to one message's conversation: the greeting, the EHLO replies (twice:
/// connect, then the PIPELINING probe), MAIL, RCPT, DATA and the end of the message, played
/// back by an in-memory server that reads and ignores what the client writes. Input: the
/// server's bytes.
///
/// Asserts that the outcome follows the replies: accepted only with a final 2xx reply (a
/// `354` or other 3xx after the message is not an acceptance), bounced only when some reply
/// was a 5xx (a bounce suppresses the recipient).
pub fn smtp_reply(data: &[u8]) {
    if whitespace_only_line(data) {
        return;
    }
    let outcome = runtime().block_on(conversation(data));
    match &outcome {
        Delivery::Accepted(reply) => {
            assert!(reply.starts_with('2'), "accepted on {reply:?}");
        }
        Delivery::Bounced(why) => {
            let any_5xx = data
                .split(|&b| b == b'\n')
                .any(|line| line.first() == Some(&b'5'));
            assert!(any_5xx, "bounced without a 5xx reply: {why}");
        }
        _ => {}
    }
}

/// lettre 0.11.23 (the latest) panics reading an EHLO reply with a line of only whitespace
/// (`250 \x0b`: `split_whitespace().next().unwrap()` in `ServerInfo::from_response`), found by
/// this target. The job runner turns the panic into a retry, so such a server defers mail
/// until the email dies; skipping these scripts keeps the target finding other defects.
fn whitespace_only_line(script: &[u8]) -> bool {
    String::from_utf8_lossy(script).split('\n').any(|line| {
        let text = line.get(4..).unwrap_or_default();
        !text.is_empty() && text.trim().is_empty()
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

async fn conversation(script: &[u8]) -> Delivery {
    let (client, mut server) = tokio::io::duplex(64 * 1024);
    let script = script.to_vec();
    let replies = tokio::spawn(async move {
        let (mut reads, mut writes) = tokio::io::split(&mut server);
        let play = async {
            let _ = writes.write_all(&script).await;
            let _ = writes.shutdown().await;
        };
        let drain = async {
            let mut sink = [0u8; 4096];
            while matches!(reads.read(&mut sink).await, Ok(n) if n > 0) {}
        };
        tokio::join!(play, drain);
    });
    let envelope = Envelope::new(
        Some("a@example.com".parse().expect("an address")),
        vec!["b@example.net".parse().expect("an address")],
    )
    .expect("an envelope");
    let outcome = converse_over(Box::new(Server(client)), &envelope, MESSAGE).await;
    let _ = replies.await;
    outcome
}

/// The client's end of the in-memory connection.
#[derive(Debug)]
struct Server(DuplexStream);

impl AsyncTokioStream for Server {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(([192, 0, 2, 25], 25)))
    }
}

impl AsyncRead for Server {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Server {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
