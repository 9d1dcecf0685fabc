//! The one place that prints a command's results: plain lines, tables, or JSON with `--json`.

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
            println!("{text}");
        }
    }

    /// A table of human-readable text; nothing under `--json`.
    pub fn table(&self, headers: &[&str], rows: Vec<Vec<String>>) {
        if self.json {
            return;
        }
        println!("{}", table_text(headers, rows));
    }

    /// The command's JSON document, only under `--json`.
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        }
        Ok(())
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
            vec![vec!["1".into(), "applied".into()], vec!["2".into(), "pending".into()]],
        );
        insta::assert_snapshot!(text);
    }
}
