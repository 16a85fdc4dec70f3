//! The fonts every document uses, compiled into the binary (DejaVu Sans, regular and bold:
//! wide Unicode coverage, free licence in `jobs/assets/fonts/`), so rendering never depends on a
//! font installed on the machine. Each face also answers "how wide is this text?" for layout and
//! "which character can it not draw?" so unsupported text fails clearly instead of printing
//! empty boxes.
//!
//! The files are DejaVu 2.37 without the 4,765-character licence text of `name` record 13,
//! which font subsetting copies into every PDF: 19 KB of the 42 KB of font data each
//! certificate deflated (the largest cost of a render). The copyright (record 0), the
//! licence URL (record 14) and `LICENSE-DejaVu.txt` stay. Made with fontTools:
//! `t = TTFont(f, recalcTimestamp=False); t['name'].names = [r for r in t['name'].names if
//! r.nameID != 13]; t.save(f)`.

use std::collections::HashMap;
use std::sync::LazyLock;

use krilla::text::Font;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

static REGULAR_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// A font face with its metrics.
pub struct Face {
    /// The font as krilla draws it.
    pub font: Font,
    /// Advance widths in font units of every character the face maps (ASCII in an array).
    ascii: [Option<f32>; 128],
    others: HashMap<char, f32>,
    units_per_em: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> Option<Face> {
        let font = Font::new(data.into(), 0)?;
        let font_ref = FontRef::new(data).ok()?;
        let metrics = font_ref.glyph_metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(
            font_ref
                .metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        let mut ascii = [None; 128];
        let mut others = HashMap::new();
        for (codepoint, glyph) in font_ref.charmap().mappings() {
            let Some(c) = char::from_u32(codepoint) else {
                continue;
            };
            let advance = metrics.advance_width(glyph).unwrap_or(0.0);
            match ascii.get_mut(c as usize) {
                Some(slot) => *slot = Some(advance),
                None => {
                    others.insert(c, advance);
                }
            }
        }
        Some(Face {
            font,
            ascii,
            others,
            units_per_em,
        })
    }

    fn advance(&self, c: char) -> Option<f32> {
        match self.ascii.get(c as usize) {
            Some(a) => *a,
            None => self.others.get(&c).copied(),
        }
    }

    /// The width of `text` at `size` points (without kerning, so never narrower than drawn).
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let units: f32 = text.chars().map(|c| self.advance(c).unwrap_or(0.0)).sum();
        units * size / self.units_per_em
    }

    /// The first character of `text` this face has no glyph for, if any.
    pub fn missing(&self, text: &str) -> Option<char> {
        text.chars()
            .filter(|c| !matches!(c, '\n' | '\r' | '\t'))
            .find(|&c| self.advance(c).is_none())
    }
}

/// The two faces documents use.
pub struct Fonts {
    pub regular: Face,
    pub bold: Face,
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Face::load(REGULAR_TTF)?,
        bold: Face::load(BOLD_TTF)?,
    })
});

/// The embedded fonts; `None` only if the embedded files were corrupt (a build problem).
pub fn fonts() -> Option<&'static Fonts> {
    FONTS.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_fonts_load_and_measure() {
        let f = fonts().expect("embedded fonts");
        let w = f.regular.width("Hello", 10.0);
        assert!(w > 20.0 && w < 40.0, "{w}");
        assert!(f.bold.width("Hello", 10.0) > w);
        assert_eq!(
            f.regular.missing("Zoë Ñúñez Łukasz Wróbel Ολυμπία Алексей"),
            None
        );
        assert_eq!(f.regular.missing("ok 🦀"), Some('🦀'));
    }
}
