//! The one place that prints a command's results: plain lines, tables, or JSON with `--json`.

use std::io::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

/// Prints results to standard output in the format the user chose.
#[derive(Debug, Clone, Copy)]
pub struct Renderer {
    json: bool,
}

impl Renderer {
    pub fn new(json: bool) -> Renderer {
        Renderer { json }
    }

    /// True when the user asked for `--json`: commands then print one JSON document only.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// A line of human-readable text; nothing under `--json`.
    pub fn line(&self, text: impl std::fmt::Display) {
        if !self.json {
            emit(&text.to_string());
        }
    }

    /// A table of human-readable text; nothing under `--json`.
    pub fn table(&self, headers: &[&str], rows: Vec<Vec<String>>) {
        if self.json {
            return;
        }
        emit(&table_text(headers, rows));
    }

    /// The command's JSON document, only under `--json`.
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        if self.json {
            emit(&serde_json::to_string_pretty(value)?);
        }
        Ok(())
    }

    /// A document that is JSON whatever the flags (a privacy export): printed as such.
    pub fn document<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        emit(&serde_json::to_string_pretty(value)?);
        Ok(())
    }

    /// The error that ended the command, on standard error: one paragraph (`error: what
    /// failed: why: …`), or under `--json` one JSON object `{"error": …, "causes": […]}`.
    pub fn error(&self, error: &anyhow::Error) {
        let (message, causes) = error_parts(error);
        let text = if self.json {
            serde_json::json!({ "error": message, "causes": causes }).to_string()
        } else {
            std::iter::once(format!("error: {message}"))
                .chain(causes)
                .collect::<Vec<_>>()
                .join(": ")
        };
        eprintln!("{text}");
    }
}

/// The error's message and its causes, outermost first. A cause whose text an outer
/// message already includes (an error that formats its source into its own message) is
/// left out, so no reason is printed twice.
fn error_parts(error: &anyhow::Error) -> (String, Vec<String>) {
    let mut chain = error.chain().map(ToString::to_string);
    let message = chain.next().unwrap_or_default();
    let mut seen = vec![message.clone()];
    let mut causes = Vec::new();
    for cause in chain {
        if !seen.iter().any(|text| text.contains(&cause)) {
            causes.push(cause.clone());
        }
        seen.push(cause);
    }
    (message, causes)
}

/// Writes one line to standard output. A closed pipe (`crmdb … | head`) ends the program
/// quietly, as it does for other Unix tools, instead of panicking like `println!`.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Renders a table as text, without colours, so snapshots and pipes see the same bytes.
pub fn table_text(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_without_colour() {
        let text = table_text(
            &["version", "state"],
            vec![
                vec!["1".into(), "applied".into()],
                vec!["2".into(), "pending".into()],
            ],
        );
        insta::assert_snapshot!(text);
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not read the roles: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn a_cause_its_parent_already_prints_is_not_repeated() {
        let io = std::io::Error::other("permission denied");
        let error = anyhow::Error::new(Repeats(io)).context("could not migrate");
        let (message, causes) = error_parts(&error);
        assert_eq!(message, "could not migrate");
        assert_eq!(causes, ["could not read the roles: permission denied"]);
    }

    #[test]
    fn distinct_causes_are_all_kept_in_order() {
        let error = anyhow::anyhow!("connection refused")
            .context("could not connect")
            .context("could not start");
        let (message, causes) = error_parts(&error);
        assert_eq!(message, "could not start");
        assert_eq!(causes, ["could not connect", "connection refused"]);
    }
}
