//! End-to-end tests of the `crmdb` binary: each runs the real program against a real
//! PostgreSQL, either an embedded cluster of its own or a database from the test harness.

mod admin_login;
mod bench;
mod layers;
mod logging;
mod migrate;
mod roles;
mod secrets;
mod seed;
mod support;
mod up;
