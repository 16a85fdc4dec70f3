//! The plain-text part, derived from the HTML when the client gives only HTML: mail clients that
//! show text (and spam filters that compare both parts) get the same content, links included as
//! numbered references.

/// Line width of derived text.
const WIDTH: usize = 78;

/// The text rendering of `html` (html2text: block structure, lists, tables, link footnotes).
pub fn from_html(html: &str) -> String {
    let text = html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .no_link_wrapping()
        .string_from_read(html.as_bytes(), WIDTH)
        .unwrap_or_else(|_| strip_tags(html));
    tidy(&text)
}

/// Trims trailing spaces and runs of blank lines.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned() + "\n"
}

/// Last resort if the HTML cannot be parsed at all: drop the tags.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_words_structure_and_links() {
        let html = r#"<html><head><style>p{color:red}</style></head><body>
            <h1>Bonjour Zoë</h1><p>Your <b>receipt</b> is attached.</p>
            <ul><li>First</li><li>Second</li></ul>
            <p><a href="https://example.com/account">Open your account</a></p></body></html>"#;
        let text = from_html(html);
        assert!(text.contains("Bonjour Zoë"), "{text}");
        assert!(text.contains("Your receipt is attached."), "{text}");
        assert!(text.contains("First") && text.contains("Second"), "{text}");
        assert!(text.contains("https://example.com/account"), "{text}");
        assert!(!text.contains("color:red") && !text.contains('<'), "{text}");
        assert!(!text.contains("\n\n\n"));
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            from_html("<p>Fish &amp; chips &lt;3 &euro;5</p>").trim(),
            "Fish & chips <3 €5"
        );
    }
}
