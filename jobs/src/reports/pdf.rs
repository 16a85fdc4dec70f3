//! The PDF of a report, drawn with the documents' krilla layout ([`Flow`]) and emitter: a title,
//! the period, one bar chart per day series (rectangles and labels, the engine's own vector
//! primitives), then the tables (long ones flow onto further pages; the CSV has every row).

use sha2::{Digest, Sha256};

use super::content::{Content, DaySeries, Table};
use crate::documents::render::RenderError;
use crate::documents::render::emit::{PdfMeta, emit};
use crate::documents::render::fonts::{Face, fonts};
use crate::documents::render::layout::{
    A4_LANDSCAPE, ACCENT, Align, Cell, Flow, INK, MUTED, Op, SHADE, Weight,
};

/// Most pages a report PDF may have.
pub const MAX_PAGES: usize = 120;
/// Most rows of one table drawn in the PDF.
pub const MAX_ROWS: usize = 2000;

const CHART_HEIGHT: f32 = 110.0;

/// Replaces characters the font cannot draw with `?`.
fn drawable(face: &Face, text: &str) -> String {
    let mut s = text.to_owned();
    while let Some(c) = face.missing(&s) {
        s = s.replace(c, "?");
    }
    s
}

fn chart(flow: &mut Flow, s: &DaySeries) -> Result<(), RenderError> {
    flow.ensure(CHART_HEIGHT + 50.0)?;
    let title = drawable(flow.face(Weight::Bold), &s.title);
    flow.line(&title, Weight::Bold, 11.0, 16.0, INK, Align::Left)?;
    let max = s.points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let (left, right) = (flow.left + 60.0, flow.right);
    let top = flow.y + 4.0;
    let base = top + CHART_HEIGHT;
    let label = |flow: &mut Flow, x: f32, y: f32, size: f32, text: String| {
        flow.push(Op::Text {
            x,
            y,
            size,
            weight: Weight::Regular,
            color: MUTED,
            text,
        });
    };
    let max_label = s.unit.format(max);
    let w = flow.face(Weight::Regular).width(&max_label, 7.0);
    label(flow, left - 6.0 - w, top + 7.0, 7.0, max_label);
    label(
        flow,
        left - 6.0 - flow.face(Weight::Regular).width("0", 7.0),
        base,
        7.0,
        "0".into(),
    );
    flow.push(Op::Rect {
        x: left,
        y: base,
        w: right - left,
        h: 0.6,
        fill: Some(MUTED),
        stroke: None,
    });
    let n = s.points.len().max(1) as f32;
    let slot = (right - left) / n;
    let every = (s.points.len() / 16).max(1);
    for (i, (day, value)) in s.points.iter().enumerate() {
        let h = CHART_HEIGHT * (*value as f32 / max as f32);
        let x = left + slot * i as f32;
        if *value > 0 {
            let w = (slot * 0.7).min(36.0);
            flow.push(Op::Rect {
                x: x + (slot - w) / 2.0,
                y: base - h,
                w,
                h,
                fill: Some(ACCENT),
                stroke: None,
            });
        }
        if i % every == 0 || i + 1 == s.points.len() {
            let text = if s.points.len() <= 31 {
                day.format("%d").to_string()
            } else {
                day.format("%m-%d").to_string()
            };
            let tw = flow.face(Weight::Regular).width(&text, 6.0);
            label(flow, x + (slot - tw) / 2.0, base + 9.0, 6.0, text);
        }
    }
    flow.advance(CHART_HEIGHT + 22.0);
    let first = s
        .points
        .first()
        .map(|p| p.0.to_string())
        .unwrap_or_default();
    let last = s.points.last().map(|p| p.0.to_string()).unwrap_or_default();
    let total: i64 = s.points.iter().map(|p| p.1).sum();
    let note = format!("{first} to {last}; total {}", s.unit.format(total));
    flow.line(&note, Weight::Regular, 8.0, 16.0, MUTED, Align::Left)
}

