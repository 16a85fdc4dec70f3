//! The `data` object of each event type: one struct per family, serialised as sent and
//! documented as an OpenAPI component by the API (feature `openapi`). Fields are only ever
//! added, so receivers written against an older shape keep working. An optional field without
//! a value is left out, never `null`, as in the API's responses.

pub mod documents;
pub mod email;
pub mod endpoint;
pub mod payments;
pub mod reports;
pub mod work;
