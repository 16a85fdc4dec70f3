//! The SMTP client: lettre's connections (connect, implicit TLS or STARTTLS, EHLO, AUTH, reply
//! parsing) in a pool of our own, with a lean conversation per message.
//!
//! lettre's pooled transport costs five round trips per message (a NOOP at every checkout, then
//! MAIL, RCPT, DATA and the message) and escapes the message for SMTP one byte at a time, which
//! was a sixth of a worker's CPU at 2,000 messages of 45 KB. Here a message takes two round
//! trips: MAIL, RCPT and DATA go together when the server offers PIPELINING (RFC 2920), then
//! the message, dot-stuffed with `memchr`. A connection idle for a while is checked with NOOP
//! before reuse; a reused connection that turns out closed before the server said anything
//! about the message is replaced once, since nothing was handed over.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, Tls, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::{Response, Severity};
use tokio::sync::Semaphore;

use super::transport::{Delivery, classify};

/// Where and how to connect, from `LONGSHORE_SMTP_URL` (the same URL forms as lettre's
/// `from_url`: `smtp://host:25`, `smtp://host:587?tls=required|opportunistic`,
/// `smtps://host:465`, credentials in the URL or given apart).
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub hello: ClientId,
    pub credentials: Option<Credentials>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        write!(f, "Server({}:{})", self.host, self.port)
    }
}

impl Server {
    /// Parses the URL; errors never echo it (it may hold a password). `extra_roots` (PEM) are
    /// trusted for the server's certificate besides the system's.
    pub fn from_url(url: &str, extra_roots: Option<&[u8]>) -> Result<Server, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let tls_mode = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let params = || {
            let mut builder = TlsParameters::builder(host.clone());
            if let Some(pem) = extra_roots {
                let root = Certificate::from_pem(pem)
                    .map_err(|e| format!("the SMTP CA file is not a PEM certificate: {e}"))?;
                builder = builder.add_root_certificate(root);
            }
            builder.build().map_err(|e| e.to_string())
        };
        let (tls, default_port) = match (parsed.scheme(), tls_mode.as_deref()) {
            ("smtp", None) => (Tls::None, 25),
            ("smtp", Some("required")) => (Tls::Required(params()?), 587),
            ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
            ("smtps", None) => (Tls::Wrapper(params()?), 465),
            (scheme, tls) => {
                return Err(format!(
                    "unknown scheme {scheme:?} or tls parameter {tls:?} (smtp://, smtp://…?tls=required|opportunistic, smtps://)"
                ));
            }
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!parsed.username().is_empty()).then(|| {
            Credentials::new(
                decode(parsed.username()),
                decode(parsed.password().unwrap_or("")),
            )
        });
        let path = parsed.path().trim_matches('/');
        let hello = if path.is_empty() {
            ClientId::default()
        } else {
            ClientId::Domain(path.to_owned())
        };
        Ok(Server {
            port: parsed.port().unwrap_or(default_port),
            host,
            tls,
            hello,
            credentials,
        })
    }
}

/// A pooled connection and what the server said it can do.
struct Conn {
    inner: AsyncSmtpConnection,
    pipelining: bool,
    last_used: Instant,
}

/// How a conversation failed.
enum Failure {
    /// The connection failed before any reply about this message: nothing was handed over, so
    /// another connection may try.
    Stale(SmtpError),
    /// The server refused, or the connection failed once the message was under way (before
    /// the message was written).
    Smtp(SmtpError),
    /// No reply came after the message started going out (the connection dropped, the reply was
    /// unreadable, or it was no answer to a message): the server may have accepted it.
    Unanswered(String),
    /// Our side cannot hold this conversation (e.g. 8-bit text for a 7-bit server).
    Client(String),
    /// `ready` refused: nothing was transmitted.
    NotSent(String),
}

/// Connections kept open between messages, and a bound on concurrent conversations.
pub struct SmtpPool {
    server: Server,
    idle: Mutex<Vec<Conn>>,
    slots: Semaphore,
    /// Idle longer than this, a connection is checked with NOOP before it is used.
    check_after: Duration,
    /// Idle longer than this, a connection is closed instead of used.
    idle_timeout: Duration,
    /// Bounds connecting.
    connect_timeout: Duration,
}

impl SmtpPool {
    /// A pool of at most `size` connections to `server`.
    pub fn new(server: Server, size: usize, connect_timeout: Duration) -> SmtpPool {
        SmtpPool {
            server,
            idle: Mutex::new(Vec::with_capacity(size)),
            slots: Semaphore::new(size),
            check_after: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            connect_timeout,
        }
    }

