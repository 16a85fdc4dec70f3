//! The CSV file of a report: one table, a header row, RFC 4180 quoting and CRLF line ends,
//! UTF-8 with a byte-order mark (so spreadsheet programs that guess the encoding pick UTF-8).
//!
//! Formula guard (OWASP's CSV injection advice): a text cell a spreadsheet could run as a
//! formula is prefixed with `'`. That is a cell whose first character is `=`, `+`, `-`, `@`, a
//! tab or a carriage return, or whose first character after leading white space (spaces, tabs,
//! line ends, any Unicode white space, and the zero-width space, word joiner and byte-order mark)
//! is `=`, `+`, `-` or `@`: some programs trim before they evaluate. Following OWASP, a text cell
//! that merely looks like a negative number (`-3`) is prefixed too. Numeric columns (numbers
//! Longshore computed) hold plain decimals such as `-12.50`, written unchanged so spreadsheets
//! read them as numbers; a cell of a numeric column that is not a plain decimal (`850 ms`) is
//! guarded like text.

use super::content::Table;

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Characters that start a formula.
const FORMULA: [char; 4] = ['=', '+', '-', '@'];

/// Characters a spreadsheet may skip before it looks for a formula.
fn skippable(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// Whether a spreadsheet could read `cell` as a formula.
fn is_formula_like(cell: &str) -> bool {
    cell.starts_with(['\t', '\r']) || cell.trim_start_matches(skippable).starts_with(FORMULA)
}

/// A plain decimal as Longshore prints numbers: optional `-`, digits, optional `.digits`.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    [int, frac]
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `cell` as written into the CSV file.
fn defuse(cell: &str, numeric: bool) -> String {
    if (numeric && is_plain_number(cell)) || !is_formula_like(cell) {
        cell.to_owned()
    } else {
        format!("'{cell}")
    }
}

/// Writes `table` as CSV bytes.
pub fn write(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.to_vec());
    w.write_record(&table.columns)?;
    for row in &table.rows {
        let cells = row
            .iter()
            .enumerate()
            .map(|(i, c)| defuse(c, table.numeric.get(i).copied().unwrap_or(false)));
        w.write_record(cells)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_per_rfc_4180_and_defuses_formulas() {
        let mut t = Table::new("t", &["Link", "Clicks#"]);
        t.push(vec!["https://x.test/a,b \"q\"".into(), "-3".into()]);
        t.push(vec!["=HYPERLINK(1)".into(), "4".into()]);
        t.push(vec!["Zoë\nnext".into(), "5".into()]);
        let out = String::from_utf8(write(&t).unwrap()).unwrap();
        let body = out.strip_prefix('\u{feff}').unwrap();
        assert_eq!(
            body,
            "Link,Clicks\r\n\"https://x.test/a,b \"\"q\"\"\",-3\r\n'=HYPERLINK(1),4\r\n\"Zoë\nnext\",5\r\n"
        );
    }

    #[test]
    fn text_starting_with_a_formula_character_is_prefixed() {
        for cell in [
            "=1+2", "+1", "-1", "-3", "@SUM(A1)", "\tx", "\rx", "\t=1", "\r=1",
        ] {
            assert_eq!(defuse(cell, false), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn white_space_before_a_formula_character_is_caught() {
        let cases = [
            " =1+2",
            "   +1",
            " -1",
            " @SUM(A1)",
            "\t =1",
            "\r\n=1",
            "\n=1",
            "\n@x",
            "\u{0B}=1",      // vertical tab
            "\u{0C}=1",      // form feed
            "\u{85}=1",      // next line
            "\u{A0}=1",      // no-break space
            "\u{2003}+1",    // em space
            "\u{2028}-1",    // line separator
            "\u{3000}@x",    // ideographic space
            "\u{200B}=1",    // zero-width space
            "\u{FEFF}=1",    // byte-order mark
            " \u{A0}\n\t=1", // a mix
        ];
        for cell in cases {
            assert_eq!(defuse(cell, false), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        let cases = [
            "",
            " ",
            "\n",
            "hello",
            "a=b",
            "x-1",
            "https://x.test/?a=1&b=-2",
            " hello",
            "\nline",
            "3-2",
            "1+1",
            "user@example.com",
            "'=already",
            "\u{FF1D}1", // full-width equals: no spreadsheet evaluates it
        ];
        for cell in cases {
            assert_eq!(defuse(cell, false), cell, "{cell:?}");
        }
    }

    #[test]
    fn numbers_in_numeric_columns_stay_numbers() {
        for cell in ["0", "42", "-3", "-12.50", "12.50", "-0.01"] {
            assert_eq!(defuse(cell, true), cell, "{cell:?}");
        }
        // Not a plain number: guarded like text.
        for (cell, out) in [
            ("850 ms", "850 ms"),
            ("2.4 s", "2.4 s"),
            ("-", "'-"),
            ("-1e3", "'-1e3"),
            ("-1+1", "'-1+1"),
            (" -1", "' -1"),
            ("-.5", "'-.5"),
            ("=1", "'=1"),
            ("+1", "'+1"),
        ] {
            assert_eq!(defuse(cell, true), out, "{cell:?}");
        }
    }
}
