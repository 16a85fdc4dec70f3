//! Text shaping for layout: paragraphs from plain text, greedy word wrap to a width, and the
//! largest size at which a line fits.

use super::fonts::Face;

/// Paragraphs separated by blank lines; single line breaks inside a paragraph become spaces.
pub fn split_paragraphs(text: &str) -> Vec<String> {
    let normalised = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\t', " ");
    normalised
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Greedy word wrap to `width` points; words wider than a line are broken between characters.
pub fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if face.width(&candidate, size) <= width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if face.width(word, size) <= width {
            current = word.to_owned();
            continue;
        }
        for c in word.chars() {
            let mut next = current.clone();
            next.push(c);
            if face.width(&next, size) > width && !current.is_empty() {
                lines.push(std::mem::take(&mut current));
                current.push(c);
            } else {
                current = next;
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// The largest size from `max` down to `min` at which `text` fits `width` on one line.
pub fn fit(face: &Face, text: &str, max: f32, min: f32, width: f32) -> f32 {
    let natural = face.width(text, max);
    if natural <= width {
        return max;
    }
    (max * width / natural).max(min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::render::fonts::fonts;

    #[test]
    fn wrapping_keeps_every_word_and_respects_the_width() {
        let face = &fonts().unwrap().regular;
        let text = "Zoë Ñúñez and Łukasz Wróbel met Ολυμπία at the conference ".repeat(20);
        let lines = wrap(face, &text, 11.0, 300.0);
        assert!(lines.len() > 5);
        for l in &lines {
            assert!(face.width(l, 11.0) <= 300.0, "{l}");
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        let rewrapped: Vec<String> = lines
            .iter()
            .flat_map(|l| l.split(' ').map(str::to_owned))
            .collect();
        assert_eq!(rewrapped, words);
        let long = "x".repeat(500);
        assert!(wrap(face, &long, 11.0, 100.0).len() > 5);
    }

    #[test]
    fn paragraphs_split_on_blank_lines() {
        assert_eq!(
            split_paragraphs("a\nb\n\nc\r\n\r\nd\te"),
            ["a b", "c", "d e"]
        );
    }
}
