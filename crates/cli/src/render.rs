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
