//! Placeholder: the migration engine (being written).
