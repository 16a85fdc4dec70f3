//! Rewriting the HTML of the copy that is sent: every `http(s)` link in an `href` goes through
//! `/t/c/{token}`, and a 1×1 pixel (`/t/o/{token}`) goes before `</body>`. One linear pass, no
//! DOM: the stored HTML is the client's, and only attribute values are touched.

use super::tokens::is_http_link;

/// Rewrites each `href` value that is an http(s) link with `track(original_link)`.
/// Returns the new HTML and how many links were rewritten.
pub fn rewrite_links(html: &str, mut track: impl FnMut(&str) -> String) -> (String, usize) {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + html.len() / 4);
    let mut copied = 0;
    let mut count = 0;
    let mut i = 0;
    while let Some(found) = find_ci(&bytes[i..], b"href") {
        let at = i + found;
        i = at + 4;
        // The attribute name must stand alone (`data-href` and `hreflang` are not links).
        let before_ok = at == 0
            || matches!(
                bytes[at - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b'<' | b'"' | b'\''
            );
        if !before_ok {
            continue;
        }
        let mut j = skip_ws(bytes, i);
        if bytes.get(j) != Some(&b'=') {
            continue;
        }
        j = skip_ws(bytes, j + 1);
        let (start, end, next) = match bytes.get(j) {
            Some(&q @ (b'"' | b'\'')) => match bytes[j + 1..].iter().position(|&b| b == q) {
                Some(len) => (j + 1, j + 1 + len, j + 2 + len),
                None => break,
            },
            Some(_) => {
                let len = bytes[j..]
                    .iter()
                    .position(|&b| b.is_ascii_whitespace() || b == b'>')
                    .unwrap_or(bytes.len() - j);
                (j, j + len, j + len)
            }
            None => break,
        };
        i = next;
        let raw = &html[start..end];
        let link = decode_entities(raw.trim());
        if !is_http_link(&link) {
            continue;
        }
        out.push_str(&html[copied..start]);
        out.push_str(&track(&link));
        copied = end;
        count += 1;
    }
    out.push_str(&html[copied..]);
    (out, count)
}

/// Inserts the open pixel before the last `</body>`, or at the end.
pub fn add_pixel(html: &str, pixel_url: &str) -> String {
    let img = format!(
        "<img src=\"{pixel_url}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">"
    );
    match rfind_ci(html.as_bytes(), b"</body") {
        Some(at) => format!("{}{img}{}", &html[..at], &html[at..]),
        None => format!("{html}{img}"),
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The first case-insensitive match of `needle`: a scan for its first byte, then a compare.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (first, rest) = needle.split_first()?;
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let at = from
            + hay[from..=last_start]
                .iter()
                .position(|&b| b == lower || b == upper)?;
        if hay[at + 1..at + needle.len()].eq_ignore_ascii_case(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn rfind_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .rposition(|w| w.eq_ignore_ascii_case(needle))
}

/// The attribute value as a browser would read it: the common character references decoded.
fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    raw.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_links_are_rewritten_and_others_left_alone() {
        let html = r##"<a href="https://a.example/x?y=1&amp;z=2">A</a>
            <a HREF = 'http://b.example'>B</a> <a href=https://c.example/u>C</a>
            <a href="mailto:a@b.c">M</a> <a href="/relative">R</a> <link hreflang="en">
            <a data-href="https://no.example">N</a> <a href="#top">T</a>"##;
        let mut seen = Vec::new();
        let (out, n) = rewrite_links(html, |l| {
            seen.push(l.to_owned());
            format!("https://t.example/t/c/{}", seen.len())
        });
        assert_eq!(n, 3);
        assert_eq!(
            seen,
            [
                "https://a.example/x?y=1&z=2",
                "http://b.example",
                "https://c.example/u"
            ]
        );
        assert!(
            out.contains(r#"<a href="https://t.example/t/c/1">A</a>"#),
            "{out}"
        );
        assert!(out.contains("HREF = 'https://t.example/t/c/2'"), "{out}");
        assert!(out.contains("href=https://t.example/t/c/3>C"), "{out}");
        assert!(
            out.contains("mailto:a@b.c")
                && out.contains("/relative")
                && out.contains("https://no.example")
        );
    }

    #[test]
    fn the_pixel_goes_before_the_body_end() {
        let html = add_pixel(
            "<html><body><p>Hi</p></BODY></html>",
            "https://t.example/t/o/x",
        );
        assert!(html.ends_with("height:1px\"></BODY></html>"), "{html}");
        let bare = add_pixel("<p>Hi</p>", "https://t.example/t/o/x");
        assert!(bare.starts_with("<p>Hi</p><img src=\"https://t.example/t/o/x\""));
    }

    #[test]
    fn unicode_around_links_survives() {
        let (out, n) = rewrite_links(
            "<p>Ολυμπία</p><a href=\"https://ü.example/é\">ü</a>",
            |_| "X".into(),
        );
        assert_eq!(n, 1);
        assert_eq!(out, "<p>Ολυμπία</p><a href=\"X\">ü</a>");
    }
}
