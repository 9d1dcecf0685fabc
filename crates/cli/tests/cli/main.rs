//! End-to-end tests of the `crmdb` binary: each runs the real program against a real
//! PostgreSQL, either an embedded cluster of its own or a database from the test harness.

mod admin_login;
mod audit;
mod bench;
mod clusters;
mod demo_load;
mod errors;
mod layers;
mod lint;
mod logging;
mod migrate;
mod org;
mod privacy;
mod roles;
mod secrets;
mod seed;
mod support;
mod up;
mod version_guard;
