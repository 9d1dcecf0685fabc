//! The rules' in-file tests: lint one SQL snippet as a transactional file and name the rules
//! it breaks.

use crate::{lint, MigrationFile, Rule};

/// The rules `sql` breaks, as the first file of a set, once per finding.
pub(crate) fn broken(sql: &str) -> Vec<Rule> {
    let file = MigrationFile {
        name: "0001_snippet.up.sql".into(),
        text: sql.into(),
        transactional: true,
    };
    lint(&[file]).into_iter().map(|f| f.rule).collect()
}
