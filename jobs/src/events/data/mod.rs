//! The `data` object of the event types whose shapes depend on no domain model (email, jobs and
//! tasks, endpoints); documents, payments and reports keep theirs next to their models
//! (`documents::event_data`, …), so this module depends on none of them. One struct per
//! family, serialised as sent and documented as an OpenAPI component by the API (feature
//! `openapi`). Fields are only ever
//! added, so receivers written against an older shape keep working. An optional field without
//! a value is left out, never `null`, as in the API's responses.

pub mod email;
pub mod endpoint;
pub mod work;
