//! One module per job type family. Each type is registered in [`crate::registry::Registry::standard`].

pub mod diagnostic;
