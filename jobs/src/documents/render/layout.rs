//! Page layout as data: layouts produce pages of drawing operations (text, rules, boxes, QR
//! codes) through a [`Flow`] that wraps paragraphs and starts new pages; [`super::emit`] turns
//! them into PDF. Keeping layout pure makes page counts and wrapping testable without a PDF.

use super::RenderError;
use super::fonts::{Face, Fonts};
use super::qr::QrMatrix;
pub use super::text::{fit, split_paragraphs, wrap};

/// A4 portrait, in points.
pub const A4: (f32, f32) = (595.28, 841.89);
/// A4 landscape, in points.
pub const A4_LANDSCAPE: (f32, f32) = (841.89, 595.28);

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

/// Main text colour.
pub const INK: Color = Color(0x1f, 0x29, 0x37);
/// Secondary text.
pub const MUTED: Color = Color(0x5b, 0x65, 0x73);
/// Accent for rules and frames.
pub const ACCENT: Color = Color(0x1d, 0x4e, 0x89);
/// Light fill for table headers.
pub const SHADE: Color = Color(0xee, 0xf2, 0xf7);

/// Which face to draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Horizontal alignment within the flow's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One drawing operation; `y` grows downwards from the top of the page.
#[derive(Debug, Clone)]
pub enum Op {
    /// A single line of text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        color: Color,
        text: String,
    },
    /// A rectangle, filled and/or stroked.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Color>,
        stroke: Option<(Color, f32)>,
    },
    /// A QR code of `size` points square with its top-left corner at (`x`, `y`).
    Qr {
        x: f32,
        y: f32,
        size: f32,
        matrix: QrMatrix,
    },
}

/// One cell of a [`Flow::row`]: text placed between `from` and `to` (page x coordinates).
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    pub text: &'a str,
    pub from: f32,
    pub to: f32,
    pub weight: Weight,
    pub color: Color,
    pub align: Align,
}

impl<'a> Cell<'a> {
    /// A regular, ink-coloured, left-aligned cell.
    pub fn new(text: &'a str, from: f32, to: f32) -> Self {
        Cell {
            text,
            from,
            to,
            weight: Weight::Regular,
            color: INK,
            align: Align::Left,
        }
    }
    /// The same cell in bold.
    pub fn bold(mut self) -> Self {
        self.weight = Weight::Bold;
        self
    }
    /// The same cell right-aligned.
    pub fn right(mut self) -> Self {
        self.align = Align::Right;
        self
    }
    /// The same cell in another colour.
    pub fn color(mut self, color: Color) -> Self {
        self.color = color;
        self
    }
}

/// Laid-out pages, ready to emit.
#[derive(Debug, Clone)]
pub struct Pages {
    pub size: (f32, f32),
    pub pages: Vec<Vec<Op>>,
}

/// Where text goes next: a column between margins, flowing onto new pages when full.
pub struct Flow {
    pub fonts: &'static Fonts,
    pub size: (f32, f32),
    pub left: f32,
    pub right: f32,
    top: f32,
    bottom: f32,
    /// The top of the next line.
    pub y: f32,
    pages: Vec<Vec<Op>>,
    max_pages: usize,
}

impl Flow {
    /// A flow on pages of `size` with equal side margins and the given top/bottom margins.
    pub fn new(
        fonts: &'static Fonts,
        size: (f32, f32),
        margin: f32,
        top: f32,
        bottom: f32,
        max_pages: usize,
    ) -> Self {
        Flow {
            fonts,
            size,
            left: margin,
            right: size.0 - margin,
            top,
            bottom,
            y: top,
            pages: vec![Vec::new()],
            max_pages,
        }
    }

