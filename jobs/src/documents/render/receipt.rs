//! The receipt layout: A4 portrait, the issuer and receipt number, payment details, a table of
//! line items (flowing onto further pages if long) and the total, amounts formatted for the
//! currency's minor units.

use super::RenderError;
use super::fonts::Fonts;
use super::layout::{A4, ACCENT, Align, Cell, Flow, MUTED, Op, Pages, SHADE, Weight};
use crate::documents::receipt::ReceiptData;

const MARGIN: f32 = 56.0;
const SIZE: f32 = 10.5;
const LEADING: f32 = 15.0;

/// Lays out a receipt.
pub fn layout(
    fonts: &'static Fonts,
    d: &ReceiptData,
    issuer: &str,
    number: &str,
) -> Result<Pages, RenderError> {
    let currency = d
        .currency()
        .ok_or_else(|| RenderError::Invalid("the receipt has no valid currency".into()))?;
    let amount = d
        .amount
        .ok_or_else(|| RenderError::Invalid("the receipt has no amount".into()))?;
    let mut f = Flow::new(fonts, A4, MARGIN, 56.0, 56.0, super::MAX_PAGES);
    let (l, r) = (f.left, f.right);
    f.row(
        &[
            Cell::new(issuer, l, r - 160.0).bold(),
            Cell::new("RECEIPT", r - 150.0, r)
                .bold()
                .right()
                .color(ACCENT),
        ],
        18.0,
        26.0,
    )?;
    f.advance(6.0);
    f.rule(ACCENT, 1.5);
    f.advance(18.0);

    let paid = d.paid_at.format("%-d %B %Y, %H:%M UTC").to_string();
    let mut details = vec![
        ("Receipt number", number),
        ("Date paid", paid.as_str()),
        ("Reference", d.reference.as_str()),
        ("Received from", d.customer_name.as_str()),
    ];
    if let Some(p) = &d.payment_id {
        details.push(("Payment", p.as_str()));
    }
    for (label, value) in details {
        f.row(
            &[
                Cell::new(label, l, l + 130.0).color(MUTED),
                Cell::new(value, l + 140.0, r),
            ],
            SIZE,
            LEADING,
        )?;
    }
    f.advance(20.0);

    let (qty_from, amount_from) = (r - 190.0, r - 130.0);
    header(&mut f, qty_from, amount_from)?;
    for item in &d.line_items {
        let qty = item.quantity.unwrap_or(1).to_string();
        let line_amount = currency.format(item.amount);
        f.row(
            &[
                Cell::new(&item.description, l + 6.0, qty_from - 10.0),
                Cell::new(&qty, qty_from, amount_from - 10.0).right(),
                Cell::new(&line_amount, amount_from, r - 6.0).right(),
            ],
            SIZE,
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
    f.advance(6.0);
    f.ensure(30.0)?;
    f.rule(ACCENT, 1.0);
    f.advance(8.0);
    let total = currency.format(amount);
    f.row(
        &[
            Cell::new("Total paid", l + 6.0, amount_from - 10.0).bold(),
            Cell::new(&total, amount_from - 60.0, r - 6.0)
                .bold()
                .right(),
        ],
        12.0,
        18.0,
    )?;
    f.advance(30.0);
    f.line(
        "Thank you for your payment.",
        Weight::Regular,
        SIZE,
        LEADING,
        MUTED,
        Align::Left,
    )?;
    f.line(
        &format!("Amounts in {}.", currency.code()),
        Weight::Regular,
        8.0,
        12.0,
        MUTED,
        Align::Left,
    )?;
    Ok(f.finish())
}

fn header(f: &mut Flow, qty_from: f32, amount_from: f32) -> Result<(), RenderError> {
    let (l, r) = (f.left, f.right);
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
            Cell::new("Description", l + 6.0, qty_from - 10.0).bold(),
            Cell::new("Qty", qty_from, amount_from - 10.0)
                .bold()
                .right(),
            Cell::new("Amount", amount_from, r - 6.0).bold().right(),
        ],
        SIZE,
        LEADING,
    )?;
    f.advance(6.0);
    Ok(())
}
