//! A real SMTP server for tests and benchmarks: speaks SMTP over TCP on a loopback port (EHLO,
//! HELO, MAIL, RCPT, DATA, RSET, NOOP, VRFY, QUIT; pipelining-safe: replies are written in order
//! and flushed only when no more commands are buffered), keeps every accepted message in memory,
//! and answers 4xx or 5xx on demand: for the next N messages, or for a given recipient. It can
//! also hold its final reply after storing a message (the message is accepted, the client does
//! not know yet), to test a client that dies in that window, or store a message and then close
//! the connection instead of replying (the client never learns the outcome).
//!
//! One thread per connection with buffered I/O: thousands of messages per second on loopback.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The server certificate and key of [`SmtpSink::start_tls`] (test-only; see `fixtures/`).
const SERVER_CERT: &[u8] = include_bytes!("../fixtures/smtp-server.pem");
const SERVER_KEY: &[u8] = include_bytes!("../fixtures/smtp-server.key");

/// Largest message accepted.
const MAX_MESSAGE: usize = 50 * 1024 * 1024;

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `MAIL FROM` address.
    pub mail_from: String,
    /// The `RCPT TO` addresses, in order.
    pub rcpt_to: Vec<String>,
    /// The message as transmitted (dot-unstuffed, CRLF line ends).
    pub data: Vec<u8>,
    /// When the final `250` was sent.
    pub at: Instant,
}

impl Received {
    /// The message as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// A reply to give instead of accepting.
#[derive(Debug, Clone)]
struct Refusal {
    code: u16,
    text: String,
}

#[derive(Default)]
struct Plan {
    /// Replies for the next messages (at the end of DATA), one each.
    next_messages: VecDeque<Refusal>,
    /// Replies to `RCPT TO` for these (lower-cased) addresses, every time.
    recipients: HashMap<String, Refusal>,
    /// How many of the next messages are stored and then answered by closing the connection.
    drop_after_data: usize,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    arrived: Condvar,
    plan: Mutex<Plan>,
    /// Messages refused at DATA, and RCPT commands refused.
    refused: AtomicUsize,
    connections: AtomicUsize,
    stop: AtomicBool,
    /// While true, the reply to each stored message waits (see [`SmtpSink::hold_replies`]).
    holding: Mutex<bool>,
    released: Condvar,
    /// Whether EHLO offers PIPELINING.
    no_pipelining: AtomicBool,
    /// STARTTLS with this server configuration, when set.
    tls: Option<Arc<rustls::ServerConfig>>,
    /// AUTH PLAIN/LOGIN with these credentials required before MAIL, when set (after STARTTLS).
    credentials: Option<(String, String)>,
    /// The open sessions' sockets, to close them on demand.
    open: Mutex<HashMap<usize, TcpStream>>,
}

/// A running sink; stopped on drop.
pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
}

impl SmtpSink {
    /// Starts a sink on a free loopback port.
    pub fn start() -> SmtpSink {
        Self::start_with(Shared::default())
    }

    /// Starts a sink whose EHLO does not offer PIPELINING (commands one at a time).
    pub fn start_without_pipelining() -> SmtpSink {
        let shared = Shared::default();
        shared.no_pipelining.store(true, Ordering::Release);
        Self::start_with(shared)
    }

    /// Starts a sink that offers STARTTLS (certificate for `127.0.0.1` and `localhost`, signed
    /// by [`SmtpSink::tls_ca_file`]) and, once encrypted, requires AUTH with `user`/`password`.
    pub fn start_tls(user: &str, password: &str) -> SmtpSink {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_slice_iter(SERVER_CERT)
            .collect::<Result<Vec<_>, _>>()
            .expect("test certificate");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(SERVER_KEY).expect("test key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("TLS server configuration");
        Self::start_with(Shared {
            tls: Some(Arc::new(config)),
            credentials: Some((user.to_owned(), password.to_owned())),
            ..Shared::default()
        })
    }

    /// The CA that signed [`SmtpSink::start_tls`]'s certificate, as a PEM file path (for
    /// `LONGSHORE_SMTP_CA_FILE`).
    pub fn tls_ca_file() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/smtp-ca.pem")
    }

