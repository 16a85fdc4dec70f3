//! The query parameters every listing shares: `limit` (1 to 100, default 20) and `cursor` (the
//! `next_cursor` of the previous page), checked the same way everywhere.

use std::str::FromStr;

use longshore_jobs::validation::Invalid;

use crate::problem::ApiError;

/// Page size when the client gives none.
const DEFAULT_LIMIT: u32 = 20;
/// The largest page.
const MAX_LIMIT: u32 = 100;

/// Checks a listing's `limit`.
pub fn page_limit(limit: Option<u32>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Invalid::one("limit", format!("must be between 1 and {MAX_LIMIT}")).into());
    }
    Ok(limit as usize)
}

/// What a refused `cursor` is told, in every listing.
pub const CURSOR_HINT: &str = "must be a next_cursor from a previous page";

/// Parses a cursor that is an id of the listed resource; anything else is a 422 on `cursor`.
pub fn id_cursor<T: FromStr>(cursor: Option<String>) -> Result<Option<T>, ApiError> {
    cursor
        .map(|c| {
            c.parse()
                .map_err(|_| Invalid::one("cursor", CURSOR_HINT).into())
        })
        .transpose()
}

/// Checks a cursor that is a name of the listed resource (`is_name` says which strings are);
/// anything else is a 422 on `cursor`.
pub fn name_cursor(
    cursor: Option<String>,
    is_name: impl Fn(&str) -> bool,
) -> Result<Option<String>, ApiError> {
    match cursor {
        Some(c) if !is_name(&c) => Err(Invalid::one("cursor", CURSOR_HINT).into()),
        c => Ok(c),
    }
}
