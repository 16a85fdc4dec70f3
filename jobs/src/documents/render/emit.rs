//! Turns laid-out pages into PDF bytes with krilla: subset fonts, compressed streams, and
//! metadata fixed by the input (creation date from the data, document id from the content) so
//! the same input always gives the same bytes.

use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::{Document, SerializeSettings};

use super::RenderError;
use super::fonts::Fonts;
use super::layout::{Color, Op, Pages, Weight};

/// Document-level facts written into the PDF's metadata.
#[derive(Debug, Clone)]
pub struct PdfMeta {
    pub title: String,
    pub author: String,
    /// UTC (year, month, day, hour, minute, second), from the document's data.
    pub created: Option<(u16, u8, u8, u8, u8, u8)>,
    /// A stable identifier derived from the content (hex).
    pub document_id: String,
}

fn paint(c: Color) -> krilla::paint::Paint {
    krilla::color::rgb::Color::new(c.0, c.1, c.2).into()
}

fn fill(c: Color) -> Fill {
    Fill {
        paint: paint(c),
        ..Fill::default()
    }
}

/// Writes `pages` as a PDF.
pub fn emit(fonts: &Fonts, pages: &Pages, meta: &PdfMeta) -> Result<Vec<u8>, RenderError> {
    let settings = SerializeSettings {
        xmp_metadata: false,
        // Deflating the page's content stream cost 0.9 ms of a 2 ms certificate (zlib level 6
        // on repetitive drawing operators); left plain, a certificate stays near 35 KB.
        compress_content_streams: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    let mut metadata = Metadata::new()
        .title(meta.title.clone())
        .authors(vec![meta.author.clone()])
        .creator("Longshore".to_owned())
        .producer("Longshore (krilla)".to_owned())
        .document_id(meta.document_id.clone());
    if let Some((y, mo, d, h, mi, s)) = meta.created {
        let date = DateTime::new(y)
            .month(mo)
            .day(d)
            .hour(h)
            .minute(mi)
            .second(s)
            .utc_offset_hour(0)
            .utc_offset_minute(0);
        metadata = metadata.creation_date(date);
    }
    document.set_metadata(metadata);
    let settings = PageSettings::from_wh(pages.size.0, pages.size.1)
        .ok_or_else(|| RenderError::Engine("invalid page size".into()))?;
    for ops in &pages.pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, fonts, op);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| RenderError::Engine(format!("{e:?}")))
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, op: &Op) {
    match op {
        Op::Text {
            x,
            y,
            size,
            weight,
            color,
            text,
        } => {
            let face = match weight {
                Weight::Regular => &fonts.regular,
                Weight::Bold => &fonts.bold,
            };
            surface.set_stroke(None);
            surface.set_fill(Some(fill(*color)));
            surface.draw_text(
                Point::from_xy(*x, *y),
                face.font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Rect {
            x,
            y,
            w,
            h,
            fill: f,
            stroke,
        } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                return;
            };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            let Some(path) = pb.finish() else { return };
            surface.set_fill(f.map(fill));
            surface.set_stroke(stroke.map(|(c, width)| Stroke {
                paint: paint(c),
                width,
                ..Stroke::default()
            }));
            surface.draw_path(&path);
        }
        Op::Qr { x, y, size, matrix } => {
            if matrix.width == 0 {
                return;
            }
            // Modules on a quarter-point grid, centred in the box. The path is written in
            // module units under one transform: whole numbers, half the bytes of page
            // coordinates.
            let quarter = |v: f32| (v * 4.0).round() / 4.0;
            let module = ((size / matrix.width as f32) * 4.0).floor().max(1.0) / 4.0;
            let inset = (size - module * matrix.width as f32) / 2.0;
            let (x0, y0) = (quarter(x + inset), quarter(y + inset));
            let mut pb = PathBuilder::new();
            for (row, col, w, h) in matrix.rects() {
                if let Some(r) = Rect::from_xywh(col as f32, row as f32, w as f32, h as f32) {
                    pb.push_rect(r);
                }
            }
            let Some(path) = pb.finish() else { return };
            surface.set_stroke(None);
            surface.set_fill(Some(fill(Color(0, 0, 0))));
            surface.push_transform(&Transform::from_row(module, 0.0, 0.0, module, x0, y0));
            surface.draw_path(&path);
            surface.pop();
        }
    }
}
