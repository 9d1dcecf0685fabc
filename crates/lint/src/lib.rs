//! Lints migration files before they run: squawk's dangerous-operation rules, judged per file
//! as squawk judges them (a table is new only in the transaction that creates it; every
//! later file meets it as a table in use), and crmdb's tenant rules, judged over the whole
//! set, because a later file may complete a table (row-level security arrives in one file
//! for all of them).
//!
//! A finding is silenced only by a comment that names the rule and gives a reason:
//! `-- crmdb:allow <rule>[, <rule>…] because <reason>`, or squawk's own
//! `-- squawk-ignore <rule>[, <rule>…] -- <reason>`.

mod allow;
mod check;
mod model;
mod rule;
mod rules;
mod source;
mod syntax;
#[cfg(test)]
mod testing;

use serde::Serialize;

pub use rule::{Rule, SquawkRule, UnknownRule};
pub use source::MigrationFile;

/// A broken rule, located at the start of the offending statement or clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub rule: Rule,
    pub message: String,
    /// The safe alternative.
    pub help: Option<String>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.rule, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Lints every file of `set`, in the order given (the order they would be applied in).
pub fn lint(set: &[MigrationFile]) -> Vec<Finding> {
    let every: Vec<usize> = (0..set.len()).collect();
    lint_in(set, &every)
}

/// Lints the files of `set` at the indexes `selected` in the context of the whole set, and
/// reports their findings only: each is judged against the schema the files before it leave,
/// and the tenant rules of a table may be met by any file of the set, a later one included.
pub fn lint_in(set: &[MigrationFile], selected: &[usize]) -> Vec<Finding> {
    let parsed: Vec<source::Parsed> = set
        .iter()
        .enumerate()
        .map(|(index, file)| source::Parsed::new(index, file))
        .collect();
    let model = model::Model::build(&parsed);
    let ctx = check::Context {
        files: &parsed,
        model: &model,
    };
    let violations = rules::check_all(&ctx);
    let mut findings: Vec<(usize, u32, Finding)> = allow::apply(&parsed, violations)
        .into_iter()
        .filter(|v| selected.contains(&v.file))
        .map(|v| {
            let file = &parsed[v.file];
            let (line, column) = file.line_col(v.range.start());
            let finding = Finding {
                file: file.name.clone(),
                line,
                column,
                rule: v.rule,
                message: v.message,
                help: v.help,
            };
            (v.file, u32::from(v.range.start()), finding)
        })
        .collect();
    findings.sort_by(|a, b| (a.0, a.1, a.2.rule.name()).cmp(&(b.0, b.1, b.2.rule.name())));
    findings.dedup_by(|a, b| a.2 == b.2);
    findings
        .into_iter()
        .map(|(_, _, finding)| finding)
        .collect()
}

/// The tables `files` create, each with the index of the file that creates it: the domain a
/// table belongs to.
pub fn created_tables(files: &[MigrationFile]) -> Vec<(String, usize)> {
    let parsed: Vec<source::Parsed> = files
        .iter()
        .enumerate()
        .map(|(index, file)| source::Parsed::new(index, file))
        .collect();
    model::Model::build(&parsed)
        .tables
        .into_values()
        .map(|table| (table.name, table.created.file))
        .collect()
}