    /// Hands `message` over for `envelope`. `ready` runs once the server has agreed to take the
    /// message (354 after DATA), right before the message is written; unless it answers `Ok`,
    /// nothing is written and the connection is dropped, which aborts the transaction. Once it
    /// answered `Ok`, a conversation that ends without a reply is
    /// [`Delivery::Unconfirmed`], never [`Delivery::Deferred`].
    pub async fn send(
        &self,
        envelope: &Envelope,
        message: &[u8],
        ready: impl Future<Output = Result<(), String>>,
    ) -> Delivery {
        let Ok(_slot) = self.slots.acquire().await else {
            return Delivery::Deferred("the SMTP pool is closed".into());
        };
        let payload = match Payload::new(message) {
            Ok(p) => p,
            Err(why) => return Delivery::Failed(why),
        };
        let mut ready = Some(ready);
        // A reused connection may have been closed by the server meanwhile; a fresh one may not.
        for fresh in [false, true] {
            let (mut conn, reused) = match self.checkout(fresh).await {
                Ok(c) => c,
                // Refusals here (TLS, AUTH) are about our session, not the recipients: never a
                // bounce that would suppress an address.
                Err(e) => {
                    return Delivery::Deferred(format!("could not open an SMTP session: {e}"));
                }
            };
            // On any failure the connection is dropped, not pooled: closing it also aborts a
            // transaction the server may be in.
            match converse(&mut conn, envelope, &payload, &mut ready).await {
                Err(Failure::Stale(e)) if reused => {
                    tracing::debug!(error = %e, "pooled SMTP connection was closed; reconnecting");
                }
                result => {
                    if result.is_ok() {
                        conn.last_used = Instant::now();
                        self.lock_idle().push(conn);
                    }
                    return outcome(result);
                }
            }
        }
        Delivery::Deferred("the SMTP server closed every connection".into())
    }

    /// A connection: an idle one (checked if idle for a while) unless `fresh`, else a new one.
    /// Also says whether it was reused.
    async fn checkout(&self, fresh: bool) -> Result<(Conn, bool), SmtpError> {
        if !fresh {
            loop {
                let next = self.lock_idle().pop();
                let Some(mut conn) = next else { break };
                let idle = conn.last_used.elapsed();
                if idle > self.idle_timeout {
                    conn.inner.abort().await;
                    continue;
                }
                if idle > self.check_after && !conn.inner.test_connected().await {
                    continue;
                }
                return Ok((conn, true));
            }
        }
        Ok((self.connect().await?, false))
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Connects, encrypts as configured, learns whether the server pipelines, authenticates.
    async fn connect(&self) -> Result<Conn, SmtpError> {
        let s = &self.server;
        let wrapper = match &s.tls {
            Tls::Wrapper(p) => Some(p.clone()),
            _ => None,
        };
        let mut inner = AsyncSmtpConnection::connect_tokio1(
            (s.host.as_str(), s.port),
            Some(self.connect_timeout),
            &s.hello,
            wrapper,
            None,
        )
        .await?;
        match &s.tls {
            Tls::Required(p) => inner.starttls(p.clone(), &s.hello).await?,
            Tls::Opportunistic(p) if inner.can_starttls() => {
                inner.starttls(p.clone(), &s.hello).await?
            }
            _ => {}
        }
        session(inner, &s.hello, s.credentials.as_ref()).await
    }
}

/// Learns whether the server pipelines and authenticates, on a connection that is open (and
/// encrypted as configured).
async fn session(
    mut inner: AsyncSmtpConnection,
    hello: &ClientId,
    credentials: Option<&Credentials>,
) -> Result<Conn, SmtpError> {
    // lettre keeps the EHLO reply's extensions it knows, and PIPELINING is not one of them:
    // ask again (EHLO may be repeated; it resets no more than RSET does).
    let ehlo = inner.command(Ehlo::new(hello.clone())).await?;
    let pipelining = ehlo
        .message()
        .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
    if let Some(credentials) = credentials {
        inner.auth(DEFAULT_MECHANISMS, credentials).await?;
    }
    Ok(Conn {
        inner,
        pipelining,
        last_used: Instant::now(),
    })
}

/// The message, checked once for what the conversation needs to know.
struct Payload<'a> {
    text: &'a str,
    eight_bit: bool,
}

