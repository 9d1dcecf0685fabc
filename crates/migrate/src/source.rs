//! Migration files: their names, their checksums, their statements, and the validated,
//! ordered set they form.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::analysis::{self, StatementKind};
use crate::error::SourceError;
use crate::splitter::{self, Lexer, Statement, BOM};

/// The name of the checksum algorithm recorded next to every checksum.
pub const CHECKSUM_ALGORITHM: &str = "sha256-lf";

/// The SHA-256 of a text with a leading BOM removed, CRLF line ends made LF and lint
/// annotation lines left out (see `without_lint_annotations`): editors and Git's
/// `autocrlf` change the first two, a linter's verdict on a landed file the third, and
/// nothing else should go unnoticed.
pub fn checksum(text: &str) -> String {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let text = without_lint_annotations(text);
    let mut rest: &str = &text;
    let mut hasher = Sha256::new();
    while let Some(at) = rest.find("\r\n") {
        hasher.update(&rest.as_bytes()[..at]);
        hasher.update(b"\n");
        rest = &rest[at + 2..];
    }
    hasher.update(rest.as_bytes());
    hex::encode(hasher.finalize())
}

/// What squawk reads as an ignore comment; `-- squawk-ignore-file` starts with it too.
const LINT_ANNOTATION: &str = "squawk-ignore";

/// `text` without its lint annotation lines: a line holding nothing but a `--` comment that
/// starts with `squawk-ignore`, outside any string, quoted identifier or dollar-quoted body.
/// Such a line tells squawk (and `crmdb migrate lint`) what a statement may do and changes
/// nothing PostgreSQL runs, so annotating a file that has landed keeps its checksum, and
/// every database that recorded it sees it unchanged. A text with no annotation is returned
/// as it is: its checksum is the one earlier versions recorded.
fn without_lint_annotations(text: &str) -> Cow<'_, str> {
    if !text.contains(LINT_ANNOTATION) {
        return Cow::Borrowed(text);
    }
    let quoted: Vec<(usize, usize)> = Lexer::new(text).map(|t| (t.start, t.end)).collect();
    let mut kept = String::with_capacity(text.len());
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start();
        let dashes = start + (line.len() - body.len());
        let annotation = body
            .strip_prefix("--")
            .is_some_and(|comment| comment.trim_start().starts_with(LINT_ANNOTATION))
            && !quoted
                .iter()
                .any(|&(from, to)| from <= dashes && dashes < to);
        if !annotation {
            kept.push_str(line);
        }
        start += line.len();
    }
    Cow::Owned(kept)
}

/// One file's SQL, ready to run.
#[derive(Debug, Clone, Serialize)]
pub struct Script {
    /// The file name, e.g. `0002_people.up.sql`.
    pub file: String,
    /// The text without a leading BOM; statement offsets point into it.
    #[serde(skip)]
    pub sql: String,
    /// See [`checksum`].
    pub checksum: String,
    /// The file carries the `-- crmdb:no-transaction` directive.
    pub no_transaction: bool,
    pub statements: Vec<Statement>,
}

impl Script {
    /// Parses a file and refuses, naming file and line, a transactional file holding a
    /// statement PostgreSQL cannot run in a transaction or one that ends the runner's own.
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Result<Script, SourceError> {
        let file = file.into();
        let mut sql = text.into();
        if sql.starts_with(BOM) {
            sql.drain(..BOM.len());
        }
        let checksum = checksum(&sql);
        let no_transaction = analysis::has_no_transaction_directive(&sql);
        let statements = splitter::split(&sql);
        if !no_transaction {
            for s in &statements {
                match analysis::classify(&s.text) {
                    StatementKind::Ordinary => {}
                    StatementKind::NeedsNoTransaction { what } => {
                        return Err(SourceError::NeedsNoTransaction {
                            file,
                            line: s.line,
                            column: s.column,
                            what,
                        })
                    }
                    StatementKind::TransactionControl => {
                        return Err(SourceError::TransactionControl {
                            file,
                            line: s.line,
                            column: s.column,
                        })
                    }
                }
            }
        }
        Ok(Script {
            file,
            sql,
            checksum,
            no_transaction,
            statements,
        })
    }

    /// Runs as one transaction with its history row.
    pub fn transactional(&self) -> bool {
        !self.no_transaction
    }