    fn start_with(shared: Shared) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let shared = Arc::new(shared);
        let s = shared.clone();
        std::thread::Builder::new()
            .name("smtp-sink".into())
            .spawn(move || accept_loop(listener, s))
            .expect("start the SMTP sink");
        SmtpSink { port, shared }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:<port>` (plain, no auth): the value for `LONGSHORE_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every accepted message so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared
            .messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// How many messages were accepted.
    pub fn count(&self) -> usize {
        self.shared.messages.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Messages and recipients refused so far.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::Acquire)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Acquire)
    }

    /// Waits until at least `n` messages were accepted, or `timeout` passes; returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let Ok(mut messages) = self.shared.messages.lock() else {
            return Vec::new();
        };
        while messages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.shared.arrived.wait_timeout(messages, left) {
                Ok((m, _)) => messages = m,
                Err(_) => return Vec::new(),
            }
        }
        messages.clone()
    }

    /// Answers `code text` instead of accepting the next `n` messages (at the end of DATA), e.g.
    /// `451` for a transient failure or `550` for a permanent one.
    pub fn fail_next(&self, n: usize, code: u16, text: &str) {
        if let Ok(mut plan) = self.shared.plan.lock() {
            for _ in 0..n {
                plan.next_messages.push_back(Refusal {
                    code,
                    text: text.to_owned(),
                });
            }
        }
    }

    /// Answers `code text` to every `RCPT TO` naming `address` (case-insensitive).
    pub fn reject_recipient(&self, address: &str, code: u16, text: &str) {
        if let Ok(mut plan) = self.shared.plan.lock() {
            plan.recipients.insert(
                address.to_lowercase(),
                Refusal {
                    code,
                    text: text.to_owned(),
                },
            );
        }
    }

    /// From now on, stores each message and then holds the final `250` until
    /// [`SmtpSink::release_replies`]: the message counts as accepted, the client is left waiting.
    pub fn hold_replies(&self) {
        if let Ok(mut h) = self.shared.holding.lock() {
            *h = true;
        }
    }

    /// Sends the held replies (to the clients still connected) and stops holding.
    pub fn release_replies(&self) {
        if let Ok(mut h) = self.shared.holding.lock() {
            *h = false;
        }
        self.shared.released.notify_all();
    }

    /// Closes every open session, as a server does with connections idle past its timeout.
    pub fn close_connections(&self) {
        if let Ok(mut open) = self.shared.open.lock() {
            for (_, stream) in open.drain() {
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Stores each of the next `n` messages, then closes the connection without the final reply,
    /// as a server or network that fails in the window after the message was written: the sink
    /// has the message, the client cannot know it.
    pub fn drop_after_data(&self, n: usize) {
        if let Ok(mut plan) = self.shared.plan.lock() {
            plan.drop_after_data += n;
        }
    }

    /// Forgets every planned refusal and dropped reply.
    pub fn accept_all(&self) {
        if let Ok(mut plan) = self.shared.plan.lock() {
            *plan = Plan::default();
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.release_replies();
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.connections.fetch_add(1, Ordering::AcqRel);
        if let (Ok(mut open), Ok(clone)) = (shared.open.lock(), stream.try_clone()) {
            open.insert(id, clone);
        }
        let s = shared.clone();
        let _ = std::thread::Builder::new()
            .name("smtp-sink-conn".into())
            .spawn(move || {
                let _ = serve(stream, &s);
                if let Ok(mut open) = s.open.lock() {
                    open.remove(&id);
                }
            });
    }
}

/// One SMTP session.
fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let link = Duplex(Rc::new(RefCell::new(Link::Plain(stream))));
    let mut reader = BufReader::with_capacity(64 * 1024, link.clone());
    let mut out = BufWriter::with_capacity(16 * 1024, link.clone());
    out.write_all(b"220 longshore-testkit ESMTP sink\r\n")?;
    out.flush()?;
    let mut authenticated = false;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = Vec::with_capacity(512);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 || shared.stop.load(Ordering::Acquire) {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let cmd = text.trim_end();
        let verb = cmd
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                let mut reply = String::from("250-longshore-testkit\r\n");
                if !shared.no_pipelining.load(Ordering::Acquire) {
                    reply.push_str("250-PIPELINING\r\n");
                }
                if shared.tls.is_some() && !link.encrypted() {
                    reply.push_str("250-STARTTLS\r\n");
                }
                if shared.credentials.is_some() && link.encrypted() {
                    reply.push_str("250-AUTH PLAIN\r\n");
                }
                reply.push_str("250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n");
                out.write_all(reply.as_bytes())?
            }
            "HELO" => out.write_all(b"250 longshore-testkit\r\n")?,
            "STARTTLS" => match &shared.tls {
                Some(config) if !link.encrypted() => {
                    out.write_all(b"220 2.0.0 Ready to start TLS\r\n")?;
                    out.flush()?;
                    // Nothing sent before the handshake counts (RFC 3207).
                    reader = BufReader::with_capacity(64 * 1024, link.clone());
                    link.start_tls(config.clone())?;
                    (from, authenticated) = (None, false);
                    rcpts.clear();
                }
                _ => out.write_all(b"502 5.5.1 STARTTLS not available\r\n")?,
            },
            "AUTH" => {
                let granted = shared.credentials.as_ref().is_some_and(|(user, password)| {
                    link.encrypted()
                        && plain_credentials(cmd) == Some((user.clone(), password.clone()))
                });
                authenticated |= granted;
                out.write_all(if granted {
                    b"235 2.7.0 Authentication successful\r\n"
                } else {
                    b"535 5.7.8 Authentication credentials invalid\r\n"
                })?
            }
            "MAIL" if shared.tls.is_some() && !link.encrypted() => {
                out.write_all(b"530 5.7.0 Must issue a STARTTLS command first\r\n")?
            }
            "MAIL" if shared.credentials.is_some() && !authenticated => {
                out.write_all(b"530 5.7.0 Authentication required\r\n")?
            }
            "MAIL" => {
                from = Some(path_arg(cmd));
                rcpts.clear();
                out.write_all(b"250 2.1.0 Ok\r\n")?;
            }
            "RCPT" if from.is_none() => out.write_all(b"503 5.5.1 MAIL first\r\n")?,
            "RCPT" => {
                let addr = path_arg(cmd);
                let refusal = shared
                    .plan
                    .lock()
                    .ok()
                    .and_then(|p| p.recipients.get(&addr.to_lowercase()).cloned());
                match refusal {
                    Some(r) => {
                        shared.refused.fetch_add(1, Ordering::AcqRel);
                        write!(out, "{} {}\r\n", r.code, r.text)?;
                    }
                    None => {
                        rcpts.push(addr);
                        out.write_all(b"250 2.1.5 Ok\r\n")?;
                    }
                }
            }
            "DATA" if from.is_none() || rcpts.is_empty() => {
                out.write_all(b"503 5.5.1 RCPT first\r\n")?
            }
            "DATA" => {
                out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
                out.flush()?;
                let data = read_data(&mut reader)?;
                let (refusal, drop_reply) = match shared.plan.lock() {
                    Ok(mut p) => {
                        let refusal = p.next_messages.pop_front();
                        let drop_reply = refusal.is_none() && p.drop_after_data > 0;
                        if drop_reply {
                            p.drop_after_data -= 1;
                        }
                        (refusal, drop_reply)
                    }
                    Err(_) => (None, false),
                };
                match (refusal, data) {
                    (_, None) => out.write_all(b"552 5.3.4 Message too big\r\n")?,
                    (Some(r), Some(_)) => {
                        shared.refused.fetch_add(1, Ordering::AcqRel);
                        write!(out, "{} {}\r\n", r.code, r.text)?;
                    }
                    (None, Some(data)) => {
                        let n = {
                            let mut messages = shared
                                .messages
                                .lock()
                                .map_err(|_| std::io::Error::other("poisoned"))?;
                            messages.push(Received {
                                mail_from: from.clone().unwrap_or_default(),
                                rcpt_to: std::mem::take(&mut rcpts),
                                data,
                                at: Instant::now(),
                            });
                            messages.len()
                        };
                        shared.arrived.notify_all();
                        if drop_reply {
                            // Stored, never answered: the session ends here.
                            return link.shutdown();
                        }
                        wait_while_held(shared);
                        write!(out, "250 2.0.0 Ok: queued as {n}\r\n")?;
                    }
                }
                from = None;
                rcpts.clear();
            }
            "RSET" => {
                from = None;
                rcpts.clear();
                out.write_all(b"250 2.0.0 Ok\r\n")?;
            }
            "NOOP" => out.write_all(b"250 2.0.0 Ok\r\n")?,
            "VRFY" => out.write_all(b"252 2.0.0 Cannot VRFY\r\n")?,
            "QUIT" => {
                out.write_all(b"221 2.0.0 Bye\r\n")?;
                out.flush()?;
                return Ok(());
            }
            _ => out.write_all(b"500 5.5.2 Command not recognised\r\n")?,
        }
        // Pipelining: answer everything buffered before flushing.
        if reader.buffer().is_empty() {
            out.flush()?;
        }
    }
}

