//! The HTTP surface: one module per resource. Handlers extract, call `longshore-jobs`, and map.

pub mod health;
pub mod jobs;
