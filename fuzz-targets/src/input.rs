//! Splitting one fuzz input into the parts a target needs.

/// The first line (without its `\n`) and the rest; the rest is empty when there is no `\n`.
pub fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// Text, or `None` for bytes that are not UTF-8 (what an HTTP framework hands over as `&str`).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
