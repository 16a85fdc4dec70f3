//! Field-level validation errors, shared by the API (as `422` `errors: [{field, message}]`) and
//! by job payload decoding.

use serde::Serialize;

/// One invalid field: a JSON-pointer-like path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Input that failed validation, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("validation failed: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    /// A single-field failure.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid(vec![FieldError::new(field, message)])
    }
}

/// Decodes a JSON value into `T`, naming the offending field (prefixed with `prefix`) on failure.
///
/// serde reports a missing field at its parent ("missing field `x`"); the error names the field
/// itself (`prefix.x`: "is required") so clients see which one.
pub fn decode<T: serde::de::DeserializeOwned>(
    prefix: &str,
    value: &serde_json::Value,
) -> Result<T, Invalid> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let mut field = join(prefix, if path == "." { "" } else { &path });
        let mut message = e.into_inner().to_string();
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            field = join(&field, name);
            message = "is required".into();
        }
        Invalid::one(field, message)
    })
}

/// What a field holding a NUL character is told.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (\\u0000)";

/// Refuses every string (and object key) of `value` that holds a NUL character, naming each
/// field. PostgreSQL's text cannot store one, so the API refuses it before anything is stored.
pub fn refuse_nul(value: &serde_json::Value) -> Result<(), Invalid> {
    let mut found = Vec::new();
    find_nul("", value, &mut found);
    if found.is_empty() {
        Ok(())
    } else {
        Err(Invalid(found))
    }
}

fn find_nul(path: &str, value: &serde_json::Value, found: &mut Vec<FieldError>) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => found.push(FieldError::new(path, NUL_MESSAGE)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul(&format!("{path}[{i}]"), item, found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let field = join(path, &key.replace('\0', "\\u0000"));
                if key.contains('\0') {
                    found.push(FieldError::new(field.clone(), NUL_MESSAGE));
                }
                find_nul(&field, item, found);
            }
        }
        _ => {}
    }
}

fn join(prefix: &str, name: &str) -> String {
    match (prefix.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => prefix.to_owned(),
        _ => format!("{prefix}.{name}"),
    }
}

/// Parses an IANA time-zone name (`Europe/Berlin`, `UTC`).
pub fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("`{name}` is not an IANA time zone name (e.g. UTC, Europe/Berlin)"))
}

/// Largest `metadata` object of an email or document, serialised.
pub const MAX_METADATA_BYTES: usize = 4096;

/// Checks a client's `metadata`: a JSON object of bounded size.
pub fn check_metadata(metadata: Option<&serde_json::Value>) -> Result<(), Invalid> {
    match metadata {
        None => Ok(()),
        Some(m) if !m.is_object() => Err(Invalid::one("metadata", "must be a JSON object")),
        Some(m) if m.to_string().len() > MAX_METADATA_BYTES => Err(Invalid::one(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes as JSON"),
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Probe {
        count: u32,
        inner: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[test]
    fn nul_characters_are_refused_wherever_they_are() {
        let ok = serde_json::json!({"subject": "hi", "to": ["a@b.c"], "n": 0});
        assert_eq!(refuse_nul(&ok), Ok(()));
        let bad = serde_json::json!({
            "subject": "h\0i",
            "to": ["a@b.c", "x\0@b.c"],
            "metadata": {"k\0": "v", "deep": {"x": "\0"}},
        });
        let mut fields: Vec<String> = refuse_nul(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            ["metadata.deep.x", "metadata.k\\u0000", "subject", "to[1]"]
        );
    }

    #[test]
    fn errors_name_the_field_wherever_it_is() {
        let e = decode::<Probe>("", &serde_json::json!({})).unwrap_err();
        assert_eq!(e.0[0].field, "count");
        let e = decode::<Probe>("data", &serde_json::json!({"count": 1, "inner": {}})).unwrap_err();
        assert_eq!(e.0[0].field, "data.inner.name");
        let e = decode::<Probe>("", &serde_json::json!({"count": "x"})).unwrap_err();
        assert_eq!(e.0[0].field, "count");
    }
}