    /// The checksum of the first `n` statements, which a resumed non-transactional run
    /// compares so that statements after the failed one may be edited, and no others.
    pub fn prefix_checksum(&self, n: usize) -> String {
        let mut hasher = Sha256::new();
        for s in self.statements.iter().take(n) {
            let text = without_lint_annotations(&s.text);
            hasher.update(text.replace("\r\n", "\n").as_bytes());
            hasher.update([0]);
        }
        hex::encode(hasher.finalize())
    }
}

/// One version: its up script and, when it exists, its down script.
#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    pub version: i64,
    pub name: String,
    pub up: Script,
    pub down: Option<Script>,
}

/// A validated set of migrations, ordered by version.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Migrations {
    list: Vec<Migration>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// `NNNN_name.up.sql` or `NNNN_name.down.sql`; `None` for anything else.
fn parse_name(file: &str) -> Option<(i64, &str, Direction)> {
    let (stem, direction) = if let Some(stem) = file.strip_suffix(".up.sql") {
        (stem, Direction::Up)
    } else {
        (file.strip_suffix(".down.sql")?, Direction::Down)
    };
    let (digits, name) = stem.split_once('_')?;
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) || !valid_name {
        return None;
    }
    let version: i64 = digits.parse().ok()?;
    (version > 0).then_some((version, name, direction))
}

/// `file` is named like the up file of a migration, `NNNN_name.up.sql`.
pub fn is_up_file_name(file: &str) -> bool {
    parse_name(file).is_some_and(|(_, _, direction)| direction == Direction::Up)
}

impl Migrations {
    /// Builds the set from `(file name, contents)` pairs, e.g. files embedded in a binary.
    pub fn from_files<I, N, C>(files: I) -> Result<Migrations, SourceError>
    where
        I: IntoIterator<Item = (N, C)>,
        N: Into<String>,
        C: Into<String>,
    {
        let mut ups: BTreeMap<i64, (String, Script)> = BTreeMap::new();
        let mut downs: Vec<(i64, String, Script)> = Vec::new();
        for (file, text) in files {
            let file: String = file.into();
            let (version, name, direction) =
                parse_name(&file).ok_or_else(|| SourceError::BadName { file: file.clone() })?;
            let name = name.to_owned();
            let script = Script::new(file.clone(), text)?;
            match direction {
                Direction::Up => {
                    if let Some((_, first)) = ups.get(&version) {
                        let (first, second) = ordered(first.file.clone(), file);
                        return Err(SourceError::DuplicateVersion {
                            version,
                            first,
                            second,
                        });
                    }
                    ups.insert(version, (name, script));
                }
                Direction::Down => {
                    if let Some((_, _, first)) = downs.iter().find(|(v, _, _)| *v == version) {
                        let (first, second) = ordered(first.file.clone(), file);
                        return Err(SourceError::DuplicateVersion {
                            version,
                            first,
                            second,
                        });
                    }
                    downs.push((version, name, script));
                }
            }
        }
        let mut list: Vec<Migration> = ups
            .into_iter()
            .map(|(version, (name, up))| Migration {
                version,
                name,
                up,
                down: None,
            })
            .collect();
        downs.sort_by(|a, b| a.2.file.cmp(&b.2.file));
        for (version, name, down) in downs {
            match list
                .iter_mut()
                .find(|m| m.version == version && m.name == name)
            {
                Some(m) => m.down = Some(down),
                None => return Err(SourceError::DownWithoutUp { file: down.file }),
            }
        }
        Ok(Migrations { list })
    }