    /// The face for a weight.
    pub fn face(&self, weight: Weight) -> &'static Face {
        match weight {
            Weight::Regular => &self.fonts.regular,
            Weight::Bold => &self.fonts.bold,
        }
    }

    /// Adds an operation to the current page.
    pub fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// Starts a new page, unless that would pass the page limit.
    pub fn new_page(&mut self) -> Result<(), RenderError> {
        if self.pages.len() >= self.max_pages {
            return Err(RenderError::TooManyPages(self.max_pages));
        }
        self.pages.push(Vec::new());
        self.y = self.top;
        Ok(())
    }

    /// Makes sure `height` points fit below the cursor, starting a new page if not.
    pub fn ensure(&mut self, height: f32) -> Result<(), RenderError> {
        if self.y + height > self.size.1 - self.bottom && self.y > self.top {
            self.new_page()?;
        }
        Ok(())
    }

    /// Moves the cursor down.
    pub fn advance(&mut self, dy: f32) {
        self.y += dy;
    }

    /// Draws one line of text at the cursor (no wrapping) and moves down by `leading`.
    pub fn line(
        &mut self,
        text: &str,
        weight: Weight,
        size: f32,
        leading: f32,
        color: Color,
        align: Align,
    ) -> Result<(), RenderError> {
        self.ensure(leading)?;
        let width = self.face(weight).width(text, size);
        let x = match align {
            Align::Left => self.left,
            Align::Center => (self.left + self.right - width) / 2.0,
            Align::Right => self.right - width,
        };
        let baseline = self.y + size * 0.93;
        self.push(Op::Text {
            x,
            y: baseline,
            size,
            weight,
            color,
            text: text.to_owned(),
        });
        self.y += leading;
        Ok(())
    }

    /// Wraps `text` to the column width and draws it line by line, flowing across pages.
    /// Blank lines in `text` separate paragraphs.
    pub fn paragraphs(
        &mut self,
        text: &str,
        weight: Weight,
        size: f32,
        leading: f32,
        color: Color,
        align: Align,
    ) -> Result<(), RenderError> {
        let width = self.right - self.left;
        for (i, paragraph) in split_paragraphs(text).iter().enumerate() {
            if i > 0 {
                self.y += leading * 0.5;
            }
            for line in wrap(self.face(weight), paragraph, size, width) {
                self.line(&line, weight, size, leading, color, align)?;
            }
        }
        Ok(())
    }

    /// Draws one row of cells side by side; each cell wraps within its column, and the row
    /// is as tall as its tallest cell. Moves the page first if the row does not fit.
    pub fn row(&mut self, cells: &[Cell<'_>], size: f32, leading: f32) -> Result<(), RenderError> {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .map(|c| wrap(self.face(c.weight), c.text, size, c.to - c.from))
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        self.ensure(leading * lines as f32)?;
        for (cell, lines) in cells.iter().zip(wrapped) {
            for (i, line) in lines.into_iter().enumerate() {
                let width = self.face(cell.weight).width(&line, size);
                let x = match cell.align {
                    Align::Left => cell.from,
                    Align::Center => (cell.from + cell.to - width) / 2.0,
                    Align::Right => cell.to - width,
                };
                let y = self.y + i as f32 * leading + size * 0.93;
                self.push(Op::Text {
                    x,
                    y,
                    size,
                    weight: cell.weight,
                    color: cell.color,
                    text: line,
                });
            }
        }
        self.y += leading * lines as f32;
        Ok(())
    }

    /// A horizontal rule across the column at the cursor.
    pub fn rule(&mut self, color: Color, width: f32) {
        let (x, w) = (self.left, self.right - self.left);
        self.push(Op::Rect {
            x,
            y: self.y,
            w,
            h: width,
            fill: Some(color),
            stroke: None,
        });
    }

    /// The laid-out pages.
    pub fn finish(self) -> Pages {
        Pages {
            size: self.size,
            pages: self.pages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::render::fonts::fonts;

    #[test]
    fn flows_onto_new_pages_and_stops_at_the_limit() {
        let f = fonts().unwrap();
        let mut flow = Flow::new(f, A4, 50.0, 50.0, 50.0, 3);
        let text = "word ".repeat(1200);
        flow.paragraphs(&text, Weight::Regular, 11.0, 15.0, INK, Align::Left)
            .unwrap();
        assert_eq!(flow.finish().pages.len(), 2);
        let mut flow = Flow::new(f, A4, 50.0, 50.0, 50.0, 3);
        let err = flow.paragraphs(
            &"word ".repeat(20_000),
            Weight::Regular,
            11.0,
            15.0,
            INK,
            Align::Left,
        );
        assert!(matches!(err, Err(RenderError::TooManyPages(3))));
    }
}
