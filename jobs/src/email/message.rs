//! Building the MIME message that is sent: `multipart/alternative` (text + HTML) inside
//! `multipart/mixed` when there are attachments; the stable Message-ID; Date; and the RFC 8058
//! one-click unsubscribe headers. The HTML of the sent copy has its links rewritten and the open
//! pixel added; names and subjects in any script are encoded by lettre (RFC 2047, UTF-8 bodies).

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as MimeAttachment, MultiPart, SinglePart};

use super::address::{self, Recipient};
use super::model::Email;
use super::tokens::{Claims, KeyRing, TokenKind};
use super::{body, links};

/// A file to attach.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What tracking needs: the keys, the public base URL, and the build time the tokens carry.
#[derive(Debug, Clone, Copy)]
pub struct Tracking<'a> {
    pub keys: &'a KeyRing,
    pub base_url: &'a str,
    pub issued_at: i64,
}

impl Tracking<'_> {
    fn url(&self, e: &Email, kind: TokenKind, path: &str, link: Option<&str>) -> String {
        let token = self.keys.sign(&Claims {
            kind,
            tenant: e.tenant.clone(),
            email: e.id.clone(),
            issued_at: self.issued_at,
            link: link.map(str::to_owned),
        });
        format!("{}/t/{path}/{token}", self.base_url)
    }
}

/// A message ready for the transport.
#[derive(Debug, Clone)]
pub struct Built {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
    /// Links rewritten for click tracking.
    pub tracked_links: usize,
}

/// The HTML of the sent copy: links through the click endpoint, pixel before `</body>`.
pub fn tracked_html(e: &Email, html: &str, t: &Tracking<'_>) -> (String, usize) {
    let (mut html, n) = if e.track_clicks {
        links::rewrite_links(html, |link| t.url(e, TokenKind::Click, "c", Some(link)))
    } else {
        (html.to_owned(), 0)
    };
    if e.track_opens {
        html = links::add_pixel(&html, &t.url(e, TokenKind::Open, "o", None));
    }
    (html, n)
}

/// Builds the message for `envelope_to` (the recipients left after suppression).
pub fn build(
    e: &Email,
    envelope_to: &[Recipient],
    attachments: Vec<Attachment>,
    t: &Tracking<'_>,
) -> Result<Built, String> {
    let from: Recipient = e
        .from
        .parse()
        .map_err(|_| format!("from: `{}` does not parse", e.from))?;
    let stored = |list: &[String]| address::from_stored(list).map_err(|err| err.to_string());
    let mut b = Message::builder()
        .from(from.mailbox().clone())
        .subject(e.subject.clone())
        .message_id(Some(e.message_id.clone()))
        .date_now();
    if let Some(reply_to) = &e.reply_to {
        let r: Recipient = reply_to
            .parse()
            .map_err(|_| format!("reply_to: `{reply_to}` does not parse"))?;
        b = b.reply_to(r.mailbox().clone());
    }
    for r in stored(&e.to)? {
        b = b.to(r.mailbox().clone());
    }
    for r in stored(&e.cc)? {
        b = b.cc(r.mailbox().clone());
    }
    let unsubscribe = t.url(e, TokenKind::Unsubscribe, "u", None);
    b = b
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{unsubscribe}>"),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Longshore-Email-Id"),
            e.id.to_string(),
        ));
    let envelope = Envelope::new(
        Some(from.mailbox().email.clone()),
        envelope_to
            .iter()
            .map(|r| r.mailbox().email.clone())
            .collect(),
    )
    .map_err(|err| format!("envelope: {err}"))?;
    b = b.envelope(envelope.clone());

    let (body, tracked_links) = match &e.html {
        Some(html) => {
            let (html, n) = tracked_html(e, html, t);
            (
                Body::Multi(MultiPart::alternative_plain_html(
                    body::encode(&crlf(&e.text)),
                    body::encode(&crlf(&html)),
                )),
                n,
            )
        }
        None => (
            Body::Single(SinglePart::plain(body::encode(&crlf(&e.text)))),
            0,
        ),
    };
    let message = if attachments.is_empty() {
        match body {
            Body::Multi(m) => b.multipart(m),
            Body::Single(s) => b.singlepart(s),
        }
    } else {
        let mut mixed = match body {
            Body::Multi(m) => MultiPart::mixed().multipart(m),
            Body::Single(s) => MultiPart::mixed().singlepart(s),
        };
        for a in attachments {
            let ct = ContentType::parse(&a.content_type)
                .map_err(|err| format!("attachment content type: {err}"))?;
            mixed = mixed.singlepart(MimeAttachment::new(a.filename).body(a.bytes, ct));
        }
        b.multipart(mixed)
    }
    .map_err(|err| format!("message: {err}"))?;
    Ok(Built {
        envelope,
        bytes: message.formatted(),
        tracked_links,
    })
}

/// The text with CRLF line ends, in one pass. lettre converts bare LFs itself, but by inserting
/// one `\r` at a time, which is quadratic: it was the worker's largest cost on 20 KB bodies.
pub fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut rest = text;
    while let Some(i) = rest.find('\n') {
        let line = &rest[..i];
        out.push_str(line);
        if !line.ends_with('\r') {
            out.push('\r');
        }
        out.push('\n');
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out
}

enum Body {
    Multi(MultiPart),
    Single(SinglePart),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_crlf_once() {
        assert_eq!(crlf("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
        assert_eq!(crlf("\nü\n"), "\r\nü\r\n");
        assert_eq!(crlf("none"), "none");
    }
}
