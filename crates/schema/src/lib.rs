//! Placeholder: the schema crate.
