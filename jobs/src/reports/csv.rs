//! The CSV file of a report: one table, a header row, RFC 4180 quoting and CRLF line ends,
//! UTF-8 with a byte-order mark (so spreadsheet programs that guess the encoding pick UTF-8).
//! Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) are prefixed
//! with `'`; numeric columns are written as they are.

use super::content::Table;

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Writes `table` as CSV bytes.
pub fn write(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.to_vec());
    w.write_record(&table.columns)?;
    for row in &table.rows {
        let cells = row.iter().enumerate().map(|(i, c)| {
            if table.numeric.get(i).copied().unwrap_or(false) {
                c.clone()
            } else {
                defuse(c)
            }
        });
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
}
