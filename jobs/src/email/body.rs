//! Body parts encoded once, in one pass each: `7bit` when the text is ASCII with short lines
//! (typical derived text), otherwise quoted-printable (RFC 2045 §6.7: HTML arrives as one long
//! line, and names in any script). lettre would pick the same encodings, but it scans the text
//! to choose, converts line ends again and encodes byte by byte through a general encoder: on
//! 20 KB bodies that was a third of the worker's time per email.

use lettre::message::Body;
use lettre::message::header::ContentTransferEncoding;

/// Longest line SMTP allows, without its CRLF.
const MAX_LINE: usize = 998;
/// Longest quoted-printable line, without the soft-break `=`.
const QP_LINE: usize = 75;

/// The body for `text` (CRLF line ends, see [`super::message::crlf`]).
pub fn encode(text: &str) -> Body {
    if seven_bit(text) {
        Body::dangerous_pre_encoded(text.as_bytes().to_vec(), ContentTransferEncoding::SevenBit)
    } else {
        Body::dangerous_pre_encoded(
            quoted_printable(text.as_bytes()),
            ContentTransferEncoding::QuotedPrintable,
        )
    }
}

/// ASCII, no NUL, no lone CR, no line longer than SMTP allows (every scan here is a fast
/// byte search).
fn seven_bit(text: &str) -> bool {
    text.is_ascii()
        && !text.as_bytes().contains(&0)
        && text.split('\n').all(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            line.len() <= MAX_LINE && !line.contains('\r')
        })
}

/// Quoted-printable: CRLF stays a hard line break; printable ASCII except `=` stays as is;
/// space and tab stay unless they end a line; every other byte becomes `=XX`; soft breaks keep
/// lines within 76 characters.
pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 16);
    let mut rest = input;
    loop {
        let (line, more) = match find_crlf(rest) {
            Some(at) => (&rest[..at], Some(&rest[at + 2..])),
            None => (rest, None),
        };
        let n = line.len();
        let (mut i, mut col) = (0, 0);
        while i < n {
            // Copy a run of bytes that stay as they are, as far as the output line allows.
            let max = (i + QP_LINE - col).min(n);
            let mut j = i;
            while j < max && literal(line[j]) {
                j += 1;
            }
            if j == n && matches!(line[j - 1], b' ' | b'\t') {
                j -= 1; // a space or tab ending the line is encoded
            }
            out.extend_from_slice(&line[i..j]);
            col += j - i;
            i = j;
            if i == n {
                break;
            }
            // One byte that needs encoding, or the first one past a full output line.
            let b = line[i];
            let last = i + 1 == n;
            let as_is = literal(b) && !(last && matches!(b, b' ' | b'\t'));
            let width = if as_is { 1 } else { 3 };
            // Room for it, and for a soft break's `=` unless it ends the line.
            let limit = if last { QP_LINE + 1 } else { QP_LINE };
            if col + width > limit {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            if as_is {
                out.push(b);
            } else {
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            col += width;
            i += 1;
        }
        match more {
            Some(r) => {
                out.extend_from_slice(b"\r\n");
                rest = r;
            }
            None => return out,
        }
    }
}

/// Printable ASCII but `=`, space and tab: written as they are (space and tab not at a line end).
fn literal(b: u8) -> bool {
    matches!(b, 33..=60 | 62..=126 | b' ' | b'\t')
}

/// Where the next CRLF starts (a lone CR or LF is data, encoded as such).
fn find_crlf(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = b[from..].iter().position(|&c| c == b'\n') {
        let at = from + i;
        if at > 0 && b[at - 1] == b'\r' {
            return Some(at - 1);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strict decoder: soft breaks removed, `=XX` decoded, anything else malformed panics.
    fn decode(qp: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < qp.len() {
            match qp[i] {
                b'=' if qp[i + 1..].starts_with(b"\r\n") => i += 3,
                b'=' => {
                    let hex = std::str::from_utf8(&qp[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                b => {
                    assert!(b == b'\r' || b == b'\n' || (32..127).contains(&b) || b == b'\t');
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let long = format!(
            "<p style=\"a\">{}</p>\r\nΓειά σου Zoë 🚢 end \r\n\ttab\t\r\nlone\rcr = x",
            "word ".repeat(100)
        );
        let qp = quoted_printable(long.as_bytes());
        assert_eq!(decode(&qp), long.as_bytes());
        for line in qp.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "{}", String::from_utf8_lossy(line));
            assert!(line.iter().all(u8::is_ascii));
            let l = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(
                !l.ends_with(b" ") && !l.ends_with(b"\t"),
                "no trailing space"
            );
        }
        // Lines of every length around the limit, ending in a space, an `=` or a letter.
        for len in 70..160 {
            for end in [" ", "=", "x", "é"] {
                let text = "y".repeat(len) + end + "\r\n" + &"z".repeat(len) + end;
                let qp = quoted_printable(text.as_bytes());
                assert_eq!(decode(&qp), text.as_bytes(), "{len} {end:?}");
                assert!(
                    qp.split(|&b| b == b'\n').all(|l| l.len() <= 77),
                    "{len} {end:?}"
                );
            }
        }
    }

    #[test]
    fn short_ascii_stays_seven_bit() {
        assert_eq!(
            encode("Hi\r\nthere\r\n").encoding(),
            ContentTransferEncoding::SevenBit
        );
        assert_eq!(
            encode(&"x".repeat(2000)).encoding(),
            ContentTransferEncoding::QuotedPrintable
        );
        assert_eq!(
            encode("Zoë").encoding(),
            ContentTransferEncoding::QuotedPrintable
        );
    }

    #[test]
    fn equals_signs_and_a_final_line_break_survive() {
        let text = "a=b ".repeat(500) + "\r\n";
        let qp = quoted_printable(text.as_bytes());
        assert!(qp.ends_with(b"\r\n"));
        assert_eq!(decode(&qp), text.as_bytes());
    }
}
