//! Checks shared by every document kind: required text, length limits (in characters, as people
//! count them), and no control characters where a single printed line is expected. Collects
//! every problem so a `422` lists them all.

use crate::validation::{FieldError, Invalid};

/// Accumulates field errors while a payload is checked.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    /// Records a problem with `field`.
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A required single-line text of at most `max` characters.
    pub fn line(&mut self, field: &str, value: &str, max: usize) {
        self.text(field, value, max, false);
    }

    /// An optional single-line text of at most `max` characters (empty is refused: omit it).
    pub fn optional_line(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max, false);
        }
    }

    /// A required text that may hold line breaks (paragraphs), at most `max` characters.
    pub fn paragraphs(&mut self, field: &str, value: &str, max: usize) {
        self.text(field, value, max, true);
    }

    fn text(&mut self, field: &str, value: &str, max: usize, multiline: bool) {
        if value.trim().is_empty() {
            return self.fail(field, "must not be empty");
        }
        let chars = value.chars().count();
        if chars > max {
            return self.fail(
                field,
                format!("must be at most {max} characters (got {chars})"),
            );
        }
        let allowed = |c: char| multiline && (c == '\n' || c == '\r' || c == '\t');
        if value.chars().any(|c| c.is_control() && !allowed(c)) {
            let what = if multiline {
                "must not contain control characters other than line breaks and tabs"
            } else {
                "must be a single line without control characters"
            };
            self.fail(field, what);
        }
    }

    /// A count of items between `min` and `max`.
    pub fn count(&mut self, field: &str, n: usize, min: usize, max: usize) -> bool {
        if n < min || n > max {
            self.fail(
                field,
                format!("must have between {min} and {max} items (got {n})"),
            );
            return false;
        }
        true
    }

    /// A plausible e-mail address (the mail server has the last word).
    pub fn email(&mut self, field: &str, value: &str) {
        let ok = value.len() <= 254
            && value
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            self.fail(field, "must be an e-mail address");
        }
    }

    /// The collected problems, with every field prefixed by `prefix` (e.g. `data`).
    pub fn finish(self, prefix: &str) -> Result<(), Invalid> {
        if self.errors.is_empty() {
            return Ok(());
        }
        Err(Invalid(
            self.errors
                .into_iter()
                .map(|mut e| {
                    e.field = if prefix.is_empty() {
                        e.field
                    } else {
                        format!("{prefix}.{}", e.field)
                    };
                    e
                })
                .collect(),
        ))
    }
}