impl<'a> Payload<'a> {
    fn new(message: &'a [u8]) -> Result<Payload<'a>, String> {
        let text = std::str::from_utf8(message)
            .map_err(|_| "the message is not valid UTF-8".to_owned())?;
        Ok(Payload {
            text,
            eight_bit: !text.is_ascii(),
        })
    }
}

/// The message as it goes on the wire, written straight into the command buffer: SMTP
/// transparency (RFC 5321 §4.5.2: a line starting with `.` gets another) and the final
/// `CRLF.CRLF`.
struct DotStuffed<'a>(&'a str);

impl std::fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0;
        if text.starts_with('.') {
            f.write_str(".")?;
        }
        let mut from = 0;
        for at in memchr::memmem::find_iter(text.as_bytes(), b"\n.") {
            f.write_str(&text[from..=at])?;
            f.write_str(".")?;
            from = at + 1;
        }
        f.write_str(&text[from..])?;
        if !text.ends_with("\r\n") {
            f.write_str("\r\n")?;
        }
        f.write_str(".\r\n")
    }
}

/// The whole exchange for one message on `conn`.
async fn converse<F: Future<Output = Result<(), String>>>(
    conn: &mut Conn,
    envelope: &Envelope,
    payload: &Payload<'_>,
    ready: &mut Option<F>,
) -> Result<Response, Failure> {
    let c = &mut conn.inner;
    let mut params = Vec::new();
    let non_ascii = |a: &Address| !AsRef::<str>::as_ref(a).is_ascii();
    if envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii) {
        if !c.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Client(
                "the envelope has non-ASCII addresses and the server does not support SMTPUTF8"
                    .into(),
            ));
        }
        params.push(MailParameter::SmtpUtfEight);
    }
    if payload.eight_bit {
        if !c.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failure::Client(
                "the message has 8-bit text and the server does not support 8BITMIME".into(),
            ));
        }
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mail = Mail::new(envelope.from().cloned(), params);
    let rcpts: Vec<Rcpt> = envelope
        .to()
        .iter()
        .map(|to: &Address| Rcpt::new(to.clone(), Vec::new()))
        .collect();
    // Until the first reply, a broken connection means it was already gone.
    let first = |e: SmtpError| {
        if is_reply(&e) {
            Failure::Smtp(e)
        } else {
            Failure::Stale(e)
        }
    };
    if conn.pipelining {
        let mut batch = mail.to_string();
        for r in &rcpts {
            batch.push_str(&r.to_string());
        }
        batch.push_str(&Data.to_string());
        // MAIL's and every RCPT's reply are read; the first refusal is the outcome.
        let mut refusal = match c.command(Verbatim(&batch)).await {
            Ok(_) => None,
            Err(e) if is_reply(&e) => Some(e),
            Err(e) => return Err(Failure::Stale(e)),
        };
        for _ in &rcpts {
            match c.read_response().await {
                Ok(_) => {}
                Err(e) if is_reply(&e) => {
                    refusal.get_or_insert(e);
                }
                Err(e) => return Err(Failure::Smtp(refusal.unwrap_or(e))),
            }
        }
        if let Some(e) = refusal {
            // DATA's reply is not awaited: the connection is dropped, which also ends a DATA
            // phase that a server accepted for the other recipients.
            return Err(Failure::Smtp(e));
        }
        c.read_response().await.map_err(Failure::Smtp)?;
    } else {
        c.command(mail).await.map_err(first)?;
        for r in rcpts {
            c.command(r).await.map_err(Failure::Smtp)?;
        }
        c.command(Data).await.map_err(Failure::Smtp)?;
    }
    if let Some(ready) = ready.take()
        && let Err(why) = ready.await
    {
        // The server waits for the message; dropping the connection aborts the transaction.
        return Err(Failure::NotSent(why));
    }
    // From here the server may end up with the message: only a reply says it did not. lettre
    // writes and reads in one call, so a failure while writing (the end of the message may not
    // have reached the server) cannot be told from one while waiting for the reply; both count
    // as unanswered.
    let reply = c.command(DotStuffed(payload.text)).await.map_err(|e| {
        if is_reply(&e) {
            Failure::Smtp(e)
        } else {
            Failure::Unanswered(e.to_string())
        }
    })?;
    accepted(reply)
}

/// The reply to the end of a message as an outcome: lettre counts a 3xx as positive, but only
/// a 2xx accepts a message (RFC 5321 §4.3.2); after anything else (a fuzzed `354` found it)
/// what the server did is unknown.
fn accepted(reply: Response) -> Result<Response, Failure> {
    if reply.code().severity == Severity::PositiveCompletion {
        return Ok(reply);
    }
    Err(Failure::Unanswered(format!(
        "the server answered `{}` to the end of the message",
        reply_text(&reply)
    )))
}

