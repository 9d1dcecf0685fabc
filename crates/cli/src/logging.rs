//! `-v`: a subscriber that writes the spans and events of crmdb's crates to stderr, so that
//! stdout stays the command's output. Without `-v` none is installed and nothing is logged.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber for `-v` given `verbosity` times. Only crmdb's own crates log
/// unless RUST_LOG says otherwise: a driver's statement log would show SQL, passwords of
/// `CREATE ROLE … PASSWORD` included.
pub fn install(verbosity: u8) {
    let level = match verbosity {
        0 => return,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(format!("crmdb={level}")),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
