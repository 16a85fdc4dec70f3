//! The investor-update layout: A4 portrait, company and period, a KPI table, then the sections'
//! paragraphs wrapped to the column and flowing onto as many pages as needed, with a footer
//! (`page n of N`) on every page.

use super::RenderError;
use super::fonts::Fonts;
use super::layout::{A4, ACCENT, Align, Cell, Flow, INK, MUTED, Op, Pages, SHADE, Weight};
use crate::documents::investor::InvestorUpdateData;

const MARGIN: f32 = 56.0;
const BODY: f32 = 10.5;
const LEADING: f32 = 15.0;

/// Lays out an investor update.
pub fn layout(fonts: &'static Fonts, d: &InvestorUpdateData) -> Result<Pages, RenderError> {
    let mut f = Flow::new(fonts, A4, MARGIN, 56.0, 64.0, super::MAX_PAGES);
    let (l, r) = (f.left, f.right);
    f.paragraphs(&d.company, Weight::Bold, 22.0, 28.0, INK, Align::Left)?;
    f.paragraphs(
        &format!("Investor update · {}", d.period),
        Weight::Regular,
        14.0,
        20.0,
        ACCENT,
        Align::Left,
    )?;
    if let Some(date) = d.published_on {
        f.line(
            &date.format("%-d %B %Y").to_string(),
            Weight::Regular,
            10.0,
            16.0,
            MUTED,
            Align::Left,
        )?;
    }
    f.advance(6.0);
    f.rule(ACCENT, 1.5);
    f.advance(18.0);

    if !d.kpis.is_empty() {
        let (value_from, change_from) = (r - 250.0, r - 120.0);
        f.ensure(LEADING * 3.0)?;
        f.push(Op::Rect {
            x: l,
            y: f.y - 4.0,
            w: r - l,
            h: LEADING + 6.0,
            fill: Some(SHADE),
            stroke: None,
        });
        f.row(
            &[
                Cell::new("Key figures", l + 6.0, value_from - 10.0).bold(),
                Cell::new("Value", value_from, change_from - 10.0)
                    .bold()
                    .right(),
                Cell::new("Change", change_from, r - 6.0).bold().right(),
            ],
            BODY,
            LEADING,
        )?;
        f.advance(6.0);
        for k in &d.kpis {
            let change = k.change.as_deref().unwrap_or("");
            f.row(
                &[
                    Cell::new(&k.name, l + 6.0, value_from - 10.0),
                    Cell::new(&k.value, value_from, change_from - 10.0)
                        .bold()
                        .right(),
                    Cell::new(change, change_from, r - 6.0).right().color(MUTED),
                ],
                BODY,
                LEADING,
            )?;
            f.push(Op::Rect {
                x: l,
                y: f.y + 2.0,
                w: r - l,
                h: 0.4,
                fill: Some(SHADE),
                stroke: None,
            });
            f.advance(5.0);
        }
        f.advance(18.0);
    }

    for s in &d.sections {
        // Keep a heading with at least two lines of its body.
        f.ensure(22.0 + LEADING * 2.0)?;
        f.paragraphs(&s.heading, Weight::Bold, 14.0, 20.0, INK, Align::Left)?;
        f.advance(2.0);
        f.paragraphs(&s.body, Weight::Regular, BODY, LEADING, INK, Align::Left)?;
        f.advance(14.0);
    }

    let mut pages = f.finish();
    let total = pages.pages.len();
    let footer_y = pages.size.1 - 34.0;
    for (i, page) in pages.pages.iter_mut().enumerate() {
        let text = format!("{} · {} · page {} of {total}", d.company, d.period, i + 1);
        let size = super::layout::fit(&fonts.regular, &text, 8.0, 4.0, r - l);
        page.push(Op::Text {
            x: l,
            y: footer_y,
            size,
            weight: Weight::Regular,
            color: MUTED,
            text,
        });
    }
    Ok(pages)
}