/// What a conversation's end means for the email (a stale reused connection aside, which
/// [`SmtpPool::send`] retries on a fresh one).
fn outcome(result: Result<Response, Failure>) -> Delivery {
    match result {
        Ok(reply) => Delivery::Accepted(reply_text(&reply)),
        Err(Failure::Stale(e) | Failure::Smtp(e)) => classify(&e),
        Err(Failure::Unanswered(e)) => {
            Delivery::Unconfirmed(format!("no reply after the message was written: {e}"))
        }
        Err(Failure::Client(why)) => Delivery::Failed(why),
        Err(Failure::NotSent(why)) => Delivery::NotSent(why),
    }
}

/// One message's whole conversation with a server already connected on `stream`, as
/// [`SmtpPool::send`] holds it on a fresh connection without TLS or AUTH: greeting, EHLO (twice,
/// for PIPELINING), MAIL, RCPT, DATA, the message, and the outcome. For the fuzz target that
/// plays a hostile server's replies; not part of the API.
#[doc(hidden)]
pub async fn converse_over(
    stream: Box<dyn AsyncTokioStream>,
    envelope: &Envelope,
    message: &[u8],
) -> Delivery {
    let payload = match Payload::new(message) {
        Ok(p) => p,
        Err(why) => return Delivery::Failed(why),
    };
    let hello = ClientId::Domain("fuzz.invalid".into());
    let session = async {
        let inner = AsyncSmtpConnection::connect_with_transport(stream, &hello).await?;
        session(inner, &hello, None).await
    };
    let mut conn = match session.await {
        Ok(c) => c,
        Err(e) => return Delivery::Deferred(format!("could not open an SMTP session: {e}")),
    };
    let mut ready = Some(std::future::ready(Ok(())));
    outcome(converse(&mut conn, envelope, &payload, &mut ready).await)
}

/// Text written to the server as it is.
struct Verbatim<'a>(&'a str);

impl std::fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A 4xx or 5xx reply, as opposed to a connection or protocol failure.
fn is_reply(e: &SmtpError) -> bool {
    e.is_transient() || e.is_permanent()
}

fn reply_text(reply: &Response) -> String {
    let text: Vec<&str> = reply.message().collect();
    format!("{} {}", reply.code(), text.join(" "))
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_terminates() {
        let dot_stuff = |text: &str| DotStuffed(text).to_string();
        assert_eq!(dot_stuff("a\r\nb\r\n"), "a\r\nb\r\n.\r\n");
        assert_eq!(
            dot_stuff(".a\r\n..b\r\nc.\r\n."),
            "..a\r\n...b\r\nc.\r\n..\r\n.\r\n"
        );
        assert_eq!(dot_stuff("no newline"), "no newline\r\n.\r\n");
    }

    #[test]
    fn only_a_2xx_after_the_message_accepts_it() {
        use lettre::transport::smtp::response::{Category, Code, Detail};
        let reply = |severity| {
            let code = Code::new(severity, Category::MailSystem, Detail::Four);
            Response::new(code, vec!["go ahead".into()])
        };
        let ok = outcome(accepted(reply(Severity::PositiveCompletion)));
        assert_eq!(ok, Delivery::Accepted("254 go ahead".into()));
        match outcome(accepted(reply(Severity::PositiveIntermediate))) {
            Delivery::Unconfirmed(why) => assert!(why.contains("354 go ahead"), "{why}"),
            other => panic!("a 354 after the message was taken as {other:?}"),
        }
    }

    #[test]
    fn urls_pick_port_tls_and_credentials() {
        let s = Server::from_url("smtp://mail.example.com", None).unwrap();
        assert_eq!((s.host.as_str(), s.port), ("mail.example.com", 25));
        assert!(matches!(s.tls, Tls::None) && s.credentials.is_none());
        let s = Server::from_url("smtp://u%40x:p%2Fw@mail.example.com?tls=required", None).unwrap();
        assert_eq!(s.port, 587);
        assert!(matches!(s.tls, Tls::Required(_)));
        assert_eq!(
            s.credentials,
            Some(Credentials::new("u@x".into(), "p/w".into()))
        );
        let s = Server::from_url("smtps://mail.example.com:2465/relay.example.org", None).unwrap();
        assert_eq!(s.port, 2465);
        assert!(matches!(s.tls, Tls::Wrapper(_)));
        assert_eq!(s.hello, ClientId::Domain("relay.example.org".into()));
        let e =
            Server::from_url("smtp://u:secret@mail.example.com?tls=sometimes", None).unwrap_err();
        assert!(!e.contains("secret"));
        assert!(Server::from_url("http://mail.example.com", None).is_err());
    }
}
