//! One module per job type family. Each type is registered in [`crate::registry::Registry::standard`].

pub mod diagnostic;
pub mod documents;
pub mod email;
pub mod payments;
pub mod reports;
