//! The bodies of Longshore's fuzz targets: one plain function per target, taking the raw bytes
//! an outsider controls. `fuzz/fuzz_targets/<name>.rs` hands them libFuzzer's inputs (nightly,
//! `scripts/fuzz`); `tests/corpus_replay.rs` hands them every committed input under
//! `fuzz/corpus/<name>/` on stable, so CI replays the corpus with plain `cargo test`.
//!
//! Each function says which outside input it stands for and what it asserts beyond not
//! panicking (usually a round trip: what Longshore produces, it accepts, unchanged). Inputs with
//! several parts split them on `\n` (headers, single-line settings) or NUL (template parts).
//!
//! Start with [`TARGETS`], the list both harnesses are checked against.

mod documents;
mod input;
mod outbound;
mod queue;
mod requests;
mod schedules;
mod signatures;
mod smtp;
mod templates;
mod tokens;
mod values;
mod webhooks;

pub use documents::document_data;
pub use outbound::outbound_settings;
pub use queue::queue_record;
pub use requests::{event_endpoint, task_request};
pub use schedules::cron_schedule;
pub use signatures::{standard_signature, stripe_signature};
pub use smtp::smtp_reply;
pub use templates::email_template;
pub use tokens::tracking_token;
pub use values::edge_values;
pub use webhooks::gateway_webhook;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target by name; the name is also its `fuzz/fuzz_targets/` file and corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("stripe_signature", stripe_signature),
    ("standard_signature", standard_signature),
    ("tracking_token", tracking_token),
    ("cron_schedule", cron_schedule),
    ("email_template", email_template),
    ("document_data", document_data),
    ("smtp_reply", smtp_reply),
    ("task_request", task_request),
    ("event_endpoint", event_endpoint),
    ("outbound_settings", outbound_settings),
    ("gateway_webhook", gateway_webhook),
    ("queue_record", queue_record),
    ("edge_values", edge_values),
];
