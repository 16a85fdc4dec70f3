//! The certificate layout: A4 landscape, double frame, the recipient's name large and centred,
//! the course, credits and date of issue, and the verification code with a QR code pointing at
//! the public verification page.

use super::RenderError;
use super::fonts::Fonts;
use super::layout::{A4_LANDSCAPE, ACCENT, Align, Flow, INK, MUTED, Op, Pages, Weight, fit, wrap};
use super::qr::QrMatrix;
use crate::documents::certificate::{CertificateData, format_credits};
use crate::documents::code::VerificationCode;

const MARGIN: f32 = 72.0;
const QR_SIZE: f32 = 84.0;

/// Lays out one certificate page.
pub fn layout(
    fonts: &'static Fonts,
    d: &CertificateData,
    issuer: &str,
    code: &VerificationCode,
    url: &str,
) -> Result<Pages, RenderError> {
    let (w, h) = A4_LANDSCAPE;
    let mut f = Flow::new(fonts, A4_LANDSCAPE, MARGIN, 70.0, 40.0, 1);
    f.push(Op::Rect {
        x: 22.0,
        y: 22.0,
        w: w - 44.0,
        h: h - 44.0,
        fill: None,
        stroke: Some((ACCENT, 3.0)),
    });
    f.push(Op::Rect {
        x: 31.0,
        y: 31.0,
        w: w - 62.0,
        h: h - 62.0,
        fill: None,
        stroke: Some((ACCENT, 0.75)),
    });

    f.line(
        "CERTIFICATE",
        Weight::Bold,
        34.0,
        44.0,
        ACCENT,
        Align::Center,
    )?;
    f.line(
        "of completion",
        Weight::Regular,
        14.0,
        34.0,
        MUTED,
        Align::Center,
    )?;
    f.line(
        "This certifies that",
        Weight::Regular,
        13.0,
        26.0,
        MUTED,
        Align::Center,
    )?;

    let column = f.right - f.left;
    let name_size = fit(&fonts.bold, &d.recipient_name, 32.0, 12.0, column);
    if fonts.bold.width(&d.recipient_name, name_size) <= column {
        f.line(
            &d.recipient_name,
            Weight::Bold,
            name_size,
            name_size + 10.0,
            INK,
            Align::Center,
        )?;
    } else {
        f.paragraphs(
            &d.recipient_name,
            Weight::Bold,
            name_size,
            name_size + 4.0,
            INK,
            Align::Center,
        )?;
    }
    let rule_w = 360.0;
    f.push(Op::Rect {
        x: (w - rule_w) / 2.0,
        y: f.y,
        w: rule_w,
        h: 0.75,
        fill: Some(ACCENT),
        stroke: None,
    });
    f.advance(16.0);

    f.line(
        "has successfully completed",
        Weight::Regular,
        13.0,
        24.0,
        MUTED,
        Align::Center,
    )?;
    let mut title_size = 20.0;
    while title_size > 12.0 && wrap(&fonts.bold, &d.course_title, title_size, column).len() > 2 {
        title_size -= 2.0;
    }
    f.paragraphs(
        &d.course_title,
        Weight::Bold,
        title_size,
        title_size + 6.0,
        INK,
        Align::Center,
    )?;
    f.advance(8.0);
    if let Some(credits) = d.credits {
        let unit = if (credits - 1.0).abs() < f64::EPSILON {
            "credit"
        } else {
            "credits"
        };
        f.line(
            &format!("{} CPD {unit}", format_credits(credits)),
            Weight::Regular,
            13.0,
            22.0,
            INK,
            Align::Center,
        )?;
    }
    let date = d.issued_on.format("%-d %B %Y").to_string();
    f.line(
        &format!("Issued on {date} by {issuer}"),
        Weight::Regular,
        12.0,
        20.0,
        INK,
        Align::Center,
    )?;

    // Verification block, bottom left; QR code, bottom right.
    let qr_x = w - MARGIN - QR_SIZE;
    let qr_y = h - 50.0 - QR_SIZE;
    f.push(Op::Qr {
        x: qr_x,
        y: qr_y,
        size: QR_SIZE,
        matrix: QrMatrix::encode(url)?,
    });
    let text_right = qr_x - 16.0;
    f.y = qr_y + 14.0;
    f.right = text_right;
    f.line(
        "Verification code",
        Weight::Regular,
        9.0,
        14.0,
        MUTED,
        Align::Left,
    )?;
    f.line(&code.grouped(), Weight::Bold, 14.0, 20.0, INK, Align::Left)?;
    let url_size = fit(&fonts.regular, url, 9.0, 5.0, text_right - MARGIN);
    f.line(
        "Check this certificate at",
        Weight::Regular,
        9.0,
        12.0,
        MUTED,
        Align::Left,
    )?;
    f.line(url, Weight::Regular, url_size, 12.0, MUTED, Align::Left)?;
    Ok(f.finish())
}
