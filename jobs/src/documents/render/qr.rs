//! QR codes pointing at a certificate's verification page, drawn as vector squares (crisp at any
//! zoom, a few hundred bytes), via the `qrcode` crate.

use qrcode::{EcLevel, QrCode};

use super::RenderError;

/// The dark/light modules of a QR code, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side.
    pub width: usize,
    /// `true` for a dark module, `width × width` of them.
    pub dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` with medium error correction (survives about 15 % damage).
    pub fn encode(text: &str) -> Result<QrMatrix, RenderError> {
        let code =
            QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| {
                RenderError::Invalid(format!("the verification URL cannot be a QR code: {e}"))
            })?;
        Ok(QrMatrix {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// Horizontal runs of dark modules as (row, first column, length): fewer, larger squares.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for row in 0..self.width {
            let mut col = 0;
            while col < self.width {
                if self.dark[row * self.width + col] {
                    let start = col;
                    while col < self.width && self.dark[row * self.width + col] {
                        col += 1;
                    }
                    runs.push((row, start, col - start));
                } else {
                    col += 1;
                }
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_url_encodes_into_a_small_code() {
        let m = QrMatrix::encode("https://longshore.example.com/v/7KQ2MX-H4RT9B-0VZ3PE").unwrap();
        assert!(m.width >= 21 && m.width <= 41, "{}", m.width);
        let dark: usize = m.runs().iter().map(|r| r.2).sum();
        assert_eq!(dark, m.dark.iter().filter(|d| **d).count());
    }
}
