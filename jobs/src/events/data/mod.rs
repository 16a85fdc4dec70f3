//! The `data` object of each event type: one struct per family, serialised as sent and
//! documented as an OpenAPI component by the API (feature `openapi`). Fields are only ever
//! added, so receivers written against an older shape keep working.

pub mod email;
pub mod endpoint;