    /// Reads the `*.sql` files of a directory; other files (a README) are ignored, and so
    /// are hidden files, which editors leave behind.
    pub fn from_dir(dir: &Path) -> Result<Migrations, SourceError> {
        let io = |source| SourceError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                continue;
            };
            if !file.ends_with(".sql") || file.starts_with('.') || !path.is_file() {
                continue;
            }
            let bytes = fs::read(&path).map_err(|source| SourceError::Io {
                path: path.clone(),
                source,
            })?;
            let text = String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
                file: file.to_owned(),
            })?;
            files.push((file.to_owned(), text));
        }
        files.sort();
        Migrations::from_files(files)
    }

    /// A hex SHA-256 over every version and its up and down checksums: equal fingerprints
    /// mean a database migrated by one set is what the other would build.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for m in &self.list {
            let down = m.down.as_ref().map_or("-", |d| d.checksum.as_str());
            hasher.update(format!("{}:{}:{}\n", m.version, m.up.checksum, down));
        }
        hex::encode(hasher.finalize())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Migration> {
        self.list.iter()
    }

    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.list
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.list[i])
    }

    pub fn latest_version(&self) -> Option<i64> {
        self.list.last().map(|m| m.version)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

fn ordered(a: String, b: String) -> (String, String) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Turns a free-form name into the `name` part of a file name: lower case, runs of anything
/// but letters and digits made one `_`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// Creates the next numbered up/down pair in `dir` (created if missing), numbered one past
/// the newest and padded like it (at least four digits). Returns both paths.
pub fn create_next(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), SourceError> {
    let slug = slug(name);
    if slug.is_empty() {
        return Err(SourceError::InvalidName {
            name: name.to_owned(),
        });
    }
    fs::create_dir_all(dir).map_err(|source| SourceError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let existing = Migrations::from_dir(dir)?;
    let (version, width) = match existing.list.last() {
        Some(m) => (m.version + 1, m.up.file.find('_').unwrap_or(4).max(4)),
        None => (1, 4),
    };
    let stem = format!("{version:0width$}_{slug}");
    let up = dir.join(format!("{stem}.up.sql"));
    let down = dir.join(format!("{stem}.down.sql"));
    let up_text = format!(
        "-- {stem}: {name}\n--\n-- Runs in one transaction with its history row. For CREATE INDEX \
         CONCURRENTLY and other\n-- statements that refuse a transaction, make the first line \
         `-- {}`.\n\n",
        analysis::NO_TRANSACTION_DIRECTIVE,
        name = name.trim()
    );
    let down_text = format!("-- Reverts {stem}.up.sql.\n\n");
    write_new(&up, &up_text)?;
    if let Err(e) = write_new(&down, &down_text) {
        fs::remove_file(&up).ok();
        return Err(e);
    }
    Ok((up, down))
}

fn write_new(path: &Path, text: &str) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> Result<Migrations, SourceError> {
        Migrations::from_files(files.iter().copied())
    }

    #[test]
    fn checksum_ignores_bom_and_crlf_only() {
        let lf = checksum("SELECT 1;\nSELECT 2;\n");
        assert_eq!(checksum("\u{feff}SELECT 1;\r\nSELECT 2;\r\n"), lf);
        assert_ne!(checksum("SELECT 1;\nSELECT 2; \n"), lf);
        assert_ne!(checksum("SELECT 1;\n\nSELECT 2;\n"), lf);
        assert_ne!(checksum("SELECT 1;\rSELECT 2;\r"), lf);
    }

    const ANNOTATED: &str = "ALTER TABLE t\n\
        -- squawk-ignore adding-foreign-key-constraint -- t is empty here\n\
        \x20   ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (a);\n\
        -- squawk-ignore-file require-concurrent-index-creation -- u is new\r\n\
        CREATE INDEX i ON u (a);\n";

    #[test]
    fn checksum_leaves_out_lint_annotation_lines_only() {
        let plain = "ALTER TABLE t\n    ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (a);\n\
                     CREATE INDEX i ON u (a);\n";
        assert_eq!(checksum(ANNOTATED), checksum(plain));
        assert_eq!(without_lint_annotations(plain), Cow::Borrowed(plain));
        let trailing =
            "CREATE INDEX i ON u (a); -- squawk-ignore require-concurrent-index-creation\n";
        assert_ne!(checksum(trailing), checksum("CREATE INDEX i ON u (a);\n"));
        for quoted in [
            "SELECT '\n-- squawk-ignore ban-drop-table\n';\n",
            "CREATE FUNCTION f() RETURNS int AS $$\n-- squawk-ignore ban-drop-table\nSELECT 1 $$ LANGUAGE sql;\n",
            "SELECT 1 AS \"\n-- squawk-ignore x\n\";\n",
        ] {
            let without = quoted.replace("-- squawk-ignore ban-drop-table\n", "").replace("-- squawk-ignore x\n", "");
            assert_ne!(checksum(quoted), checksum(&without), "{quoted}");
        }
    }

    proptest::proptest! {
        /// Annotating any line of a file, string and body lines excepted, keeps its checksum;
        /// and no text without an annotation changes at all.
        #[test]
        fn an_annotation_line_anywhere_outside_quotes_keeps_the_checksum(
            lines in proptest::collection::vec("[a-z (),;*/-]{0,30}", 0..8),
            at in 0usize..8,
            squawk in "[a-z -]{0,20}",
        ) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            proptest::prop_assume!(!text.contains("/*") && !text.contains(LINT_ANNOTATION));
            proptest::prop_assert_eq!(without_lint_annotations(&text), Cow::Borrowed(text.as_str()));
            let mut annotated: Vec<String> = lines.iter().map(|l| format!("{l}\n")).collect();
            annotated.insert(at.min(lines.len()), format!("  -- squawk-ignore {squawk}\n"));
            proptest::prop_assert_eq!(checksum(&annotated.concat()), checksum(&text));
        }
    }

    #[test]
    fn a_resumed_run_compares_statements_without_their_lint_annotations() {
        let plain = Script::new("0001_a.up.sql", "ALTER TABLE t\n    ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (a);\nCREATE INDEX i ON u (a);\n").unwrap();
        let annotated = Script::new("0001_a.up.sql", ANNOTATED).unwrap();
        assert_eq!(annotated.prefix_checksum(2), plain.prefix_checksum(2));
    }

    #[test]
    fn names_are_parsed_strictly() {
        assert!(parse_name("0001_init.up.sql").is_some());
        assert!(parse_name("12_add-people.down.sql").is_some());
        for bad in [
            "0001.up.sql",
            "0001_.up.sql",
            "init.up.sql",
            "0000_zero.up.sql",
            "0001_init.sql",
            "0001_in it.up.sql",
            "-1_neg.up.sql",
            "99999999999999999999_big.up.sql",
            "0001_init.UP.sql",
        ] {
            assert!(parse_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn orders_by_version_and_pairs_down_files() {
        let m = set(&[
            ("0010_b.up.sql", "SELECT 10;"),
            ("0002_a.down.sql", "SELECT -2;"),
            ("0002_a.up.sql", "SELECT 2;"),
        ])
        .unwrap();
        let versions: Vec<i64> = m.iter().map(|m| m.version).collect();
        assert_eq!(versions, [2, 10]);
        assert!(m.get(2).unwrap().down.is_some());
        assert!(m.get(10).unwrap().down.is_none());
        assert_eq!(m.latest_version(), Some(10));
    }

    #[test]
    fn errors_name_the_file() {
        let e = set(&[("0001_a.up.sql", ""), ("1_b.up.sql", "")]).unwrap_err();
        assert!(
            e.to_string().contains("0001_a.up.sql") && e.to_string().contains("1_b.up.sql"),
            "{e}"
        );
        let e = set(&[("0001_a.up.sql", ""), ("0001_b.down.sql", "")]).unwrap_err();
        assert!(matches!(e, SourceError::DownWithoutUp { ref file } if file == "0001_b.down.sql"));
        let e = set(&[("seed.sql", "")]).unwrap_err();
        assert!(e.to_string().contains("seed.sql"), "{e}");
    }

    #[test]
    fn refuses_concurrent_statements_without_the_directive() {
        let e = set(&[(
            "0001_a.up.sql",
            "CREATE TABLE t (a int);\n\nCREATE INDEX CONCURRENTLY i ON t (a);",
        )])
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("0001_a.up.sql:3:1"), "{text}");
        assert!(text.contains("CREATE INDEX CONCURRENTLY"), "{text}");
        let ok = set(&[(
            "0001_a.up.sql",
            "-- crmdb:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
        )])
        .unwrap();
        assert!(!ok.get(1).unwrap().up.transactional());
    }

    #[test]
    fn refuses_transaction_control_in_transactional_files() {
        let e = set(&[("0001_a.up.sql", "BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;")]).unwrap_err();
        assert!(e.to_string().contains("0001_a.up.sql:1:1"), "{e}");
    }

    #[test]
    fn fingerprint_follows_contents_but_not_line_ends() {
        let a = set(&[("0001_a.up.sql", "SELECT 1;\n")])
            .unwrap()
            .fingerprint();
        let b = set(&[("0001_a.up.sql", "SELECT 1;\r\n")])
            .unwrap()
            .fingerprint();
        let c = set(&[("0001_a.up.sql", "SELECT 2;\n")])
            .unwrap()
            .fingerprint();
        let d = set(&[("0001_a.up.sql", "SELECT 1;\n"), ("0001_a.down.sql", "")])
            .unwrap()
            .fingerprint();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Add people & e-mail "), "add_people_e_mail");
        assert_eq!(slug("  --  "), "");
    }

    #[test]
    fn prefix_checksum_covers_only_the_prefix() {
        let a = Script::new("0001_a.up.sql", "SELECT 1;\nSELECT 2;").unwrap();
        let b = Script::new("0001_a.up.sql", "SELECT 1;\r\nSELECT 3;").unwrap();
        assert_eq!(a.prefix_checksum(1), b.prefix_checksum(1));
        assert_ne!(a.prefix_checksum(2), b.prefix_checksum(2));
    }
}
