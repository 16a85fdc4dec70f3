//! A TCP proxy between the workers and the SMTP sink that can drop connections, the way a
//! flaky network or an overloaded relay does. The sink (testkit) answers 4xx on demand; this
//! adds the failures it cannot: connections closed at any point of a conversation.
//!
//! While dropping, open sessions are closed at once, and each new connection is either closed
//! as soon as it is accepted (nothing reaches the sink) or carried until the sink's reply to
//! the end of DATA, which is swallowed and the connection closed: the sink has stored the
//! message, the worker never learns it (the window after DATA that SMTP cannot make safe).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the sink writes after storing a message (`250 2.0.0 Ok: queued as n`).
const STORED_REPLY: &[u8] = b"Ok: queued";

struct Shared {
    upstream: u16,
    dropping: AtomicBool,
    /// Bumped when dropping starts: every open session ends.
    cut: watch::Sender<u64>,
    accepted: AtomicU64,
    /// Replies to a stored message that were swallowed.
    swallowed: AtomicU64,
}

/// The running proxy; stops when dropped.
pub struct SmtpProxy {
    pub port: u16,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for SmtpProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SmtpProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:<upstream>`.
    pub async fn start(upstream: u16) -> anyhow::Result<SmtpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            upstream,
            dropping: AtomicBool::new(false),
            cut: watch::channel(0).0,
            accepted: AtomicU64::new(0),
            swallowed: AtomicU64::new(0),
        });
        let s = shared.clone();
        let server = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = s.accepted.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(session(client, s.clone(), n));
            }
        });
        Ok(SmtpProxy {
            port,
            shared,
            server,
        })
    }

    /// `smtp://127.0.0.1:<port>`: the value for `LONGSHORE_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Starts or stops dropping connections.
    pub fn set_dropping(&self, on: bool) {
        self.shared.dropping.store(on, Ordering::Release);
        if on {
            self.shared.cut.send_modify(|g| *g += 1);
        }
    }

    /// How many stored messages' final replies were swallowed so far.
    pub fn swallowed(&self) -> u64 {
        self.shared.swallowed.load(Ordering::Relaxed)
    }
}

/// One proxied connection.
async fn session(client: TcpStream, shared: Arc<Shared>, n: u64) {
    // Half of the connections opened while dropping never reach the sink.
    if shared.dropping.load(Ordering::Acquire) && n.is_multiple_of(2) {
        return;
    }
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", shared.upstream)).await else {
        return;
    };
    let mut cut = shared.cut.subscribe();
    cut.mark_unchanged();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let up = tokio::io::copy(&mut client_read, &mut upstream_write);
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match upstream_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if shared.dropping.load(Ordering::Acquire)
                && chunk.windows(STORED_REPLY.len()).any(|w| w == STORED_REPLY)
            {
                shared.swallowed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if client_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    // Whichever side ends first ends the session; dropping both halves closes both sockets.
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cut.changed() => {}
    }
}