/// `AUTH PLAIN <base64 of authzid NUL user NUL password>` (the initial-response form).
fn plain_credentials(cmd: &str) -> Option<(String, String)> {
    use base64::Engine;
    let mut words = cmd.split_whitespace().skip(1);
    if !words.next()?.eq_ignore_ascii_case("PLAIN") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(words.next()?)
        .ok()?;
    let mut parts = raw.split(|&b| b == 0).skip(1);
    let user = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let password = String::from_utf8(parts.next()?.to_vec()).ok()?;
    Some((user, password))
}

/// A session's connection, plain until STARTTLS; shared by its buffered reader and writer.
#[derive(Clone)]
struct Duplex(Rc<RefCell<Link>>);

enum Link {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
    Closed,
}

impl Duplex {
    fn encrypted(&self) -> bool {
        matches!(*self.0.borrow(), Link::Tls(_))
    }

    /// Closes the connection at once, whatever is buffered.
    fn shutdown(&self) -> std::io::Result<()> {
        match &*self.0.borrow() {
            Link::Plain(s) => s.shutdown(std::net::Shutdown::Both),
            Link::Tls(s) => s.sock.shutdown(std::net::Shutdown::Both),
            Link::Closed => Ok(()),
        }
    }

    fn start_tls(&self, config: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
        let link = std::mem::replace(&mut *self.0.borrow_mut(), Link::Closed);
        let Link::Plain(tcp) = link else {
            return Err(std::io::Error::other("already encrypted"));
        };
        let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
        *self.0.borrow_mut() = Link::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
        Ok(())
    }
}

