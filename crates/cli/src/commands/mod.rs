//! One module per command; each has its `Args` and its `run`.

pub mod audit;
pub mod bench;
pub mod clusters;
pub mod docs;
pub mod down;
pub mod migrate;
pub mod org;
pub mod privacy;
pub mod roles;
pub mod secrets;
pub mod seed;
pub mod up;
pub mod url;