fn table(flow: &mut Flow, t: &Table) -> Result<(), RenderError> {
    flow.ensure(60.0)?;
    let title = drawable(flow.face(Weight::Bold), &t.title);
    flow.line(&title, Weight::Bold, 11.0, 16.0, INK, Align::Left)?;
    let cols = t.columns.len().max(1) as f32;
    let width = (flow.right - flow.left) / cols;
    let bounds: Vec<(f32, f32)> = (0..t.columns.len())
        .map(|i| {
            (
                flow.left + width * i as f32 + 3.0,
                flow.left + width * (i + 1) as f32 - 3.0,
            )
        })
        .collect();
    let header = |flow: &mut Flow| -> Result<(), RenderError> {
        flow.ensure(28.0)?;
        let (x, w) = (flow.left, flow.right - flow.left);
        flow.push(Op::Rect {
            x,
            y: flow.y,
            w,
            h: 13.0,
            fill: Some(SHADE),
            stroke: None,
        });
        let cells: Vec<Cell<'_>> = t
            .columns
            .iter()
            .zip(&bounds)
            .zip(&t.numeric)
            .map(|((c, (a, b)), num)| {
                let cell = Cell::new(c, *a, *b).bold();
                if *num { cell.right() } else { cell }
            })
            .collect();
        flow.row(&cells, 8.0, 13.0)
    };
    header(flow)?;
    let face = flow.face(Weight::Regular);
    for row in t.rows.iter().take(MAX_ROWS) {
        let texts: Vec<String> = row.iter().map(|c| drawable(face, c)).collect();
        let cells: Vec<Cell<'_>> = texts
            .iter()
            .zip(&bounds)
            .zip(&t.numeric)
            .map(|((c, (a, b)), num)| {
                let cell = Cell::new(c, *a, *b);
                if *num { cell.right() } else { cell }
            })
            .collect();
        let page_before = flow.y;
        flow.ensure(12.0)?;
        if flow.y < page_before {
            header(flow)?;
        }
        flow.row(&cells, 8.0, 12.0)?;
    }
    if t.rows.len() > MAX_ROWS {
        let note = format!("{} more rows in the CSV file", t.rows.len() - MAX_ROWS);
        flow.line(&note, Weight::Regular, 8.0, 12.0, MUTED, Align::Left)?;
    }
    if t.rows.is_empty() {
        flow.line(
            "Nothing in this period.",
            Weight::Regular,
            8.0,
            12.0,
            MUTED,
            Align::Left,
        )?;
    }
    flow.advance(12.0);
    Ok(())
}

/// Lays out and writes the PDF. Blocking and CPU-bound: run it off the async threads.
/// `lines` are printed under the title (period, zone, catch-up note).
pub fn render(content: &Content, lines: &[String]) -> Result<Vec<u8>, RenderError> {
    let fonts =
        fonts().ok_or_else(|| RenderError::Engine("embedded fonts are unreadable".into()))?;
    let mut flow = Flow::new(fonts, A4_LANDSCAPE, 40.0, 40.0, 40.0, MAX_PAGES);
    flow.line(&content.title, Weight::Bold, 20.0, 28.0, INK, Align::Left)?;
    for l in lines {
        let l = drawable(flow.face(Weight::Regular), l);
        flow.line(&l, Weight::Regular, 10.0, 14.0, MUTED, Align::Left)?;
    }
    flow.advance(6.0);
    flow.rule(ACCENT, 1.0);
    flow.advance(12.0);
    for s in &content.series {
        chart(&mut flow, s)?;
    }
    for t in &content.tables {
        table(&mut flow, t)?;
    }
    let pages = flow.finish();
    let mut h = Sha256::new();
    h.update(content.title.as_bytes());
    h.update(content.summary.to_string().as_bytes());
    for l in lines {
        h.update(l.as_bytes());
    }
    let meta = PdfMeta {
        title: format!(
            "{} ({})",
            content.title,
            lines.first().map(String::as_str).unwrap_or("")
        ),
        author: "Longshore".into(),
        created: None,
        document_id: hex::encode(&h.finalize()[..16]),
    };
    emit(fonts, &pages, &meta)
}