impl std::io::Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Link::Plain(s) => s.read(buf),
            Link::Tls(s) => s.read(buf),
            Link::Closed => Ok(0),
        }
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Link::Plain(s) => s.write(buf),
            Link::Tls(s) => s.write(buf),
            Link::Closed => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut *self.0.borrow_mut() {
            Link::Plain(s) => s.flush(),
            Link::Tls(s) => s.flush(),
            Link::Closed => Ok(()),
        }
    }
}

/// Blocks while replies are held.
fn wait_while_held(shared: &Shared) {
    let Ok(mut held) = shared.holding.lock() else {
        return;
    };
    while *held && !shared.stop.load(Ordering::Acquire) {
        match shared
            .released
            .wait_timeout(held, Duration::from_millis(100))
        {
            Ok((h, _)) => held = h,
            Err(_) => return,
        }
    }
}

/// The address inside `<…>` of `MAIL FROM:<a@b> SIZE=…` or `RCPT TO:<a@b>`.
fn path_arg(cmd: &str) -> String {
    match (cmd.find('<'), cmd.find('>')) {
        (Some(a), Some(b)) if b > a => cmd[a + 1..b].to_owned(),
        _ => cmd
            .split_once(':')
            .map(|(_, r)| r.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// Reads DATA up to the lone `.` line, undoing dot-stuffing; `None` if it is too large.
fn read_data(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    // Lines are read straight into the message (one copy), then checked in place.
    let mut data = Vec::with_capacity(64 * 1024);
    let mut too_big = false;
    loop {
        let start = data.len();
        if reader.read_until(b'\n', &mut data)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed in DATA",
            ));
        }
        let line = &data[start..];
        if line == b".\r\n" || line == b".\n" {
            data.truncate(start);
            return Ok((!too_big).then_some(data));
        }
        if line.starts_with(b".") {
            data.remove(start);
        }
        if data.len() > MAX_MESSAGE {
            too_big = true;
            data.truncate(start);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::SmtpSink;

    fn replies(reader: &mut BufReader<TcpStream>, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            // Multi-line replies (`250-…`) count once, at their last line.
            if line.as_bytes().get(3) != Some(&b'-') {
                out.push(line.trim_end().to_owned());
            }
        }
        out
    }

    #[test]
    fn pipelined_commands_are_answered_in_order_and_refusals_happen_on_demand() {
        let sink = SmtpSink::start();
        sink.reject_recipient("gone@example.com", 550, "5.1.1 No such user");
        sink.fail_next(1, 451, "4.7.1 Later");
        let mut stream = TcpStream::connect(("127.0.0.1", sink.port())).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        assert!(replies(&mut reader, 1)[0].starts_with("220"));
        let one = b"EHLO t\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<gone@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";
        stream.write_all(one).unwrap();
        let r = replies(&mut reader, 5);
        let codes: Vec<&str> = r.iter().map(|l| &l[..3]).collect();
        assert_eq!(codes, ["250", "250", "550", "250", "354"], "{r:?}");
        stream
            .write_all(b"Subject: x\r\n\r\n..dot\r\n.\r\n")
            .unwrap();
        assert!(
            replies(&mut reader, 1)[0].starts_with("451"),
            "the planned transient failure"
        );
        stream
            .write_all(
                b"RSET\r\nNOOP\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n",
            )
            .unwrap();
        assert_eq!(replies(&mut reader, 5).last().map(|l| &l[..3]), Some("354"));
        stream
            .write_all(b"Subject: y\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
            .unwrap();
        let r = replies(&mut reader, 2);
        assert!(r[0].starts_with("250") && r[1].starts_with("221"), "{r:?}");
        let got = sink.wait_for(1, Duration::from_secs(5));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].rcpt_to, ["b@example.com"]);
        assert_eq!(got[0].text(), "Subject: y\r\n\r\n.dot\r\n", "dot-unstuffed");
        assert_eq!(sink.refused(), 2);
    }

    #[test]
    fn a_dropped_reply_stores_the_message_and_closes_the_session() {
        let sink = SmtpSink::start();
        sink.drop_after_data(1);
        let mut stream = TcpStream::connect(("127.0.0.1", sink.port())).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        assert!(replies(&mut reader, 1)[0].starts_with("220"));
        stream
            .write_all(
                b"EHLO t\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n",
            )
            .unwrap();
        assert_eq!(replies(&mut reader, 4).last().map(|l| &l[..3]), Some("354"));
        stream
            .write_all(b"Subject: z\r\n\r\nbody\r\n.\r\n")
            .unwrap();
        let mut rest = String::new();
        let n = std::io::Read::read_to_string(&mut reader, &mut rest).unwrap_or(0);
        assert_eq!(
            (n, rest.as_str()),
            (0, ""),
            "no reply, only the end of the session"
        );
        assert_eq!(sink.wait_for(1, Duration::from_secs(5)).len(), 1, "stored");
        assert_eq!(sink.refused(), 0);
    }
}
